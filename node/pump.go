package node

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"

	"confchat/netlayer"
)

// Bounds of one session's send queue. The queue's memory grows with what
// is queued and is released when it drains, so an idle session (a
// stranger's above all) holds none.
const (
	pumpMaxFrames = 4096
	pumpMaxBytes  = 8 << 20
)

// pump feeds one session's Send from a queue, so the node's loop never
// blocks on a peer that reads slowly. A frame that does not fit is
// dropped, counted, and healed once the queue drains: the pump then sets
// needHeal and wakes the loop, which re-sends what the peer must know
// (friend packets, a conference resync). Its goroutine is owned by the
// node: stop ends it.
type pump struct {
	sess   *netlayer.Session
	wake   chan struct{} // has a value while frames wait
	heal   chan<- struct{}
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex // guards queue, bytes, lossy, sending
	queue   [][]byte
	bytes   int
	lossy   bool // frames were dropped since the queue last drained
	sending bool // a frame is between the queue and the session (either side holds it)
	healing atomic.Bool
}

// startPump starts a pump; heal is signalled (without blocking) when a
// lossy queue has drained.
func startPump(parent context.Context, wg *sync.WaitGroup, sess *netlayer.Session, heal chan<- struct{}, log *slog.Logger) *pump {
	p := newPump(sess, heal)
	p.start(parent, wg, log)
	return p
}

// newPump makes a pump whose goroutine start runs.
func newPump(sess *netlayer.Session, heal chan<- struct{}) *pump {
	return &pump{sess: sess, wake: make(chan struct{}, 1), heal: heal, done: make(chan struct{})}
}

func (p *pump) start(parent context.Context, wg *sync.WaitGroup, log *slog.Logger) {
	ctx, cancel := context.WithCancel(parent)
	p.cancel = cancel
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(p.done)
		p.run(ctx, log)
	}()
}

func (p *pump) run(ctx context.Context, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		}
		for {
			f, ok := p.pop()
			if !ok {
				break
			}
			err := p.sess.Send(ctx, f)
			p.sent()
			if err != nil {
				if errors.Is(err, netlayer.ErrClosed) || errors.Is(err, netlayer.ErrClosing) || ctx.Err() != nil {
					return
				}
				log.Debug("send failed", "peer", p.sess.Peer().Short(), "err", err)
			}
		}
	}
}

// pop takes the oldest frame (the caller then holds the send turn until
// sent). When the queue is empty, or the loop is handing a frame over
// itself, it returns false; an empty queue releases its memory and, if
// frames were dropped, asks the loop to heal.
func (p *pump) pop() ([]byte, bool) {
	p.mu.Lock()
	if p.sending {
		// push is handing a frame to the session; if that fails it
		// queues the frame and wakes us again.
		p.mu.Unlock()
		return nil, false
	}
	if len(p.queue) == 0 {
		p.queue = nil
		lossy := p.lossy
		p.lossy = false
		p.mu.Unlock()
		if lossy {
			p.healing.Store(true)
			select {
			case p.heal <- struct{}{}:
			default: // the loop is already woken; it checks every pump
			}
		}
		return nil, false
	}
	f := p.queue[0]
	p.queue[0] = nil
	p.queue = p.queue[1:]
	p.bytes -= len(f)
	p.sending = true
	p.mu.Unlock()
	return f, true
}

// sent ends the send turn pop or push took.
func (p *pump) sent() {
	p.mu.Lock()
	p.sending = false
	p.mu.Unlock()
}

// push hands a frame on without blocking. While nothing is queued or
// being sent it gives the frame to the session directly (TrySend), which
// saves the pump goroutine's wake-up on the latency path; otherwise, or
// when the session's send window is full, it queues the frame behind the
// others, so frames keep their order. It reports false (and marks the
// queue lossy) when the queue is full.
func (p *pump) push(frame []byte) bool {
	p.mu.Lock()
	if len(p.queue) == 0 && !p.sending {
		p.sending = true
		p.mu.Unlock()
		ok, err := p.sess.TrySend(frame)
		p.mu.Lock()
		p.sending = false
		if ok || err != nil { // an error is the pump's to ignore, as in run
			wake := len(p.queue) > 0
			p.mu.Unlock()
			if wake {
				p.poke()
			}
			return true
		}
		// The window is full: queue it for the goroutine, which waits.
	}
	if len(p.queue) >= pumpMaxFrames || p.bytes+len(frame) > pumpMaxBytes {
		p.lossy = true
		p.mu.Unlock()
		return false
	}
	p.queue = append(p.queue, frame)
	p.bytes += len(frame)
	p.mu.Unlock()
	p.poke()
	return true
}

func (p *pump) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// takeHeal reports (once) that the queue drained after dropping frames.
func (p *pump) takeHeal() bool { return p.healing.Swap(false) }

// flush hands every queued frame to the session, until ctx ends. It is
// used at shutdown so a graceful close delivers what the node sent.
func (p *pump) flush(ctx context.Context) {
	p.cancel()
	<-p.done
	for {
		p.mu.Lock()
		if len(p.queue) == 0 {
			p.mu.Unlock()
			return
		}
		f := p.queue[0]
		p.queue = p.queue[1:]
		p.mu.Unlock()
		if err := p.sess.Send(ctx, f); err != nil {
			return
		}
	}
}

// stop ends the goroutine, dropping queued frames.
func (p *pump) stop() {
	p.cancel()
	<-p.done
}
