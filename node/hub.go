package node

import (
	"context"
	"sync"
)

// maxQueued bounds the events queued for one subscriber that stopped
// reading. Past it the oldest are dropped and the subscriber is told how
// many it missed (Lagged), so a stuck front end cannot grow the node's
// memory without bound or stall the node.
const maxQueued = 1 << 16

// Subscription is one front end's stream of node events. Events arrive in
// the order the node emitted them.
type Subscription struct {
	hub *hub

	mu      sync.Mutex // guards queue, dropped, closed
	queue   []Event
	dropped int
	closed  bool
	ready   chan struct{} // has a value while queue is non-empty or closed
}

// Next returns the next event. It returns ok=false when ctx ends, the
// subscription is closed, or the node has stopped and every queued event
// was read.
func (s *Subscription) Next(ctx context.Context) (ev Event, ok bool) {
	for {
		s.mu.Lock()
		if s.dropped > 0 {
			n := s.dropped
			s.dropped = 0
			s.mu.Unlock()
			return Lagged{Missed: n}, true
		}
		if len(s.queue) > 0 {
			ev = s.queue[0]
			s.queue[0] = nil
			s.queue = s.queue[1:]
			s.mu.Unlock()
			return ev, true
		}
		if s.closed {
			s.mu.Unlock()
			return nil, false
		}
		s.mu.Unlock()
		select {
		case <-s.ready:
		case <-ctx.Done():
			return nil, false
		}
	}
}

// Close ends the subscription; later events are not queued for it.
func (s *Subscription) Close() {
	s.hub.remove(s)
	s.finish()
}

func (s *Subscription) push(ev Event) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if len(s.queue) >= maxQueued {
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.dropped++
	}
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	s.signal()
}

func (s *Subscription) finish() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.signal()
}

func (s *Subscription) signal() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// hub fans events out to subscriptions without ever blocking the sender.
type hub struct {
	mu     sync.Mutex // guards subs and closed
	subs   map[*Subscription]struct{}
	closed bool
}

func newHub() *hub { return &hub{subs: map[*Subscription]struct{}{}} }

func (h *hub) subscribe() *Subscription {
	s := &Subscription{hub: h, ready: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		s.closed = true
		return s
	}
	h.subs[s] = struct{}{}
	return s
}

func (h *hub) remove(s *Subscription) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

func (h *hub) publish(ev Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		s.push(ev)
	}
}

// close ends every subscription after its queued events are read.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		s.finish()
	}
	clear(h.subs)
}
