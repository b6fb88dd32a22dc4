package netlayer

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"
)

// TestCutStress sends 10,000 frames each way while the connection under the
// session is cut every few hundred frames, at random points (usually in
// the middle of a record): everything arrives exactly once, in order.
// Anchors 5 and 6.
func TestCutStress(t *testing.T) {
	t.Run("one dialer", func(t *testing.T) { cutStress(t, false) })
	t.Run("both dial", func(t *testing.T) { cutStress(t, true) })
}

// cutStress runs the cut test; with bothDial each side also has the
// other's address (through its own cutting proxy), so after every cut
// both redial at once and the duplicate rule picks one connection.
func cutStress(t *testing.T, bothDial bool) {
	leakCheck(t)
	const total = 10000
	a, b := newNode(t, newKey(t), nil), newNode(t, newKey(t), nil)
	p := newProxy(t, b.addr())
	sa := a.open(b, p.addr())
	a.waitState(b, Connected)
	sb := b.waitState(a, Connected)
	cutAll := func(mid bool) {
		if mid {
			p.cutMid()
		} else {
			p.cut()
		}
	}
	if bothDial {
		q := newProxy(t, a.addr())
		b.open(a, q.addr())
		cutAll = func(mid bool) {
			if mid {
				p.cutMid()
				q.cutMid()
			} else {
				p.cut()
				q.cut()
			}
		}
	}

	sizes := func(i int) int { return 8 + (i*7919)%1500 }
	done := make(chan struct{})
	send := func(s *Session) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for i := range total {
			if err := s.Send(ctx, numbered(i, sizes(i))); err != nil {
				t.Errorf("send %d: %v", i, err)
				return
			}
		}
	}
	go func() { send(sa); done <- struct{}{} }()
	go func() { send(sb); done <- struct{}{} }()

	cuts := 0
	next := 200 + rand.IntN(200)
	deadline := time.Now().Add(40 * time.Second)
	for {
		na, nb := len(a.rec.frames(b.pub())), len(b.rec.frames(a.pub()))
		if na == total && nb == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stuck at %d/%d and %d/%d frames after %d cuts", na, total, nb, total, cuts)
		}
		if min(na, nb) >= next {
			cutAll(cuts%3 != 2)
			cuts++
			next = min(na, nb) + 200 + rand.IntN(200)
		}
		time.Sleep(time.Millisecond)
	}
	<-done
	<-done
	checkStream(t, b.rec.frames(a.pub()), total)
	checkStream(t, a.rec.frames(b.pub()), total)
	if cuts < 10 {
		t.Fatalf("only %d cuts", cuts)
	}
	if n := a.rec.count(isReset) + b.rec.count(isReset); n != 0 {
		t.Fatalf("%d session resets", n)
	}
	t.Logf("%d cuts, %d connections", cuts, p.acceptedCount())
}

// Redial cuts a long backoff short: the peer comes back while the session
// waits 10 s to retry, and Redial connects it at once.
func TestRedialSkipsBackoff(t *testing.T) {
	inMem(t, func(t *testing.T, mn *MemNetwork) {
		slow := onMem(mn, func(c *Config) { c.Backoff = Backoff{Base: 10 * time.Second, Max: 10 * time.Second, Jitter: -1} })
		a, b := newNode(t, newKey(t), slow), newNode(t, newKey(t), slow)
		sa := a.open(b)
		a.waitState(b, Connected)
		mn.SetRefuseAddr(b.addr(), true)
		mn.CutAddr(b.addr())
		a.waitState(b, BackingOff)
		mn.SetRefuseAddr(b.addr(), false)
		start := time.Now()
		sa.Redial()
		a.waitState(b, Connected)
		if el := time.Since(start); el >= time.Second {
			t.Fatalf("connected %v after Redial, want at once", el)
		}
	})
}

// One session reconnecting after failed redials kicks the endpoint's
// other sessions out of their backoff: the network is likely back.
func TestReconnectKicksOtherSessions(t *testing.T) {
	inMem(t, func(t *testing.T, mn *MemNetwork) {
		slow := onMem(mn, func(c *Config) { c.Backoff = Backoff{Base: 10 * time.Second, Max: 10 * time.Second, Jitter: -1} })
		a, b, c := newNode(t, newKey(t), slow), newNode(t, newKey(t), slow), newNode(t, newKey(t), slow)
		sb, _ := a.open(b), a.open(c)
		a.waitState(b, Connected)
		a.waitState(c, Connected)
		for _, x := range []*node{b, c} {
			mn.SetRefuseAddr(x.addr(), true)
			mn.CutAddr(x.addr())
		}
		a.waitState(b, BackingOff)
		a.waitState(c, BackingOff)
		mn.SetRefuseAddr(b.addr(), false)
		mn.SetRefuseAddr(c.addr(), false)
		start := time.Now()
		sb.Redial()
		a.waitState(b, Connected)
		a.waitState(c, Connected)
		if el := time.Since(start); el >= time.Second {
			t.Fatalf("the other session reconnected %v later, want at once", el)
		}
	})
}
