package netlayer

import (
	"context"
	"sync"
	"testing"
	"time"
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
