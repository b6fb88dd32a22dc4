package netlayer

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"confchat/identity"
)

// relayNode is a node on a MemNetwork that also serves a stand-in relay
// registration (a ListenRelayed listener) and dials relay candidates
// through the network's RelayTransport.
type relayNode struct {
	*node
	relayName string
}

// relayCand is the relay candidate that reaches n through its stand-in
// relay registration.
func (n *relayNode) relayCand() string {
	return RelayAddrPrefix + n.pub().String() + "@" + n.relayName
}

func newRelayNode(t *testing.T, mn *MemNetwork, more ...func(*Config)) *relayNode {
	t.Helper()
	kp := newKey(t)
	n := newNode(t, kp, onMem(mn, append([]func(*Config){func(c *Config) {
		c.Relay = mn.RelayTransport()
		c.MigrateBackoff = Backoff{Base: time.Second, Max: 30 * time.Second, Jitter: -1}
	}}, more...)...))
	rn := &relayNode{node: n, relayName: "relay-for-" + kp.Public().Short()}
	rn.addRelay(t, mn, rn.relayName)
	return rn
}

// addRelay serves one more stand-in relay registration, called name, and
// returns the relay candidate that reaches n through it.
func (n *relayNode) addRelay(t *testing.T, mn *MemNetwork, name string) string {
	t.Helper()
	ln, err := mn.ListenRelayed(name)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = n.ep.Serve(ln) })
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	return RelayAddrPrefix + n.pub().String() + "@" + name
}

// routeEvents returns the route statuses n reported for peer, in order.
func routeEvents(n *node, peer *node) []RouteStatus {
	var out []RouteStatus
	for _, ev := range n.rec.all() {
		if r, ok := ev.(SessionRouteChanged); ok && r.Peer == peer.pub() {
			out = append(out, RouteStatus{Route: r.Route, Switch: r.Switch})
		}
	}
	return out
}

// waitRoute waits until n's session with peer runs on route with no
// switch in progress.
func waitRoute(t *testing.T, n, peer *node, route Route) *Session {
	t.Helper()
	var s *Session
	waitFor(t, n.pub().Short()+" on "+route.String(), func() bool {
		s = n.ep.Session(peer.pub())
		if s == nil {
			return false
		}
		st := s.RouteStatus()
		return s.State() == Connected && st.Route == route && st.Switch.Phase != SwitchSwitching
	})
	return s
}

// holeListener accepts connections and never answers (a black-holed
// direct candidate); it closes them at cleanup.
func holeListener(t *testing.T, mn *MemNetwork, name string) {
	t.Helper()
	ln, err := mn.Listen(name)
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
		for _, c := range conns {
			_ = c.Close()
		}
	})
}

// switchedVia reports whether statuses hold relay, then a switch, then
// direct, in that order.
func switchedVia(sts []RouteStatus) bool {
	stage := 0
	for _, st := range sts {
		switch {
		case stage == 0 && st.Route == RouteRelay && st.Switch.Phase == SwitchNone:
			stage = 1
		case stage == 1 && st.Switch.Phase == SwitchSwitching:
			stage = 2
		case stage == 2 && st.Route == RouteDirect && st.Switch.Phase == SwitchNone:
			return true
		}
	}
	return false
}

// faultTransport wraps a Transport; fault, when it returns true for the
// n-th dial (from 1) of a direct address, makes that connection fail at
// its second write (the dialer's HELLO, after Noise authenticated the
// peer).
type faultTransport struct {
	Transport
	mu    sync.Mutex
	n     int
	fault func(n int, addr string) bool
}

func (f *faultTransport) Dial(ctx context.Context, peer identity.PublicKey, addr string) (net.Conn, error) {
	c, err := f.Transport.Dial(ctx, peer, addr)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.n++
	bad := f.fault(f.n, addr)
	f.mu.Unlock()
	if bad {
		return &dieAtWrite{Conn: c, at: 2}, nil
	}
	return c, nil
}

// dieAtWrite closes its connection at write number at.
type dieAtWrite struct {
	net.Conn
	mu     sync.Mutex
	writes int
	at     int
}

func (d *dieAtWrite) Write(p []byte) (int, error) {
	d.mu.Lock()
	d.writes++
	die := d.writes >= d.at
	d.mu.Unlock()
	if die {
		_ = d.Conn.Close()
		return 0, net.ErrClosed
	}
	return d.Conn.Write(p)
}

// streamer sends numbered frames on a session in the background, a few
// at a time with pauses, until stop; sent reports how many it sent. A
// quiet streamer stops at the first failed send without failing the test
// (its session is meant to die).
type streamer struct {
	stop chan struct{}
	done chan struct{}
	sent int
}

func startStreamer(t *testing.T, s *Session) *streamer { return runStreamer(t, s, false) }

func runStreamer(t *testing.T, s *Session, quiet bool) *streamer {
	st := &streamer{stop: make(chan struct{}), done: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	go func() {
		defer close(st.done)
		defer cancel()
		for i := 0; ; i++ {
			select {
			case <-st.stop:
				return
			default:
			}
			if err := s.Send(ctx, numbered(i, 64)); err != nil {
				if !quiet && ctx.Err() == nil {
					t.Errorf("send %d: %v", i, err)
				}
				return
			}
			st.sent = i + 1
			if i%10 == 9 {
				time.Sleep(5 * time.Millisecond)
			}
		}
	}()
	go func() {
		select {
		case <-st.stop:
			cancel()
		case <-st.done:
		}
	}()
	return st
}

// end stops the streamer and returns how many frames it sent.
func (st *streamer) end() int {
	close(st.stop)
	<-st.done
	return st.sent
}

// inCut reports whether s has a cut-over in progress.
func inCut(s *Session) (cut bool) {
	s.onLoop(func() { cut = s.cut != nil })
	return cut
}

// everSwitching reports whether any status in sts was "switching".
func everSwitching(sts []RouteStatus) bool {
	for _, st := range sts {
		if st.Switch.Phase == SwitchSwitching {
			return true
		}
	}
	return false
}
