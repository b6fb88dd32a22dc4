package netlayer

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"confchat/identity"
)

// A direct candidate that answers carries the session; the relay
// candidate is never needed.
func TestCandidatesDirectFirst(t *testing.T) {
	inMem(t, func(t *testing.T, mn *MemNetwork) {
		a, b := newRelayNode(t, mn), newRelayNode(t, mn)
		a.open(b.node, b.addr(), b.relayCand())
		s := waitRoute(t, a.node, b.node, RouteDirect)
		sendN(t, s, 5, 16)
		waitFor(t, "frames", func() bool { return len(b.rec.frames(a.pub())) == 5 })
		checkStream(t, b.rec.frames(a.pub()), 5)
		if got := routeEvents(a.node, b.node); len(got) == 0 || got[0].Route != RouteDirect {
			t.Fatalf("route events %v, want direct first", got)
		}
	})
}

// Every direct candidate refused: the relay candidates are dialed at
// once, without waiting for the delay, and the session runs on the relay.
func TestCandidatesRelayWhenDirectRefused(t *testing.T) {
	inMem(t, func(t *testing.T, mn *MemNetwork) {
		a, b := newRelayNode(t, mn, func(c *Config) { c.NoMigration = true }), newRelayNode(t, mn)
		mn.SetRefuseAddr(b.addr(), true)
		start := time.Now()
		a.open(b.node, b.addr(), b.relayCand())
		s := waitRoute(t, a.node, b.node, RouteRelay)
		if el := time.Since(start); el >= a.ep.cfg.RelayDelay {
			t.Errorf("relay reached after %v: it should not wait the %v delay once direct failed", el, a.ep.cfg.RelayDelay)
		}
		sendN(t, s, 5, 16)
		waitFor(t, "frames", func() bool { return len(b.rec.frames(a.pub())) == 5 })
		checkStream(t, b.rec.frames(a.pub()), 5)
		if bs := waitRoute(t, b.node, a.node, RouteRelay); bs.RouteStatus().Route != RouteRelay {
			t.Fatal("listener side not on the relay")
		}
	})
}

// Happy eyeballs: a black-holed direct candidate does not hold the
// session up; the relay is dialed after RelayDelay and wins, and the
// direct attempt is closed.
func TestCandidatesHappyEyeballs(t *testing.T) {
	inMem(t, func(t *testing.T, mn *MemNetwork) {
		a, b := newRelayNode(t, mn, func(c *Config) { c.NoMigration = true }), newRelayNode(t, mn)
		holeListener(t, mn, "mem:hole")
		start := time.Now()
		a.open(b.node, "mem:hole", b.relayCand())
		waitRoute(t, a.node, b.node, RouteRelay)
		el := time.Since(start)
		if el < a.ep.cfg.RelayDelay || el > a.ep.cfg.RelayDelay+100*time.Millisecond {
			t.Errorf("relay carried the session after %v, want just over the %v delay", el, a.ep.cfg.RelayDelay)
		}
		waitFor(t, "the losing direct attempt closed", func() bool { return a.ep.liveConns.Load() == 1 })
	})
}

// Relay candidates of our own (Endpoint.SetRelays) are tried too, and a
// relay candidate whose far end proves another key is never selected
// (anchor 50, first half; anchor 39: a relay that splices us to its own
// or another key fails the end-to-end Noise handshake): the race goes on
// to the next candidate.
func TestCandidatesOwnRelaysAndWrongKey(t *testing.T) {
	inMem(t, func(t *testing.T, mn *MemNetwork) {
		a, b := newRelayNode(t, mn, func(c *Config) { c.NoMigration = true }), newRelayNode(t, mn)
		impostor := newRelayNode(t, mn)
		// A relay that splices us to the impostor instead of b.
		wrong := RelayAddrPrefix + b.pub().String() + "@" + impostor.relayName
		a.ep.SetRelays([]string{b.relayCand(), "10.0.0.1:1"})
		mn.SetRefuseAddr(b.addr(), true)
		a.open(b.node, b.addr(), wrong)
		s := waitRoute(t, a.node, b.node, RouteRelay)
		sendN(t, s, 3, 16)
		waitFor(t, "frames at b", func() bool { return len(b.rec.frames(a.pub())) == 3 })
		if impostor.ep.Session(a.pub()) != nil {
			t.Fatal("the impostor got a session")
		}
	})
}

func TestSplitAddrs(t *testing.T) {
	d, r := SplitAddrs([]string{"1.2.3.4:5", "relay:K@h:1", "", "K2@h:2", "1.2.3.4:5", "[::1]:7", "K@h:1", "relay:K2@h:2"})
	if len(d) != 2 || d[0] != "1.2.3.4:5" || d[1] != "[::1]:7" {
		t.Errorf("direct %v", d)
	}
	if len(r) != 2 || r[0] != "relay:K@h:1" || r[1] != "K2@h:2" {
		t.Errorf("relays %v", r)
	}
}

// hangFirst is a transport whose first n dials hang until canceled (SYNs
// dropped by a partition that has healed since).
type hangFirst struct {
	Transport
	mu sync.Mutex
	n  int
}

func (h *hangFirst) Dial(ctx context.Context, peer identity.PublicKey, addr string) (net.Conn, error) {
	h.mu.Lock()
	hang := h.n > 0
	h.n--
	h.mu.Unlock()
	if hang {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return h.Transport.Dial(ctx, peer, addr)
}

// A direct connect that hangs is not waited out: a fresh one starts every
// connectStagger, and the first to connect carries the session; the
// hanging ones are canceled.
func TestConnectStaggered(t *testing.T) {
	inMem(t, func(t *testing.T, mn *MemNetwork) {
		b := newNode(t, newKey(t), onMem(mn))
		a := newNode(t, newKey(t), onMem(mn, func(c *Config) { c.Transport = &hangFirst{Transport: mn, n: 2} }))
		start := time.Now()
		a.open(b)
		a.waitState(b, Connected)
		if el := time.Since(start); el < 2*connectStagger || el > 3*connectStagger {
			t.Fatalf("connected after %v, want just after two staggers (%v)", el, 2*connectStagger)
		}
	})
}

// Direct candidates are staggered, not strictly sequential: a black-holed
// first address does not hold up a working second one until its timeout.
func TestCandidatesDirectStaggered(t *testing.T) {
	inMem(t, func(t *testing.T, mn *MemNetwork) {
		a, b := newRelayNode(t, mn), newRelayNode(t, mn)
		holeListener(t, mn, "mem:stale")
		start := time.Now()
		a.open(b.node, "mem:stale", b.addr(), b.relayCand())
		waitRoute(t, a.node, b.node, RouteDirect)
		if el, want := time.Since(start), a.ep.cfg.RelayDelay/2; el < want || el > want+50*time.Millisecond {
			t.Fatalf("the second direct candidate carried the session after %v, want about %v", el, want)
		}
	})
}
