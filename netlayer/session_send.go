package netlayer

import (
	"context"
	"fmt"
	"sync"
)

// sendQueue hands frames from Send to the owner without a round trip per
// frame: Send appends under the mutex and pokes wake; run takes the whole
// batch. The mutex guards only the fields below it.
type sendQueue struct {
	wake chan struct{} // capacity 1

	mu       sync.Mutex
	frames   [][]byte // each with seqHeader bytes of room before the data
	stopped  bool     // closing: Send fails with ErrClosing
	shutdown bool     // closed: Send fails with ErrClosed
}

// put appends data unless the queue is stopped.
func (q *sendQueue) put(data []byte) error {
	q.mu.Lock()
	switch {
	case q.shutdown:
		q.mu.Unlock()
		return ErrClosed
	case q.stopped:
		q.mu.Unlock()
		return ErrClosing
	}
	q.frames = append(q.frames, data)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return nil
}

// take returns and clears the queued frames.
func (q *sendQueue) take() [][]byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	f := q.frames
	q.frames = nil
	return f
}

func (q *sendQueue) empty() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.frames) == 0
}

func (q *sendQueue) stop() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.stopped = true
}

func (q *sendQueue) shut() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.shutdown = true
}

// Send queues data (copied) for delivery and returns without waiting for
// the network. It blocks while Config.SendBuffer frames are accepted but
// unacknowledged, until ctx ends; it fails with ErrClosing once either
// side has started closing and with ErrClosed after the session closed.
// A nil return means the frame will be delivered exactly once, unless the
// session is reset (SessionReset lists it) or ends without a completed
// close (the Closed event lists it).
func (s *Session) Send(ctx context.Context, data []byte) error {
	if len(data) > s.ep.cfg.MaxFrameSize {
		return fmt.Errorf("send: %d bytes: %w", len(data), ErrFrameTooLarge)
	}
	select {
	case s.credits <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("send: %w", ctx.Err())
	case <-s.done:
		return s.closedErr("send")
	}
	// The copy leaves room in front for the record header: see record.room.
	if err := s.sendQ.put(append(make([]byte, seqHeader, seqHeader), data...)); err != nil {
		<-s.credits
		if err == ErrClosed {
			return s.closedErr("send")
		}
		return fmt.Errorf("send: %w", err)
	}
	return nil
}

// TrySend is Send without waiting: when Config.SendBuffer frames are
// already accepted but unacknowledged it returns false and queues
// nothing. A caller that owns a queue of its own (the node's send pump)
// uses it to hand a frame over directly while its queue is empty.
func (s *Session) TrySend(data []byte) (bool, error) {
	if len(data) > s.ep.cfg.MaxFrameSize {
		return false, fmt.Errorf("send: %d bytes: %w", len(data), ErrFrameTooLarge)
	}
	select {
	case <-s.done:
		return false, s.closedErr("send")
	default:
	}
	select {
	case s.credits <- struct{}{}:
	default:
		return false, nil
	}
	if err := s.sendQ.put(append(make([]byte, seqHeader, seqHeader), data...)); err != nil {
		<-s.credits
		if err == ErrClosed {
			return false, s.closedErr("send")
		}
		return false, fmt.Errorf("send: %w", err)
	}
	return true, nil
}

// takeSends moves the queued frames into the session, in order.
func (s *Session) takeSends() {
	for _, b := range s.sendQ.take() {
		s.pushFrame(recData, b[seqHeader:], b)
	}
}
