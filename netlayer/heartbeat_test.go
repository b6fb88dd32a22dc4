package netlayer

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Anchor 11 and acceptance: a black-holed connection (a stalled proxy: no
// FIN, no RST, nothing read) is declared dead by both sides within
// interval × misses (+ one watchdog tick and some scheduling slack), and
// the session then resumes with the frames sent meanwhile.
//
// In-memory, in a synctest bubble: the bounds are exact, not slack.
func TestBlackHoleDetected(t *testing.T) {
	leakCheck(t)
	inMem(t, blackHoleDetected)
}

func blackHoleDetected(t *testing.T, mn *MemNetwork) {
	a, b := newNode(t, newKey(t), onMem(mn)), newNode(t, newKey(t), onMem(mn))
	sa := a.open(b)
	a.waitState(b, Connected)
	b.waitState(a, Connected)
	cfg := a.ep.cfg
	bound := cfg.deadAfter() + cfg.HeartbeatInterval/2 + 10*time.Millisecond // one watchdog tick; waitFor polls every 2 ms

	mn.SetRefuse(true)
	mn.Stall()
	stalled := time.Now()
	sendN(t, sa, 20, 64)
	dead := func(n *node) func() bool {
		return func() bool {
			_, ok := n.rec.first(func(ev Event) bool {
				c, ok := ev.(SessionStateChanged)
				return ok && errors.Is(c.Reason, ErrPeerDead)
			})
			return ok
		}
	}
	waitFor(t, "dialer detects the dead peer", dead(a))
	waitFor(t, "listener detects the dead peer", dead(b))
	if el := time.Since(stalled); el > bound {
		t.Fatalf("detection took %v, bound %v", el, bound)
	}
	if el := time.Since(stalled); el < cfg.deadAfter()-cfg.HeartbeatInterval {
		t.Fatalf("declared dead after %v, too early for %v of silence", el, cfg.deadAfter())
	}
	mn.SetRefuse(false)
	waitFor(t, "frames after the black hole", func() bool { return len(b.rec.frames(a.pub())) == 20 })
	checkStream(t, b.rec.frames(a.pub()), 20)
}

// Anchor 12: an idle session stays Connected on heartbeats alone, and
// inbound data keeps the watchdog quiet when no heartbeats flow at all.
// In-memory, in a synctest bubble: the sleeps below take no real time.
func TestIdleAndDataKeepAlive(t *testing.T) {
	leakCheck(t)
	inMem(t, idleAndDataKeepAlive)
}

func idleAndDataKeepAlive(t *testing.T, mn *MemNetwork) {
	a, b := newNode(t, newKey(t), onMem(mn)), newNode(t, newKey(t), onMem(mn))
	sa := a.open(b)
	a.waitState(b, Connected)
	sb := b.waitState(a, Connected)
	interval := a.ep.cfg.HeartbeatInterval
	time.Sleep(8 * interval)
	lost := func(ev Event) bool { c, ok := ev.(SessionStateChanged); return ok && c.From == Connected }
	changes := func() int { return a.rec.count(lost) + b.rec.count(lost) }
	if changes() != 0 {
		t.Fatal("an idle session lost its connection")
	}
	sb.onLoop(func() { sb.hb.pinger = false }) // no more heartbeats
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	for i := range 16 {
		if err := sa.Send(ctx, numbered(i, 8)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(interval / 2)
	}
	if changes() != 0 {
		t.Fatal("data and acks alone did not keep the connection alive")
	}
	sb.onLoop(func() { sb.hb.pinger = true })
}

// Anchor 13: Send blocks at the send-buffer bound while the peer does not
// acknowledge, and unblocks when acks arrive, here across a reconnect.
func TestBackpressure(t *testing.T) {
	leakCheck(t)
	const bound = 8
	a := newNode(t, newKey(t), func(c *Config) { c.SendBuffer = bound })
	b := newNode(t, newKey(t), nil)
	p := newProxy(t, b.addr())
	sa := a.open(b, p.addr())
	a.waitState(b, Connected)
	p.setRefuse(true)
	p.stall()
	sendN(t, sa, bound, 64)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := sa.Send(ctx, numbered(bound, 64)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send past the bound: %v, want a deadline error", err)
	}
	unblocked := make(chan error, 1)
	go func() { // owner: ends when Send returns, within waitLong
		ctx, cancel := context.WithTimeout(context.Background(), waitLong)
		defer cancel()
		unblocked <- sa.Send(ctx, numbered(bound, 64))
	}()
	select {
	case err := <-unblocked:
		t.Fatalf("Send returned %v while the buffer was full", err)
	case <-time.After(100 * time.Millisecond):
	}
	p.setRefuse(false)
	p.cut()
	if err := <-unblocked; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "all frames", func() bool { return len(b.rec.frames(a.pub())) == bound+1 })
	checkStream(t, b.rec.frames(a.pub()), bound+1)
}
