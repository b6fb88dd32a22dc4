package netlayer

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// Anchor 1 (table part): exactly the documented transitions are legal and
// any other is refused with a fatal protocol error.
func TestTransitionTable(t *testing.T) {
	want := map[[2]State]bool{
		{NoConnection, BackingOff}: true, {NoConnection, Connecting}: true, {NoConnection, Connected}: true,
		{BackingOff, NoConnection}: true, {BackingOff, Connecting}: true, {BackingOff, Connected}: true,
		{Connecting, NoConnection}: true, {Connecting, BackingOff}: true, {Connecting, Handshaking}: true, {Connecting, Connected}: true,
		{Handshaking, NoConnection}: true, {Handshaking, BackingOff}: true, {Handshaking, Connecting}: true, {Handshaking, Connected}: true,
		{Connected, NoConnection}: true, {Connected, BackingOff}: true, {Connected, Connecting}: true,
	}
	for from := NoConnection; from <= Closed; from++ {
		for to := NoConnection; to <= Closed+1; to++ {
			err := checkTransition(from, to)
			if legal := want[[2]State{from, to}]; legal != (err == nil) {
				t.Errorf("%v -> %v: err %v, legal %v", from, to, err, legal)
			}
			if err != nil && FatalReason(err) != ReasonProtocol {
				t.Errorf("%v -> %v: %v is not a protocol error", from, to, err)
			}
		}
	}
	if State(42).String() != "State(42)" || Closed.String() != "Closed" {
		t.Error("State.String")
	}
}

// silentListener accepts connections and never answers: dials to it stay
// in Handshaking.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

// Anchor 2: closing a session in any state stops its timers and
// goroutines and closes its connection (the leak check runs after).
func TestCloseInEveryState(t *testing.T) {
	leakCheck(t)
	a, b := newNode(t, newKey(t), nil), newNode(t, newKey(t), nil)
	p := newProxy(t, b.addr())
	p.setRefuse(true)
	setups := map[State]func() *Session{
		NoConnection: func() *Session { s, _ := a.ep.Open(newKey(t).Public(), nil); return s },
		BackingOff:   func() *Session { s, _ := a.ep.Open(b.pub(), []string{p.addr()}); return s },
		Handshaking:  func() *Session { s, _ := a.ep.Open(newKey(t).Public(), []string{silentListener(t)}); return s },
		Connected:    func() *Session { return newNode(t, newKey(t), nil).open(b) },
	}
	for st, setup := range setups {
		s := setup()
		waitFor(t, "state "+st.String(), func() bool { return s.State() == st })
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		_ = s.Close(ctx)
		cancel()
		if s.State() != Closed {
			t.Fatalf("closed from %v but state is %v", st, s.State())
		}
	}
	// Closing: the peer never answers, the caller gives up.
	c := newNode(t, newKey(t), nil)
	pc := newProxy(t, c.addr())
	sc := a.open(c, pc.addr())
	a.waitState(c, Connected)
	pc.stall()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }() // owner: ends after 50 ms
	if err := sc.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("aborted close: %v", err)
	}
	pc.cut()
	waitFor(t, "no live connections", func() bool { return a.ep.liveConns.Load() == 0 })
}

// Anchor 4: a dial that finishes after it was abandoned is closed at once
// and never adopted.
func TestStaleDialClosed(t *testing.T) {
	leakCheck(t)
	a, b := newNode(t, newKey(t), nil), newNode(t, newKey(t), nil)
	s := a.open(b)
	a.waitState(b, Connected)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ours, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer theirs.Close()
	var gen uint64
	s.onLoop(func() {
		gen = s.link.gen
		s.handleDial(dialResult{gen: s.attemptGen + 7, sc: &secureConn{conn: ours, dialed: true}})
	})
	_ = theirs.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := theirs.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("stale connection not closed: %v", err)
	}
	s.onLoop(func() {
		if s.link == nil || s.link.gen != gen {
			t.Error("a stale dial replaced the connection")
		}
	})
}

// Anchor 19: redials back off exponentially up to the cap, with jitter,
// and the budget is restored after a success.
func TestBackoff(t *testing.T) {
	b := Backoff{Base: 10 * time.Millisecond, Max: 80 * time.Millisecond, Jitter: 0.5}.withDefaults()
	want := []time.Duration{0, 10, 20, 40, 80, 80, 80}
	for n, w := range want {
		if got := b.Delay(n, 0); got != w*time.Millisecond {
			t.Errorf("Delay(%d) = %v, want %v", n, got, w*time.Millisecond)
		}
		if got := b.Delay(n, 0.999); got < w*time.Millisecond || got > w*time.Millisecond*3/2 {
			t.Errorf("Delay(%d) with jitter = %v", n, got)
		}
	}
	if d := (Backoff{}).withDefaults(); d.Base != 100*time.Millisecond || d.Max != 10*time.Second || d.Jitter != 0.5 {
		t.Errorf("defaults %+v", d)
	}
}

// Anchor 19. In-memory, in a synctest bubble.
func TestRetryBudget(t *testing.T) {
	leakCheck(t)
	inMem(t, retryBudget)
}

func retryBudget(t *testing.T, mn *MemNetwork) {
	a, b := newNode(t, newKey(t), onMem(mn)), newNode(t, newKey(t), onMem(mn))
	sa := a.open(b)
	a.waitState(b, Connected)
	mn.SetRefuse(true)
	start := mn.Dials()
	for range 50 { // kill the link 50 times in a row
		mn.Cut()
		time.Sleep(10 * time.Millisecond)
	}
	attempts := mn.Dials() - start
	// 500 ms at 0, 10, 20, 40, 80, 80, ... ms (+ up to 50% jitter) is at
	// most a dozen attempts; without backoff it would be hundreds.
	if attempts < 4 || attempts > 16 {
		t.Fatalf("%d dial attempts in 500 ms", attempts)
	}
	var retries int
	sa.onLoop(func() { retries = sa.retries })
	if retries < 4 {
		t.Fatalf("retries %d", retries)
	}
	mn.SetRefuse(false)
	a.waitState(b, Connected)
	sa.onLoop(func() { retries = sa.retries })
	if retries != 0 {
		t.Fatalf("retries %d after a success", retries)
	}
}

// Anchor 20: concurrent Opens of one peer share one session and one dial.
func TestConcurrentOpen(t *testing.T) {
	leakCheck(t)
	a, b := newNode(t, newKey(t), nil), newNode(t, newKey(t), nil)
	p := newProxy(t, b.addr())
	var wg sync.WaitGroup
	got := make([]*Session, 10)
	for i := range got {
		wg.Go(func() { got[i] = a.open(b, p.addr()) })
	}
	wg.Wait()
	for _, s := range got {
		if s != got[0] {
			t.Fatal("concurrent Opens returned different sessions")
		}
	}
	a.waitState(b, Connected)
	if n := p.acceptedCount(); n != 1 {
		t.Fatalf("%d connections for one session", n)
	}
}

// Anchor 1 (stale handles): a Session that reached Closed is a consumed
// handle: every call returns an error or does nothing, and Open gives a
// new session instead of reviving it.
func TestCallsOnClosedSession(t *testing.T) {
	leakCheck(t)
	a, b := newNode(t, newKey(t), nil), newNode(t, newKey(t), nil)
	s := a.open(b)
	a.waitState(b, Connected)
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send: %v", err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	s.SetAddrs([]string{b.addr()})
	if s.onLoop(func() {}) {
		t.Fatal("the owner of a closed session still runs")
	}
	if s.State() != Closed || s.Route() != RouteNone {
		t.Fatalf("state %v route %v", s.State(), s.Route())
	}
	s2 := a.open(b)
	if s2 == s {
		t.Fatal("Open revived a closed session")
	}
	a.waitState(b, Connected)
	if s2.Route() != RouteDirect {
		t.Fatalf("route %v", s2.Route())
	}
}
