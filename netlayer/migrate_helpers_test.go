package netlayer

import (
	"net"
	"sync"
	"testing"
	"time"
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
	name := "relay-for-" + kp.Public().Short()
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
	return &relayNode{node: n, relayName: name}
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
