package relay

import (
	"context"
	"crypto/rand"
	"sync/atomic"

	"confchat/identity"
)

// hub owns the relay's shared tables: counts of clients and connections
// per key, the registrations, the outstanding calls and the refusal
// counters. Only its loop goroutine touches them; connection goroutines
// call in through do and post, as closures run on the loop (the x/net quic
// runOnLoop shape). Every operation is O(1) and never blocks on a client,
// so one slow or hostile client cannot hold up the others here.
type hub struct {
	cfg  Config
	ops  chan func()
	done chan struct{} // closed when loop has returned

	// Owned by loop.
	clients    int
	halfOpen   int
	keys       map[identity.PublicKey]*keyState
	regs       map[identity.PublicKey]*registration
	calls      map[token]*call
	pairs      int
	pairsTotal uint64
	refusals   map[Reason]uint64

	// bytes counts bytes forwarded; the splice goroutines add to it. A
	// counter without invariants, so an atomic rather than a loop trip
	// per read.
	bytes atomic.Uint64
}

// keyState is what the relay holds per connected key.
type keyState struct {
	conns  int
	bucket *bucket // shared by the key's spliced connections
}

// registration is a key's current registration. invites is written only
// by the hub (never blocking) and read by the registration's goroutine;
// the hub closes kicked when a newer registration replaces this one.
type registration struct {
	key         identity.PublicKey
	invites     chan message
	kicked      chan struct{}
	outstanding int // owned by the hub: calls waiting on this registration
}

// call is a CONNECT waiting for its target to join.
type call struct {
	caller, target identity.PublicKey
	reg            *registration
	timer          Timer
	result         chan outcome // capacity 1, written once by the hub or the joiner
}

// outcome ends a call: a joiner to splice with, or a refusal.
type outcome struct {
	joiner *joiner
	reason Reason
}

// joiner is the target's connection handed to the caller's goroutine,
// which splices it and closes done when the pair has ended.
type joiner struct {
	ch     *channel
	bucket *bucket
	done   chan struct{}
}

func newHub(cfg Config) *hub {
	return &hub{
		cfg: cfg, ops: make(chan func()), done: make(chan struct{}),
		keys: map[identity.PublicKey]*keyState{}, regs: map[identity.PublicKey]*registration{},
		calls: map[token]*call{}, refusals: map[Reason]uint64{},
	}
}

// loop runs operations until ctx ends.
func (h *hub) loop(ctx context.Context) {
	defer close(h.done)
	for {
		select {
		case f := <-h.ops:
			f()
		case <-ctx.Done():
			for _, c := range h.calls {
				c.timer.Stop()
			}
			return
		}
	}
}

// do runs f on the loop and waits for it; false if the hub has stopped.
func (h *hub) do(f func()) bool {
	ran := make(chan struct{})
	select {
	case h.ops <- func() { f(); close(ran) }:
		<-ran
		return true
	case <-h.done:
		return false
	}
}

// post runs f on the loop without waiting for it (for timer callbacks).
func (h *hub) post(f func()) {
	select {
	case h.ops <- f:
	case <-h.done:
	}
}

// refuse counts a refusal.
func (h *hub) refuse(r Reason) { h.post(func() { h.refusals[r]++ }) }

// accept admits a new TCP connection, or says why not.
func (h *hub) accept() Reason {
	r := ReasonShutdown
	h.do(func() {
		switch {
		case h.clients >= h.cfg.MaxClients:
			r = ReasonFull
		case h.halfOpen >= h.cfg.MaxHalfOpen:
			r = ReasonHalfOpen
		default:
			h.clients++
			h.halfOpen++
			r = 0
			return
		}
		h.refusals[r]++
	})
	return r
}

// handshakeDone ends a connection's half-open phase.
func (h *hub) handshakeDone() { h.do(func() { h.halfOpen-- }) }

// closed ends an accepted connection.
func (h *hub) closed() { h.do(func() { h.clients-- }) }

// admitKey counts a connection of key k, or refuses it at the per-key
// limit; the bucket paces the key's spliced bytes.
func (h *hub) admitKey(k identity.PublicKey) (*bucket, Reason) {
	var b *bucket
	r := ReasonShutdown
	h.do(func() {
		ks := h.keys[k]
		if ks == nil {
			ks = &keyState{bucket: newBucket(float64(h.cfg.Rate), float64(h.cfg.Burst), h.cfg.Clock.Now())}
			h.keys[k] = ks
		}
		if ks.conns >= h.cfg.MaxConnsPerKey {
			r = ReasonKeyLimit
			h.refusals[r]++
			return
		}
		ks.conns++
		b, r = ks.bucket, 0
	})
	return b, r
}

// releaseKey ends a connection admitted by admitKey.
func (h *hub) releaseKey(k identity.PublicKey) {
	h.do(func() {
		if ks := h.keys[k]; ks != nil {
			if ks.conns--; ks.conns <= 0 {
				delete(h.keys, k)
			}
		}
	})
}

// register makes a new registration for k, replacing (kicking) any older
// one. It returns nil if the hub has stopped.
func (h *hub) register(k identity.PublicKey) *registration {
	reg := &registration{key: k, invites: make(chan message, MaxInvites), kicked: make(chan struct{})}
	if !h.do(func() {
		if old := h.regs[k]; old != nil {
			close(old.kicked)
		}
		h.regs[k] = reg
	}) {
		return nil
	}
	return reg
}

// unregister drops reg unless a newer registration has replaced it.
func (h *hub) unregister(reg *registration) {
	h.do(func() {
		if h.regs[reg.key] == reg {
			delete(h.regs, reg.key)
		}
	})
}

// call starts a CONNECT from caller to target: it invites the target and
// arms the join timeout. The returned call's result says how it ended.
func (h *hub) call(caller, target identity.PublicKey) (*call, Reason) {
	var c *call
	r := ReasonShutdown
	h.do(func() {
		r = h.callLoop(caller, target)
		if r != 0 {
			h.refusals[r]++
			return
		}
		c = h.newCallLoop(caller, target)
	})
	return c, r
}

func (h *hub) callLoop(caller, target identity.PublicKey) Reason {
	reg := h.regs[target]
	switch {
	case caller == target:
		return ReasonMalformed
	case reg == nil:
		return ReasonNotRegistered
	case reg.outstanding >= MaxInvites || len(reg.invites) == cap(reg.invites):
		return ReasonBusy
	}
	return 0
}

func (h *hub) newCallLoop(caller, target identity.PublicKey) *call {
	var tok token
	_, _ = rand.Read(tok[:]) // crypto/rand.Read never fails
	reg := h.regs[target]
	c := &call{caller: caller, target: target, reg: reg, result: make(chan outcome, 1)}
	c.timer = h.cfg.Clock.AfterFunc(h.cfg.JoinTimeout, func() {
		h.post(func() { h.resolveLoop(tok, outcome{reason: ReasonTimeout}) })
	})
	h.calls[tok] = c
	reg.outstanding++
	reg.invites <- message{Type: msgInvite, Key: caller, Token: tok}
	return c
}

// resolveLoop ends an outstanding call, if it still is.
func (h *hub) resolveLoop(tok token, out outcome) {
	c := h.calls[tok]
	if c == nil {
		return
	}
	delete(h.calls, tok)
	c.timer.Stop()
	c.reg.outstanding--
	if out.reason != 0 {
		h.refusals[out.reason]++
	}
	c.result <- out
}

// join claims the call behind tok for the joining key k. On success the
// call is no longer outstanding (it cannot time out any more) and the
// joiner owns delivering itself to c.result.
func (h *hub) join(k identity.PublicKey, tok token) (*call, Reason) {
	var c *call
	r := ReasonShutdown
	h.do(func() {
		c = h.calls[tok]
		if c == nil || c.target != k {
			c, r = nil, ReasonBadToken
			h.refusals[r]++
			return
		}
		delete(h.calls, tok)
		c.timer.Stop()
		c.reg.outstanding--
		r = 0
	})
	return c, r
}

// decline ends the call behind tok as declined, if reg is its target.
func (h *hub) decline(reg *registration, tok token) {
	h.do(func() {
		if c := h.calls[tok]; c != nil && c.reg == reg {
			h.resolveLoop(tok, outcome{reason: ReasonDeclined})
		}
	})
}

// pairStarted and pairEnded count spliced pairs.
func (h *hub) pairStarted() { h.do(func() { h.pairs++; h.pairsTotal++ }) }
func (h *hub) pairEnded()   { h.do(func() { h.pairs-- }) }

// stats returns a snapshot of the counters.
func (h *hub) stats() Stats {
	var st Stats
	h.do(func() {
		st = Stats{Clients: h.clients, HalfOpen: h.halfOpen, Registered: len(h.regs),
			Pairs: h.pairs, PairsTotal: h.pairsTotal, Refusals: make(map[Reason]uint64, len(h.refusals))}
		for r, n := range h.refusals {
			st.Refusals[r] = n
		}
	})
	st.Bytes = h.bytes.Load()
	return st
}
