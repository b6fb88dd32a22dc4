package relay

import (
	"errors"
	"net"
	"testing"
	"time"
)

// splicedPair registers a callee, dials it and returns both ends.
func splicedPair(t *testing.T, r *testRelay) (net.Conn, net.Conn) {
	t.Helper()
	callee, caller := newKey(t), newKey(t)
	l := register(t, newClient(t, callee, ClientConfig{}), r.addr)
	conn, err := newClient(t, caller, ClientConfig{}).DialRelay(ctxT(t), r.addr, callee.Public())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	in := acceptOne(t, l)
	t.Cleanup(func() { in.Close() })
	return conn, in
}

func TestRatePacesSender(t *testing.T) {
	clock := newFakeClock()
	r := startRelay(t, Config{Clock: clock, Rate: 1000, Burst: 1000})
	a, b := splicedPair(t, r)
	exchange(t, a, b, make([]byte, 400)) // within the burst: through at once
	if _, err := a.Write(make([]byte, 3000)); err != nil {
		t.Fatal(err)
	}
	// 600 tokens are left, so 3000 bytes owe 2.4 s: nothing may pass before
	// the clock has moved that far.
	buf := make([]byte, 3000)
	_ = b.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, err := b.Read(buf); n > 0 || !isTimeout(err) {
		t.Fatalf("read %d bytes (%v) before the debt was paid", n, err)
	}
	got := 0
	for i := 0; got < 3000 && i < 100; i++ {
		clock.Advance(100 * time.Millisecond)
		_ = b.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		n, err := b.Read(buf)
		got += n
		if err != nil && !isTimeout(err) {
			t.Fatal(err)
		}
	}
	if got != 3000 {
		t.Fatalf("got %d of 3000 bytes", got)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestSpliceIdleCut(t *testing.T) {
	clock := newFakeClock()
	r := startRelay(t, Config{Clock: clock, IdleTimeout: 10 * time.Second})
	a, b := splicedPair(t, r)
	clock.Advance(6 * time.Second)
	exchange(t, a, b, []byte("still here"))
	clock.Advance(6 * time.Second) // 6 s since the last byte: alive
	exchange(t, a, b, []byte("still here"))
	advancePast(clock, 11*time.Second, func() bool { return r.srv.Stats().Refusals[ReasonIdle] > 0 })
	expectClosed(t, a)
	expectClosed(t, b)
	waitFor(t, "idle refusal", func() bool { return r.srv.Stats().Refusals[ReasonIdle] >= 1 })
}

func TestListenerReregistersAfterRelayRestart(t *testing.T) {
	key := newKey(t)
	r1 := startRelay(t, Config{Key: key})
	bob := newKey(t)
	l := register(t, newClient(t, bob, ClientConfig{BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond}), r1.addr)
	r1.srv.Close()
	waitFor(t, "registration lost", func() bool { return !l.Registered() })

	// The same relay comes back on the same port.
	srv, err := NewServer(Config{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	var ln net.Listener
	waitFor(t, "port free", func() bool {
		ln, err = net.Listen("tcp", r1.addr.HostPort)
		return err == nil
	})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	defer func() {
		srv.Close()
		<-done
	}()
	if err := l.WaitRegistered(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	conn, err := newClient(t, newKey(t), ClientConfig{}).DialRelay(ctxT(t), r1.addr, bob.Public())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	in := acceptOne(t, l)
	defer in.Close()
	exchange(t, conn, in, []byte("after the restart"))
}

func TestListenerBackoffCapped(t *testing.T) {
	c := newClient(t, newKey(t), ClientConfig{BackoffMin: 250 * time.Millisecond, BackoffMax: 30 * time.Second})
	l := &Listener{c: c}
	prev := time.Duration(0)
	for n := 1; n <= 40; n++ {
		d := l.backoff(n)
		base := min(250*time.Millisecond<<min(n-1, 20), 30*time.Second)
		if d < base || d > base+base/2 {
			t.Fatalf("attempt %d: %v outside [%v, %v]", n, d, base, base+base/2)
		}
		if n > 1 && base < 30*time.Second && d < prev/2 {
			t.Fatalf("attempt %d: %v shrank from %v", n, d, prev)
		}
		prev = d
	}
}

func TestAcceptAfterCloseFails(t *testing.T) {
	r := startRelay(t, Config{})
	l := register(t, newClient(t, newKey(t), ClientConfig{}), r.addr)
	l.Close()
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("accept after close: %v", err)
	}
	if l.Addr().Network() != "relay" || !IsAddr(l.Addr().String()) {
		t.Fatalf("addr %v", l.Addr())
	}
}
