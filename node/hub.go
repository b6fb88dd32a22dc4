package node

import (
	"context"
	"sync"
	"time"
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
	queue   []stamped
	dropped int
	lastAt  time.Time // when the last drop happened
	closed  bool
	ready   chan struct{} // has a value while queue is non-empty or closed
}

// stamped is an event with the node-clock time it was emitted at.
type stamped struct {
	ev Event
	at time.Time
}

// Next returns the next event. It returns ok=false when ctx ends, the
// subscription is closed, or the node has stopped and every queued event
// was read.
func (s *Subscription) Next(ctx context.Context) (ev Event, ok bool) {
	ev, _, ok = s.NextAt(ctx)
	return ev, ok
}

// NextAt is Next with the time (the node's clock) the event was emitted
// at; a Lagged event carries the time it was noticed.
func (s *Subscription) NextAt(ctx context.Context) (ev Event, at time.Time, ok bool) {
	for {
		s.mu.Lock()
		if s.dropped > 0 {
			n := s.dropped
			s.dropped = 0
			at := s.lastAt
			s.mu.Unlock()
			return Lagged{Missed: n}, at, true
		}
		if len(s.queue) > 0 {
			e := s.queue[0]
			s.queue[0] = stamped{}
			s.queue = s.queue[1:]
			s.mu.Unlock()
			return e.ev, e.at, true
		}
		if s.closed {
			s.mu.Unlock()
			return nil, time.Time{}, false
		}
		s.mu.Unlock()
		select {
		case <-s.ready:
		case <-ctx.Done():
			return nil, time.Time{}, false
		}
	}
}

// Close ends the subscription; later events are not queued for it.
func (s *Subscription) Close() {
	s.hub.remove(s)
	s.finish()
}

func (s *Subscription) push(ev Event, at time.Time) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if len(s.queue) >= maxQueued {
		s.queue[0] = stamped{}
		s.queue = s.queue[1:]
		s.dropped++
		s.lastAt = at
	}
	s.queue = append(s.queue, stamped{ev, at})
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

func (h *hub) publish(ev Event, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		s.push(ev, at)
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
