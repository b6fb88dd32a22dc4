package node

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"confchat/netlayer"
)

// pumpDepth is how many frames may wait for one session's send buffer.
// Beyond it frames are dropped (counted and logged): conference traffic
// heals through history sync, and friend packets are re-sent on the next
// session start.
const pumpDepth = 4096

// pump feeds one session's Send from a queue, so the node's loop never
// blocks on a peer that reads slowly. Its goroutine is owned by the node:
// stop ends it.
type pump struct {
	sess   *netlayer.Session
	ch     chan []byte
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex // guards dropped
	dropped int
}

func startPump(parent context.Context, wg *sync.WaitGroup, sess *netlayer.Session, log *slog.Logger) *pump {
	ctx, cancel := context.WithCancel(parent)
	p := &pump{sess: sess, ch: make(chan []byte, pumpDepth), cancel: cancel, done: make(chan struct{})}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(p.done)
		p.run(ctx, log)
	}()
	return p
}

func (p *pump) run(ctx context.Context, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-p.ch:
			if err := p.sess.Send(ctx, f); err != nil {
				if errors.Is(err, netlayer.ErrClosed) || errors.Is(err, netlayer.ErrClosing) || ctx.Err() != nil {
					return
				}
				log.Debug("send failed", "peer", p.sess.Peer().Short(), "err", err)
			}
		}
	}
}

// push queues a frame without blocking; it reports false (and counts the
// drop) when the queue is full.
func (p *pump) push(frame []byte) bool {
	select {
	case p.ch <- frame:
		return true
	default:
		p.mu.Lock()
		p.dropped++
		p.mu.Unlock()
		return false
	}
}

// flush hands every queued frame to the session, until ctx ends. It is
// used at shutdown so a graceful close delivers what the node sent.
func (p *pump) flush(ctx context.Context) {
	p.cancel()
	<-p.done
	for {
		select {
		case f := <-p.ch:
			if err := p.sess.Send(ctx, f); err != nil {
				return
			}
		default:
			return
		}
	}
}

// stop ends the goroutine, dropping queued frames.
func (p *pump) stop() {
	p.cancel()
	<-p.done
}
