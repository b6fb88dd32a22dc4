package netlayer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"confchat/identity"
)

// anchor 43 and acceptance: a stream of 10,000 frames each way runs over
// the relay while the direct path opens. The session migrates, every
// frame arrives exactly once and in order, the relay connection is
// closed, and the route goes relay -> switching -> direct on both sides.
func TestMigrateDuringStream(t *testing.T) {
	inMem(t, func(t *testing.T, mn *MemNetwork) {
		const n = 10000
		a, b := newRelayNode(t, mn), newRelayNode(t, mn)
		mn.SetRefuseAddr(b.addr(), true)
		sa := a.open(b.node, b.addr(), b.relayCand())
		waitRoute(t, a.node, b.node, RouteRelay)
		sb := waitRoute(t, b.node, a.node, RouteRelay)
		var wg sync.WaitGroup
		wg.Go(func() { sendStream(t, sa, n) })
		wg.Go(func() { sendStream(t, sb, n) })
		time.Sleep(500 * time.Millisecond) // mid-stream
		mn.SetRefuseAddr(b.addr(), false)
		wg.Wait()
		waitFor(t, "all frames", func() bool {
			return len(b.rec.frames(a.pub())) == n && len(a.rec.frames(b.pub())) == n
		})
		checkStream(t, b.rec.frames(a.pub()), n)
		checkStream(t, a.rec.frames(b.pub()), n)
		waitRoute(t, a.node, b.node, RouteDirect)
		waitRoute(t, b.node, a.node, RouteDirect)
		for _, x := range []*node{a.node, b.node} {
			peer := b.node
			if x == b.node {
				peer = a.node
			}
			if sts := routeEvents(x, peer); !switchedVia(sts) {
				t.Errorf("%s route events %v, want relay -> switching -> direct", x.pub().Short(), sts)
			}
		}
		waitFor(t, "the relay connection closed", func() bool {
			return a.ep.liveConns.Load() == 1 && b.ep.liveConns.Load() == 1
		})
		if a.rec.count(isReset)+b.rec.count(isReset) != 0 {
			t.Fatal("session reset")
		}
	})
}

// sendStream sends frames 0..n-1, pacing a little so that the stream
// spans the migration.
func sendStream(t *testing.T, s *Session, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := range n {
		if err := s.Send(ctx, numbered(i, 64)); err != nil {
			t.Errorf("send %d: %v", i, err)
			return
		}
		if i%10 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
}

// Both sides know each other's direct address and probe at the same
// instant (no jitter): one probe wins on both sides (the lower key's when
// their HELLOs cross), exactly one cut-over runs, and the streams each
// way arrive exactly once.
func TestMigrateBothProbeAtOnce(t *testing.T) {
	inMem(t, func(t *testing.T, mn *MemNetwork) {
		slow := func(c *Config) { c.Transport = slowDial{mn, 10 * time.Millisecond} } // both probes in flight at once
		a, b := newRelayNode(t, mn, slow), newRelayNode(t, mn, slow)
		mn.SetRefuseAddr(a.addr(), true)
		mn.SetRefuseAddr(b.addr(), true)
		sa := a.open(b.node, b.addr(), b.relayCand())
		waitRoute(t, a.node, b.node, RouteRelay)
		sb := b.open(a.node, a.addr(), a.relayCand())
		waitRoute(t, b.node, a.node, RouteRelay)
		stA, stB := startStreamer(t, sa), startStreamer(t, sb)
		mn.SetRefuseAddr(a.addr(), false)
		mn.SetRefuseAddr(b.addr(), false)
		waitRoute(t, a.node, b.node, RouteDirect)
		waitRoute(t, b.node, a.node, RouteDirect)
		time.Sleep(100 * time.Millisecond)
		na, nb := stA.end(), stB.end()
		waitFor(t, "every frame", func() bool {
			return len(b.rec.frames(a.pub())) == na && len(a.rec.frames(b.pub())) == nb
		})
		checkStream(t, b.rec.frames(a.pub()), na)
		checkStream(t, a.rec.frames(b.pub()), nb)
		for _, x := range [][2]*node{{a.node, b.node}, {b.node, a.node}} {
			if sts := routeEvents(x[0], x[1]); !switchedVia(sts) {
				t.Errorf("%s route events %v", x[0].pub().Short(), sts)
			}
		}
		if a.rec.count(isReset)+b.rec.count(isReset) != 0 {
			t.Fatal("session reset")
		}
		// The higher key never refuses the lower key's probe; each side
		// went through exactly one switch.
		lo, hi := a, b
		if b.pub().Less(a.pub()) {
			lo, hi = b, a
		}
		busy := func(ev Event) bool { x, ok := ev.(InboundRejected); return ok && errors.Is(x.Err, ErrSwitchBusy) }
		if hi.rec.count(busy) != 0 {
			t.Fatal("the higher key refused the lower key's probe")
		}
		t.Logf("lower key refused %d probe(s)", lo.rec.count(busy))
		for _, x := range [][2]*node{{a.node, b.node}, {b.node, a.node}} {
			switches, prev := 0, SwitchNone
			for _, st := range routeEvents(x[0], x[1]) {
				if st.Switch.Phase == SwitchSwitching && prev != SwitchSwitching {
					switches++
				}
				prev = st.Switch.Phase
			}
			if switches != 1 {
				t.Errorf("%s went through %d switches", x[0].pub().Short(), switches)
			}
		}
	})
}

// slowDial delays every dial, so that probes overlap.
type slowDial struct {
	Transport
	d time.Duration
}

func (s slowDial) Dial(ctx context.Context, peer identity.PublicKey, addr string) (net.Conn, error) {
	time.Sleep(s.d)
	return s.Transport.Dial(ctx, peer, addr)
}

// Chaos: while frames stream both ways, the direct and relay paths are
// cut, black-holed, refused and restored at random moments, so that
// migrations, fallbacks and interrupted cut-overs overlap. Every frame
// arrives exactly once and in order, the session is never reset, and at
// the end no switch is left in progress.
func TestMigrationChaos(t *testing.T) {
	seeds := uint64(2)
	if n, err := strconv.ParseUint(os.Getenv("NETLAYER_CHAOS_SEEDS"), 10, 8); err == nil && n > 0 {
		seeds = n // a longer local run
	}
	for seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			inMem(t, func(t *testing.T, mn *MemNetwork) {
				rng := rand.New(rand.NewPCG(seed, 11))
				fast := func(c *Config) {
					c.MigrateBackoff = Backoff{Base: 200 * time.Millisecond, Max: time.Second, Jitter: 0.5}
				}
				a, b := newRelayNode(t, mn, fast), newRelayNode(t, mn, fast)
				sa := a.open(b.node, b.addr(), b.relayCand())
				a.waitState(b.node, Connected)
				sb := b.waitState(a.node, Connected)
				paths := []string{b.addr(), b.relayName}
				if seed%2 == 1 { // both sides dial and probe
					b.open(a.node, a.addr(), a.relayCand())
					paths = append(paths, a.addr(), a.relayName)
				}
				stA, stB := startStreamer(t, sa), startStreamer(t, sb)
				refused := map[string]bool{}
				for range 25 {
					time.Sleep(time.Duration(20+rng.IntN(600)) * time.Millisecond)
					p := paths[rng.IntN(len(paths))]
					switch rng.IntN(5) {
					case 0:
						mn.CutAddr(p)
					case 1:
						refused[p] = !refused[p]
						mn.SetRefuseAddr(p, refused[p])
					case 2:
						mn.StallAddr(p)
					case 3:
						mn.StallAddr(p)
						time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond)
						mn.CutAddr(p)
					case 4: // every path at once
						for _, p := range paths {
							mn.CutAddr(p)
						}
					}
				}
				for _, p := range paths {
					mn.SetRefuseAddr(p, false)
				}
				waitRoute(t, a.node, b.node, RouteDirect)
				time.Sleep(200 * time.Millisecond)
				na, nb := stA.end(), stB.end()
				waitFor(t, "every frame", func() bool {
					return len(b.rec.frames(a.pub())) == na && len(a.rec.frames(b.pub())) == nb
				})
				checkStream(t, b.rec.frames(a.pub()), na)
				checkStream(t, a.rec.frames(b.pub()), nb)
				if a.rec.count(isReset)+b.rec.count(isReset) != 0 {
					t.Fatal("session reset")
				}
				waitFor(t, "no switch in progress", func() bool {
					return sa.RouteStatus().Switch.Phase != SwitchSwitching && sb.RouteStatus().Switch.Phase != SwitchSwitching
				})
				t.Logf("%d and %d frames; %d and %d route events", na, nb, len(routeEvents(a.node, b.node)), len(routeEvents(b.node, a.node)))
			})
		})
	}
}
