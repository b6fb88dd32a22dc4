package netlayer

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"confchat/identity"
)

// slowBeats makes the heartbeat bound long enough (3 s) for a test to hold
// a cut-over open by stalling the relay path.
func slowBeats(c *Config) { c.HeartbeatInterval, c.HeartbeatMisses = time.Second, 3 }

// cutOpen brings a and b onto the relay, starts a stream each way, then
// stalls the relay path and opens the direct one, and returns once both
// sides are in the middle of a cut-over (their MARKs stuck on the relay).
func cutOpen(t *testing.T, mn *MemNetwork, a, b *relayNode) (sa, sb *Session, stA, stB *streamer) {
	t.Helper()
	mn.SetRefuseAddr(b.addr(), true)
	sa = a.open(b.node, b.addr(), b.relayCand())
	waitRoute(t, a.node, b.node, RouteRelay)
	sb = waitRoute(t, b.node, a.node, RouteRelay)
	stA, stB = startStreamer(t, sa), startStreamer(t, sb)
	time.Sleep(300 * time.Millisecond)
	mn.StallAddr(b.relayName)
	mn.SetRefuseAddr(b.addr(), false)
	waitFor(t, "both sides in a cut-over", func() bool { return inCut(sa) && inCut(sb) })
	return sa, sb, stA, stB
}

// checkBoth waits for every frame each streamer sent and checks order.
func checkBoth(t *testing.T, a, b *relayNode, na, nb int) {
	t.Helper()
	waitFor(t, "every frame", func() bool {
		return len(b.rec.frames(a.pub())) == na && len(a.rec.frames(b.pub())) == nb
	})
	checkStream(t, b.rec.frames(a.pub()), na)
	checkStream(t, a.rec.frames(b.pub()), nb)
}

// anchor 44 and acceptance ("the relay is killed in the middle of a
// migration"): the relay dies after both marks went out and before
// either arrived. The session ends up on the direct path, every frame
// arrives exactly once and in order, and no switch is left in progress.
// anchor 48: past the point of no return the session never goes back
// to the dead relay path: after the switch began no status names the
// relay again.
func TestMigrateRelayKilledMidCut(t *testing.T) {
	inMem(t, func(t *testing.T, mn *MemNetwork) {
		a, b := newRelayNode(t, mn, slowBeats), newRelayNode(t, mn, slowBeats)
		_, _, stA, stB := cutOpen(t, mn, a, b)
		mn.SetRefuseAddr(b.relayName, true)
		mn.CutAddr(b.relayName)
		waitRoute(t, a.node, b.node, RouteDirect)
		waitRoute(t, b.node, a.node, RouteDirect)
		time.Sleep(200 * time.Millisecond)
		checkBoth(t, a, b, stA.end(), stB.end())
		for _, x := range [][2]*node{{a.node, b.node}, {b.node, a.node}} {
			sts := routeEvents(x[0], x[1])
			switched := false
			for _, st := range sts {
				switched = switched || st.Switch.Phase == SwitchSwitching
				if switched && st.Route == RouteRelay && st.Switch.Phase != SwitchSwitching {
					t.Errorf("%s went back to the relay after the switch began: %v", x[0].pub().Short(), sts)
				}
			}
			if last := sts[len(sts)-1]; last != (RouteStatus{Route: RouteDirect}) {
				t.Errorf("%s ends at %v, want direct with no switch", x[0].pub().Short(), last)
			}
		}
		if a.rec.count(isReset)+b.rec.count(isReset) != 0 {
			t.Fatal("session reset")
		}
	})
}

// anchor 45: the direct path dies after it authenticated, before the
// cut-over (the migrate HELLO fails): the switch is abandoned, the status
// says so, the session stays on the relay and frames keep flowing there;
// a later probe (after the backoff) completes the switch.
func TestMigrateDirectDiesBeforeCut(t *testing.T) {
	inMem(t, func(t *testing.T, mn *MemNetwork) {
		b := newRelayNode(t, mn)
		baddr := b.addr()
		a := newRelayNode(t, mn, func(c *Config) {
			c.Transport = &faultTransport{Transport: mn, fault: func(n int, addr string) bool { return addr == baddr && n == 1 }}
		})
		mn.SetRefuseAddr(baddr, true)
		sa := a.open(b.node, baddr, b.relayCand())
		waitRoute(t, a.node, b.node, RouteRelay)
		mn.SetRefuseAddr(baddr, false)
		waitFor(t, "the switch failed", func() bool { return sa.RouteStatus().Switch.Phase == SwitchFailed })
		if st := sa.RouteStatus(); st.Route != RouteRelay || sa.State() != Connected {
			t.Fatalf("after the failed switch: %v, %v; want connected on the relay", sa.State(), st)
		}
		t.Logf("status: %v", sa.RouteStatus().Switch)
		if bs := b.ep.Session(a.pub()); inCut(bs) || everSwitching(routeEvents(b.node, a.node)) {
			t.Fatal("the listener started a switch for a HELLO it never got")
		}
		sendN(t, sa, 10, 32)
		waitFor(t, "frames over the relay", func() bool { return len(b.rec.frames(a.pub())) == 10 })
		waitRoute(t, a.node, b.node, RouteDirect) // the next probe
		sendN(t, sa, 10, 32)
		waitFor(t, "frames", func() bool { return len(b.rec.frames(a.pub())) == 20 })
		got := b.rec.frames(a.pub())
		checkStream(t, got[:10], 10)
		checkStream(t, got[10:], 10)
	})
}

// anchor 46 and acceptance ("a second switch never starts while one
// runs"): during a cut-over a second migrate HELLO is refused with
// ErrSwitchBusy, and neither side schedules a probe of its own.
func TestMigrateOneSwitchAtATime(t *testing.T) {
	inMem(t, func(t *testing.T, mn *MemNetwork) {
		a, b := newRelayNode(t, mn, slowBeats), newRelayNode(t, mn, slowBeats)
		sa, sb, stA, stB := cutOpen(t, mn, a, b)
		hs := handshaker{key: a.key, major: VersionMajor, timeout: time.Second, clock: SystemClock{}}
		conn := memDial(t, mn, b.addr())
		_, _, err := hs.dial(conn, b.pub(), hello{ID: sessionID(sa), Resume: true, Migrate: true})
		if !errors.Is(err, ErrSwitchBusy) {
			t.Fatalf("second migrate HELLO: %v, want ErrSwitchBusy", err)
		}
		for _, s := range []*Session{sa, sb} {
			var probing bool
			s.onLoop(func() { probing = s.probe != nil || s.probeT != nil })
			if probing {
				t.Fatal("a probe is scheduled during a cut-over")
			}
		}
		mn.CutAddr(b.relayName)
		waitRoute(t, a.node, b.node, RouteDirect)
		checkBoth(t, a, b, stA.end(), stB.end())
	})
}

// anchor 47 (netlayer's part; the persisted status is node's, see
// node TestRestartAbandonsSwitch): one side crashes in the middle of a
// switch. The survivor abandons it (its status is "failed", never left
// "switching"); the restarted side, same key and no state, starts a new
// session that the survivor accepts, with no switch.
func TestMigrateCrashDuringSwitch(t *testing.T) {
	inMem(t, func(t *testing.T, mn *MemNetwork) {
		a, b := newRelayNode(t, mn, slowBeats), newRelayNode(t, mn, slowBeats)
		_, sb, stA, stB := cutOpen(t, mn, a, b)
		stA.end()
		stB.end()
		a.crash()
		waitFor(t, "the survivor abandoned the switch", func() bool {
			return sb.RouteStatus().Switch.Phase == SwitchFailed && !inCut(sb)
		})
		a2 := newNode(t, a.key, onMem(mn))
		a2.open(b.node, b.addr())
		waitRoute(t, b.node, a2, RouteDirect)
		waitFor(t, "the reset", func() bool { return b.rec.count(isReset) == 1 })
		if st := b.ep.Session(a.pub()).RouteStatus(); st != (RouteStatus{Route: RouteDirect}) {
			t.Fatalf("survivor's status %v", st)
		}
		if everSwitching(routeEvents(a2, b.node)) {
			t.Fatal("the restarted side reports a switch")
		}
	})
}

// anchor 49: a peer that denies migration keeps the session on the relay,
// the status says the switch was denied, and the prober waits its longest
// backoff (30 s) before asking again.
func TestMigrateDenied(t *testing.T) {
	inMem(t, func(t *testing.T, mn *MemNetwork) {
		a, b := newRelayNode(t, mn), newRelayNode(t, mn, func(c *Config) { c.NoMigration = true })
		mn.SetRefuseAddr(b.addr(), true)
		sa := a.open(b.node, b.addr(), b.relayCand())
		waitRoute(t, a.node, b.node, RouteRelay)
		mn.SetRefuseAddr(b.addr(), false)
		waitFor(t, "denied", func() bool { return sa.RouteStatus().Switch.Phase == SwitchFailed })
		deniedAt, dials := time.Now(), mn.Dials()
		if st := sa.RouteStatus(); st.Route != RouteRelay || st.Switch.String() != "failed: denied by the peer" {
			t.Fatalf("status %v", st)
		}
		time.Sleep(25 * time.Second)
		if mn.Dials() != dials {
			t.Fatalf("%d dials within 25 s of the denial, want none", mn.Dials()-dials)
		}
		sendN(t, sa, 5, 16)
		waitFor(t, "frames over the relay", func() bool { return len(b.rec.frames(a.pub())) == 5 })
		waitFor(t, "the next probe", func() bool { return mn.Dials() > dials })
		if el := time.Since(deniedAt); el < 30*time.Second-50*time.Millisecond {
			t.Fatalf("asked again after %v, want the 30 s cap", el)
		}
	})
}

// Acceptance ("the direct path dies after migration while the relay still
// works"): the direct connection is reset and its address refuses; the
// session resumes through the relay at once (well within the heartbeat
// bound) with every frame exactly once, route direct -> none -> relay.
func TestFallbackToRelayWhenDirectDies(t *testing.T) {
	inMem(t, func(t *testing.T, mn *MemNetwork) {
		a, b := newRelayNode(t, mn), newRelayNode(t, mn)
		mn.SetRefuseAddr(b.addr(), true)
		sa := a.open(b.node, b.addr(), b.relayCand())
		waitRoute(t, a.node, b.node, RouteRelay)
		mn.SetRefuseAddr(b.addr(), false)
		waitRoute(t, a.node, b.node, RouteDirect)
		st := startStreamer(t, sa)
		time.Sleep(100 * time.Millisecond)
		cutAt := time.Now()
		mn.SetRefuseAddr(b.addr(), true)
		mn.CutAddr(b.addr())
		waitRoute(t, a.node, b.node, RouteRelay)
		if el, bound := time.Since(cutAt), a.ep.cfg.deadAfter(); el > bound {
			t.Errorf("back on the relay after %v, over the heartbeat bound %v", el, bound)
		}
		time.Sleep(100 * time.Millisecond)
		n := st.end()
		waitFor(t, "every frame", func() bool { return len(b.rec.frames(a.pub())) == n })
		checkStream(t, b.rec.frames(a.pub()), n)
		sts := routeEvents(a.node, b.node)
		if sts[len(sts)-1].Route != RouteRelay {
			t.Fatalf("route events %v", sts)
		}
	})
}

// anchor 50, second half: a direct path whose pongs stop (black-holed, no
// FIN or reset) falls back to the relay within about two heartbeat
// intervals. (First half: TestCandidatesOwnRelaysAndWrongKey.)
func TestFallbackWhenPongsStop(t *testing.T) {
	inMem(t, func(t *testing.T, mn *MemNetwork) {
		two := func(c *Config) { c.HeartbeatMisses = 2 }
		a, b := newRelayNode(t, mn, two), newRelayNode(t, mn, two)
		mn.SetRefuseAddr(b.addr(), true)
		sa := a.open(b.node, b.addr(), b.relayCand())
		waitRoute(t, a.node, b.node, RouteRelay)
		mn.SetRefuseAddr(b.addr(), false)
		waitRoute(t, a.node, b.node, RouteDirect)
		sendN(t, sa, 5, 16)
		waitFor(t, "frames on direct", func() bool { return len(b.rec.frames(a.pub())) == 5 })
		stallAt := time.Now()
		mn.SetRefuseAddr(b.addr(), true)
		mn.StallAddr(b.addr())
		waitRoute(t, a.node, b.node, RouteRelay)
		el := time.Since(stallAt)
		iv := a.ep.cfg.HeartbeatInterval
		if el > 2*iv+iv/2+a.ep.cfg.RelayDelay {
			t.Errorf("fell back after %v; want about two heartbeat intervals (%v)", el, 2*iv)
		}
		sendN(t, sa, 5, 16)
		waitFor(t, "frames on the relay", func() bool { return len(b.rec.frames(a.pub())) == 10 })
		got := b.rec.frames(a.pub())
		checkStream(t, got[:5], 5)
		checkStream(t, got[5:], 5)
	})
}

// anchor 37: a close during an active migration completes on whichever
// path survives (here the direct one, after the relay died mid-cut):
// both sides reach Closed cleanly and every frame sent before the close
// arrives.
func TestCloseDuringMigration(t *testing.T) {
	inMem(t, func(t *testing.T, mn *MemNetwork) {
		a, b := newRelayNode(t, mn, slowBeats), newRelayNode(t, mn, slowBeats)
		sa, sb, stA, stB := cutOpen(t, mn, a, b)
		na, nb := stA.end(), stB.end()
		closed := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			closed <- sa.Close(ctx)
		}()
		time.Sleep(100 * time.Millisecond)
		mn.CutAddr(b.relayName)
		if err := <-closed; err != nil {
			t.Fatalf("close: %v", err)
		}
		<-sb.Done()
		if sb.Err() != nil {
			t.Fatalf("peer's close: %v", sb.Err())
		}
		checkBoth(t, a, b, na, nb)
	})
}

// anchor 41: when a relay cuts the circuit (its time or data cap), the
// session treats it as a drop and resumes over the relay without loss.
func TestRelayCapCutResumes(t *testing.T) {
	inMem(t, func(t *testing.T, mn *MemNetwork) {
		a, b := newRelayNode(t, mn), newRelayNode(t, mn)
		sa := a.open(b.node, b.relayCand())
		waitRoute(t, a.node, b.node, RouteRelay)
		st := startStreamer(t, sa)
		for range 3 {
			time.Sleep(150 * time.Millisecond)
			mn.CutAddr(b.relayName)
		}
		time.Sleep(150 * time.Millisecond)
		n := st.end()
		waitFor(t, "every frame", func() bool { return len(b.rec.frames(a.pub())) == n })
		checkStream(t, b.rec.frames(a.pub()), n)
		if got := a.rec.count(toState(Connected)); got < 4 {
			t.Fatalf("%d connections, want a resume after each of 3 cuts", got)
		}
		if a.rec.count(isReset)+b.rec.count(isReset) != 0 {
			t.Fatal("session reset")
		}
	})
}

// anchor 42: the relay carrying the session dies for good: the session
// resumes over another relay of the peer, with no loss.
func TestRelayDiesResumesOnAnother(t *testing.T) {
	inMem(t, func(t *testing.T, mn *MemNetwork) {
		a, b := newRelayNode(t, mn), newRelayNode(t, mn)
		second := b.addRelay(t, mn, "second-relay-of-b")
		sa := a.open(b.node, b.relayCand(), second)
		waitRoute(t, a.node, b.node, RouteRelay)
		var via string
		sa.onLoop(func() { via = sa.link.sc.conn.RemoteAddr().String() })
		st := startStreamer(t, sa)
		time.Sleep(100 * time.Millisecond)
		mn.SetRefuseAddr(via, true)
		mn.CutAddr(via)
		waitFor(t, "on the other relay", func() bool {
			var now string
			sa.onLoop(func() {
				if sa.link != nil {
					now = sa.link.sc.conn.RemoteAddr().String()
				}
			})
			return now != "" && now != via
		})
		time.Sleep(100 * time.Millisecond)
		n := st.end()
		waitFor(t, "every frame", func() bool { return len(b.rec.frames(a.pub())) == n })
		checkStream(t, b.rec.frames(a.pub()), n)
	})
}

// anchor 51 (netlayer's part; the group level, frozen rather than
// removed and resynced on return, is conference's TestFreezeTimers and
// the split/merge scenarios): a peer unseen far beyond the heartbeat
// bound keeps its session (Grace 0: never removed); when it returns the
// session resumes with what was sent meanwhile, exactly once.
func TestUnseenPeerKeptAndResumed(t *testing.T) {
	inMem(t, func(t *testing.T, mn *MemNetwork) {
		a, b := newRelayNode(t, mn), newRelayNode(t, mn)
		sa := a.open(b.node)
		waitRoute(t, a.node, b.node, RouteDirect)
		sendN(t, sa, 5, 16)
		mn.SetRefuseAddr(b.addr(), true)
		mn.StallAddr(b.addr())
		time.Sleep(time.Minute)
		if sa.State() == Closed || a.ep.Session(b.pub()) != sa {
			t.Fatal("the unseen peer's session was removed")
		}
		sendN(t, sa, 5, 16)
		mn.SetRefuseAddr(b.addr(), false)
		waitRoute(t, a.node, b.node, RouteDirect)
		waitFor(t, "frames", func() bool { return len(b.rec.frames(a.pub())) == 10 })
		got := b.rec.frames(a.pub())
		checkStream(t, got[:5], 5)
		checkStream(t, got[5:], 5)
	})
}

// A probe reaches a peer that has already lost the old path (its watchdog
// is quicker): the peer resumes the session on the probe's connection
// with a plain WELCOME, the prober replaces its dying relay connection,
// and what was in flight on the relay is resent, exactly once.
func TestMigrateProbeFindsPeerWithoutPath(t *testing.T) {
	inMem(t, func(t *testing.T, mn *MemNetwork) {
		a := newRelayNode(t, mn, func(c *Config) {
			c.HeartbeatInterval, c.HeartbeatMisses = time.Second, 5
			c.Relay = deafTransport{mn.RelayTransport()} // b's close never reaches a
		})
		b := newRelayNode(t, mn, func(c *Config) { c.HeartbeatInterval, c.HeartbeatMisses = 100*time.Millisecond, 2 })
		mn.SetRefuseAddr(b.addr(), true)
		sa := a.open(b.node, b.addr(), b.relayCand())
		waitRoute(t, a.node, b.node, RouteRelay)
		sendN(t, sa, 5, 16)
		waitFor(t, "frames", func() bool { return len(b.rec.frames(a.pub())) == 5 })
		mn.StallAddr(b.relayName)
		sendN(t, sa, 5, 16) // stuck on the stalled relay
		waitFor(t, "b lost the relay path", func() bool { return b.ep.Session(a.pub()).Route() == RouteNone })
		time.Sleep(10 * time.Millisecond)
		if sa.Route() != RouteRelay || a.rec.count(toState(Connected)) != 1 {
			t.Fatal("a lost the relay path too early for this test")
		}
		mn.SetRefuseAddr(b.addr(), false)
		waitRoute(t, a.node, b.node, RouteDirect)
		waitFor(t, "frames", func() bool { return len(b.rec.frames(a.pub())) == 10 })
		got := b.rec.frames(a.pub())
		checkStream(t, got[:5], 5)
		checkStream(t, got[5:], 5)
		if a.rec.count(isReset)+b.rec.count(isReset) != 0 {
			t.Fatal("session reset")
		}
		if inCut(sa) || everSwitching(routeEvents(b.node, a.node)) {
			t.Fatal("a cut-over ran although b had no old path")
		}
	})
}

// deafTransport's connections never report the far end's close or a
// failure: a read that fails blocks until the connection is closed here
// (a relay that died silently).
type deafTransport struct{ Transport }

func (d deafTransport) Dial(ctx context.Context, peer identity.PublicKey, addr string) (net.Conn, error) {
	c, err := d.Transport.Dial(ctx, peer, addr)
	if err != nil {
		return nil, err
	}
	return &deafConn{Conn: c, closed: make(chan struct{})}, nil
}

type deafConn struct {
	net.Conn
	once   sync.Once
	closed chan struct{}
}

func (c *deafConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		<-c.closed
	}
	return n, err
}

func (c *deafConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

func (c *deafConn) Relayed() bool { return true }
