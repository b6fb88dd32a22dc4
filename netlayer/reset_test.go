package netlayer

import (
	"context"
	"errors"
	"testing"
	"time"

	"confchat/identity"
)

// Anchors 1 and 6: frames sent while disconnected are buffered with
// increasing seq through NoConnection, BackingOff, Connecting and
// Handshaking, then flushed in order under the same session id.
func TestBufferWhileDisconnected(t *testing.T) {
	leakCheck(t)
	a, b := newNode(t, newKey(t), nil), newNode(t, newKey(t), nil)
	p := newProxy(t, b.addr())
	sa := a.open(b, p.addr())
	a.waitState(b, Connected)
	sendN(t, sa, 10, 64)
	waitFor(t, "first 10 frames", func() bool { return len(b.rec.frames(a.pub())) == 10 })
	id := sessionID(sa)

	p.setRefuse(true)
	p.cut()
	waitFor(t, "dialer backing off", func() bool { return sa.State() == BackingOff })
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	for i := 10; i < 110; i++ {
		if err := sa.Send(ctx, numbered(i, 64)); err != nil {
			t.Fatal(err)
		}
	}
	var seq uint64
	var buffered int
	waitFor(t, "110 frames numbered", func() bool {
		sa.onLoop(func() { seq, buffered = sa.seq, len(sa.buf) })
		return seq == 110
	})
	if buffered < 100 {
		t.Fatalf("%d frames buffered, want >= 100", buffered)
	}
	p.setRefuse(false)
	waitFor(t, "all 110 frames", func() bool { return len(b.rec.frames(a.pub())) == 110 })
	checkStream(t, b.rec.frames(a.pub()), 110)
	if sessionID(sa) != id || a.rec.count(isReset)+b.rec.count(isReset) != 0 {
		t.Fatal("the session changed across a transparent reconnect")
	}
	for _, st := range []State{BackingOff, Connecting, Handshaking, Connected} {
		if a.rec.count(toState(st)) == 0 {
			t.Errorf("dialer never reported %v", st)
		}
	}
}

// Anchors 15 and 16, acceptance: the listener restarts with no state while
// the dialer holds frames it never got acknowledged. The resume is refused
// as a mismatch (never taken for a new session), the dialer reports a
// reset listing those frames, they are not replayed, and traffic resumes.
func TestPeerRestart(t *testing.T) {
	lo, hi := keyPair(t)
	t.Run("dialer lower", func(t *testing.T) { peerRestart(t, lo, hi) })
	t.Run("dialer higher", func(t *testing.T) { peerRestart(t, hi, lo) })
}

func peerRestart(t *testing.T, ka, kb *identity.KeyPair) {
	leakCheck(t)
	a, b := newNode(t, ka, nil), newNode(t, kb, nil)
	p := newProxy(t, b.addr())
	sa := a.open(b, p.addr())
	a.waitState(b, Connected)
	sendN(t, sa, 5, 32)
	waitFor(t, "first frames", func() bool { return len(b.rec.frames(a.pub())) == 5 })
	waitFor(t, "first frames acknowledged", func() bool { return unackedCount(sa) == 0 })

	p.stall() // the next frames are never acknowledged
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	for i := 100; i < 103; i++ {
		if err := sa.Send(ctx, numbered(i, 32)); err != nil {
			t.Fatal(err)
		}
	}
	oldAddr := b.addr()
	b.crash()
	b2 := newNode(t, kb, func(c *Config) { c.ListenAddr = oldAddr })
	p.cut()

	waitFor(t, "reset reported by the dialer", func() bool { return a.rec.count(isReset) == 1 })
	ev, _ := a.rec.first(isReset)
	if got := ev.(SessionReset).Unacked; len(got) != 3 {
		t.Fatalf("reset lists %d unacked frames, want 3", len(got))
	}
	sb2 := b2.waitState(a, Connected)
	a.waitState(b2, Connected)
	if n := b2.rec.count(func(ev Event) bool {
		c, ok := ev.(InboundRejected)
		return ok && errors.Is(c.Err, ErrSessionMismatch)
	}); n != 1 {
		t.Fatalf("restarted listener refused %d resumes, want 1", n)
	}
	sendN(t, sa, 7, 32)
	sendN(t, sb2, 4, 32)
	waitFor(t, "new session traffic", func() bool {
		return len(b2.rec.frames(a.pub())) == 7 && len(a.rec.frames(b2.pub())) == 4
	})
	checkStream(t, b2.rec.frames(a.pub()), 7) // the three old frames were not replayed
	if sessionID(sa) != sessionID(sb2) {
		t.Fatal("sides disagree on the new session id")
	}
}

// The dialer restarts: the listener sees a fresh HELLO for an established
// session and reports a reset too.
func TestDialerRestart(t *testing.T) {
	lo, hi := keyPair(t)
	t.Run("dialer lower", func(t *testing.T) { dialerRestart(t, lo, hi) })
	t.Run("dialer higher", func(t *testing.T) { dialerRestart(t, hi, lo) })
}

func dialerRestart(t *testing.T, ka, kb *identity.KeyPair) {
	leakCheck(t)
	a, b := newNode(t, ka, nil), newNode(t, kb, nil)
	a.open(b)
	sb := b.waitState(a, Connected)
	sendN(t, sb, 3, 16)
	waitFor(t, "frames", func() bool { return len(a.rec.frames(b.pub())) == 3 })
	a.crash()
	a2 := newNode(t, ka, nil)
	sa2 := a2.open(b)
	a2.waitState(b, Connected)
	waitFor(t, "listener reset", func() bool { return b.rec.count(isReset) == 1 })
	sendN(t, sa2, 2, 16)
	waitFor(t, "traffic on the new session", func() bool { return len(b.rec.frames(a2.pub())) == 2 })
}

// Anchor 17: numbers that do not fit (here the dialer claims to have
// dropped frames the listener never received) give a retriable mismatch
// and then a clean new session on both sides.
func TestMismatchedNumbers(t *testing.T) {
	leakCheck(t)
	a, b := newNode(t, newKey(t), nil), newNode(t, newKey(t), nil)
	p := newProxy(t, b.addr())
	sa := a.open(b, p.addr())
	a.waitState(b, Connected)
	p.setRefuse(true)
	p.cut()
	waitFor(t, "disconnected", func() bool { return sa.State() != Connected })
	sa.onLoop(func() { sa.seq += 10 }) // "client in the future"
	p.setRefuse(false)
	waitFor(t, "both sides reset", func() bool { return a.rec.count(isReset) == 1 && b.rec.count(isReset) == 1 })
	a.waitState(b, Connected)
	sendN(t, sa, 5, 16)
	waitFor(t, "traffic after the reset", func() bool { return len(b.rec.frames(a.pub())) == 5 })
	checkStream(t, b.rec.frames(a.pub()), 5)
}

// Anchor 7: a duplicate (seq < ack) is dropped and changes nothing.
// Anchors 8 and 9: a frame ahead of ack (what reordering would produce)
// closes only the connection, which then resumes; repeated gaps reset the
// session.
func TestSequenceRules(t *testing.T) {
	leakCheck(t)
	a, b := newNode(t, newKey(t), nil), newNode(t, newKey(t), nil)
	sa := a.open(b)
	a.waitState(b, Connected)
	sb := b.waitState(a, Connected)
	sendN(t, sa, 3, 16)
	waitFor(t, "frames", func() bool { return len(b.rec.frames(a.pub())) == 3 })

	var ack uint64
	var err error
	sb.onLoop(func() {
		err = sb.onSequenced(record{Type: recData, Seq: 1, Payload: []byte("dup")})
		ack = sb.ack
	})
	if err != nil || ack != 3 || len(b.rec.frames(a.pub())) != 3 {
		t.Fatalf("duplicate: err %v, ack %d, %d frames", err, ack, len(b.rec.frames(a.pub())))
	}

	gap := func() {
		sb.onLoop(func() {
			if sb.link != nil {
				sb.handleLinkEvent(linkEvent{gen: sb.link.gen, rec: record{Type: recData, Seq: sb.ack + 5}})
			}
		})
	}
	gap()
	waitFor(t, "connection dropped for a gap", func() bool {
		_, ok := b.rec.first(func(ev Event) bool { c, ok := ev.(SessionStateChanged); return ok && errors.Is(c.Reason, ErrSeqGap) })
		return ok
	})
	b.waitState(a, Connected)
	if b.rec.count(isReset) != 0 {
		t.Fatal("one gap reset the session")
	}
	for range maxGaps {
		b.waitState(a, Connected)
		gap()
	}
	waitFor(t, "reset after repeated gaps", func() bool { return b.rec.count(isReset) == 1 })
	a.waitState(b, Connected)
	sendN(t, sa, 2, 16)
	waitFor(t, "traffic after the reset", func() bool { return len(b.rec.frames(a.pub())) == 5 })
}

// Anchors 3 and 14: the grace deadline runs from the loss of the
// connection through BackingOff, Connecting and Handshaking; when it
// expires the session closes with ErrGraceExpired, lists its unacked
// frames, fails Send, and the next Open starts a new session.
// In-memory, in a synctest bubble.
func TestGraceExpires(t *testing.T) {
	leakCheck(t)
	inMem(t, graceExpires)
}

func graceExpires(t *testing.T, mn *MemNetwork) {
	const grace = 400 * time.Millisecond
	a := newNode(t, newKey(t), onMem(mn, func(c *Config) { c.Grace = grace }))
	b := newNode(t, newKey(t), onMem(mn))
	sa := a.open(b)
	a.waitState(b, Connected)
	time.Sleep(2 * grace) // Connected holds no grace timer
	if sa.State() != Connected {
		t.Fatalf("state %v while connected past the grace period", sa.State())
	}
	mn.SetRefuse(true)
	lost := time.Now()
	mn.Cut()
	sendN(t, sa, 2, 16)
	<-sa.Done()
	if el := time.Since(lost); el < grace || el > grace+time.Second {
		t.Fatalf("grace ended after %v, want about %v", el, grace)
	}
	if !errors.Is(sa.Err(), ErrGraceExpired) {
		t.Fatalf("closed with %v", sa.Err())
	}
	var ev Event
	waitFor(t, "Closed event", func() bool { e, ok := a.rec.first(toState(Closed)); ev = e; return ok })
	if len(ev.(SessionStateChanged).Unacked) != 2 {
		t.Fatalf("Closed event %+v does not list the 2 unacked frames", ev)
	}
	if err := sa.Send(context.Background(), []byte("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after grace: %v", err)
	}
	mn.SetRefuse(false)
	sa2 := a.open(b)
	if sa2 == sa {
		t.Fatal("Open returned the closed session")
	}
	a.waitState(b, Connected)
}

// unackedCount reads the length of s's send buffer on its owner goroutine.
func unackedCount(s *Session) (n int) {
	s.onLoop(func() { n = len(s.buf) })
	return n
}
