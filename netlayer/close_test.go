package netlayer

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// framesBeforeClosed returns how many frames from peer n reported before
// its session with peer reached Closed, or -1 if it never did.
func framesBeforeClosed(n *node, peer *node) int {
	count := 0
	for _, ev := range n.rec.all() {
		switch e := ev.(type) {
		case FrameReceived:
			if e.Peer == peer.pub() {
				count++
			}
		case SessionStateChanged:
			if e.Peer == peer.pub() && e.To == Closed {
				return count
			}
		}
	}
	return -1
}

// Anchors 33 and 36, acceptance: 1,000 frames from each side, then Close
// from both sides at once: both receive all 1,000 before their Closed
// event, and both closes complete cleanly.
func TestCloseBothSides(t *testing.T) {
	leakCheck(t)
	const n = 1000
	a, b := newNode(t, newKey(t), nil), newNode(t, newKey(t), nil)
	sa := a.open(b)
	a.waitState(b, Connected)
	sb := b.waitState(a, Connected)
	var sent, wg sync.WaitGroup
	sent.Add(2)
	errs := make([]error, 2)
	for i, s := range []*Session{sa, sb} {
		wg.Go(func() {
			sendN(t, s, n, 200)
			sent.Done()
			sent.Wait() // both have queued their 1,000 frames: close at once
			ctx, cancel := context.WithTimeout(context.Background(), waitLong)
			defer cancel()
			errs[i] = s.Close(ctx)
		})
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("close errors: %v", errs)
	}
	waitFor(t, "both Closed events", func() bool { return framesBeforeClosed(a, b) >= 0 && framesBeforeClosed(b, a) >= 0 })
	if fa, fb := framesBeforeClosed(a, b), framesBeforeClosed(b, a); fa != n || fb != n {
		t.Fatalf("frames before Closed: a %d, b %d; want %d", fa, fb, n)
	}
	checkStream(t, a.rec.frames(b.pub()), n)
	checkStream(t, b.rec.frames(a.pub()), n)
}

// Anchors 33 and 34: A sends N and closes; B gets all N before Closed,
// what B queued before seeing CLOSING still reaches A, and after CLOSING
// B's Send fails. Close twice is safe, Send after Close fails.
func TestCloseOneSide(t *testing.T) {
	leakCheck(t)
	a, b := newNode(t, newKey(t), nil), newNode(t, newKey(t), nil)
	sa := a.open(b)
	a.waitState(b, Connected)
	sb := b.waitState(a, Connected)
	sendN(t, sb, 300, 100) // queued by B before it sees A's CLOSING
	sendN(t, sa, 500, 100)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := sa.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sa.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := sa.Send(ctx, []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	<-sb.Done()
	if err := sb.Send(ctx, []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("peer Send after close: %v", err)
	}
	waitFor(t, "Closed events", func() bool { return framesBeforeClosed(a, b) >= 0 && framesBeforeClosed(b, a) >= 0 })
	if fb, fa := framesBeforeClosed(b, a), framesBeforeClosed(a, b); fb != 500 || fa != 300 {
		t.Fatalf("frames before Closed: b got %d/500, a got %d/300", fb, fa)
	}
	if b.rec.count(toState(Closing)) != 1 {
		t.Fatal("peer did not report Closing")
	}
}

// Anchor 34: once the peer's CLOSING arrived, Send fails with ErrClosing
// while the session finishes.
func TestSendAfterPeerClosing(t *testing.T) {
	leakCheck(t)
	a, b := newNode(t, newKey(t), nil), newNode(t, newKey(t), nil)
	p := newProxy(t, b.addr())
	a.open(b, p.addr())
	a.waitState(b, Connected)
	sb := b.waitState(a, Connected)
	p.stall()                                  // the close cannot complete while we look
	sb.onLoop(func() { sb.startClose(false) }) // as if A's CLOSING had just arrived
	if err := sb.Send(context.Background(), []byte("late")); !errors.Is(err, ErrClosing) {
		t.Fatalf("Send while closing: %v", err)
	}
	if sb.State() != Closing {
		t.Fatalf("state %v, want Closing", sb.State())
	}
	p.cut()
}

// Anchor 35: a peer that never answers CLOSING: Close returns
// ErrCloseUnacknowledged after CloseTimeout instead of hanging.
// In-memory, in a synctest bubble.
func TestCloseUnanswered(t *testing.T) {
	leakCheck(t)
	inMem(t, closeUnanswered)
}

func closeUnanswered(t *testing.T, mn *MemNetwork) {
	a := newNode(t, newKey(t), onMem(mn, func(c *Config) {
		c.CloseTimeout = 300 * time.Millisecond
		c.HeartbeatInterval = time.Second // keep the watchdog out of it
	}))
	b := newNode(t, newKey(t), onMem(mn))
	sa := a.open(b)
	a.waitState(b, Connected)
	mn.Stall()
	start := time.Now()
	err := sa.Close(context.Background())
	if !errors.Is(err, ErrCloseUnacknowledged) {
		t.Fatalf("Close: %v", err)
	}
	if el := time.Since(start); el != 300*time.Millisecond {
		t.Fatalf("Close took %v, want exactly the close timeout", el)
	}
	mn.Cut()
}

// Anchor 36: a close issued while disconnected waits in the buffer and is
// delivered after the reconnect, with the frames before it.
// In-memory, in a synctest bubble.
func TestCloseWhileDisconnected(t *testing.T) {
	leakCheck(t)
	inMem(t, closeWhileDisconnected)
}

func closeWhileDisconnected(t *testing.T, mn *MemNetwork) {
	a, b := newNode(t, newKey(t), onMem(mn)), newNode(t, newKey(t), onMem(mn))
	sa := a.open(b)
	a.waitState(b, Connected)
	mn.SetRefuse(true)
	mn.Cut()
	waitFor(t, "disconnected", func() bool { return sa.State() == BackingOff })
	sendN(t, sa, 50, 64)
	closed := make(chan error, 1)
	go func() { closed <- sa.Close(context.Background()) }() // owner: ends with the close
	waitFor(t, "Closing", func() bool { return sa.State() == Closing })
	time.Sleep(50 * time.Millisecond)
	mn.SetRefuse(false)
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitLong):
		t.Fatal("close never completed")
	}
	waitFor(t, "b closed", func() bool { return framesBeforeClosed(b, a) >= 0 })
	if got := framesBeforeClosed(b, a); got != 50 {
		t.Fatalf("b got %d frames before Closed, want 50", got)
	}
}

// Close of the whole endpoint is graceful for every session, idempotent,
// and closes Events last.
func TestEndpointClose(t *testing.T) {
	leakCheck(t)
	a, b, c := newNode(t, newKey(t), nil), newNode(t, newKey(t), nil), newNode(t, newKey(t), nil)
	sb, sc := a.open(b), a.open(c)
	a.waitState(b, Connected)
	a.waitState(c, Connected)
	sendN(t, sb, 100, 64)
	sendN(t, sc, 100, 64)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := a.ep.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.ep.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	a.rec.wait() // Events is closed
	waitFor(t, "peers closed", func() bool { return framesBeforeClosed(b, a) == 100 && framesBeforeClosed(c, a) == 100 })
	if _, err := a.ep.Open(b.pub(), []string{b.addr()}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Open after Close: %v", err)
	}
}

// A session that never reached its peer (it is gone: every dial is
// refused) closes at once, even with frames queued: they are reported
// unacknowledged with Closed instead of holding the close (and the whole
// endpoint's shutdown) for CloseTimeout. A node whose peer quit first
// took 10 s to quit before this. In-memory, in a synctest bubble.
func TestCloseNeverConnectedIsPrompt(t *testing.T) {
	leakCheck(t)
	inMem(t, closeNeverConnected)
}

func closeNeverConnected(t *testing.T, mn *MemNetwork) {
	a := newNode(t, newKey(t), onMem(mn, func(c *Config) { c.CloseTimeout = 10 * time.Second }))
	b := newNode(t, newKey(t), onMem(mn))
	mn.SetRefuse(true)
	sa := a.open(b)
	waitFor(t, "dial refused", func() bool { return sa.State() == BackingOff })
	sendN(t, sa, 3, 64)
	start := time.Now()
	if err := sa.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if el := time.Since(start); el >= time.Second {
		t.Fatalf("Close took %v of the 10 s close timeout; want it at once", el)
	}
	unacked := -1
	waitFor(t, "Closed reported", func() bool {
		for _, ev := range a.rec.all() {
			if e, ok := ev.(SessionStateChanged); ok && e.Peer == b.pub() && e.To == Closed {
				unacked = len(e.Unacked)
				return true
			}
		}
		return false
	})
	if unacked != 3 {
		t.Fatalf("Closed reported %d unacknowledged frames, want the 3 queued", unacked)
	}
}
