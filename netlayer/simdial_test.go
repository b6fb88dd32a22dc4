package netlayer

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// Anchor 31 and acceptance: both peers dial each other at the same moment,
// 100 times. Each round ends with exactly one connection on each side,
// the one dialed by the lower key, one shared session, and every frame
// delivered exactly once.
func TestSimultaneousDial(t *testing.T) {
	leakCheck(t)
	const rounds, frames = 100, 20
	kl, kh := keyPair(t)
	overlapped := 0
	for r := range rounds {
		lo, hi := newNode(t, kl, nil), newNode(t, kh, nil)
		var start, wg sync.WaitGroup
		start.Add(1)
		var slo, shi *Session
		wg.Go(func() { start.Wait(); slo = lo.open(hi); sendN(t, slo, frames, 32) })
		wg.Go(func() { start.Wait(); shi = hi.open(lo); sendN(t, shi, frames, 32) })
		start.Done()
		wg.Wait()
		waitFor(t, "frames both ways", func() bool {
			return len(lo.rec.frames(kh.Public())) == frames && len(hi.rec.frames(kl.Public())) == frames
		})
		checkStream(t, lo.rec.frames(kh.Public()), frames)
		checkStream(t, hi.rec.frames(kl.Public()), frames)
		waitFor(t, "one connection per side", func() bool {
			return lo.ep.liveConns.Load() == 1 && hi.ep.liveConns.Load() == 1
		})
		var survivorByLo, survivorByLoSeen bool
		slo.onLoop(func() { survivorByLo = slo.link != nil && slo.link.sc.dialed })
		shi.onLoop(func() { survivorByLoSeen = shi.link != nil && !shi.link.sc.dialed })
		if survivorByLo != survivorByLoSeen {
			t.Fatalf("round %d: the two sides keep different connections", r)
		}
		// Both dials overlapped when the lower side refused the higher
		// one's: then the lower key's connection must be the survivor.
		// (If the higher side's connection was up before the lower side
		// even wanted one, there was no duplicate and it simply stays.)
		if lo.rec.count(func(ev Event) bool { x, ok := ev.(InboundRejected); return ok && errors.Is(x.Err, ErrDuplicate) }) > 0 {
			overlapped++
			if !survivorByLo {
				t.Fatalf("round %d: both dialed, and the survivor was not dialed by the lower key", r)
			}
		}
		if sessionID(slo) != sessionID(shi) || lo.rec.count(isReset)+hi.rec.count(isReset) != 0 {
			t.Fatalf("round %d: sessions disagree or were reset", r)
		}
		lo.close()
		hi.close()
	}
	t.Logf("%d of %d rounds had both dials overlap", overlapped, rounds)
	if overlapped < rounds/10 {
		t.Fatalf("only %d of %d rounds really dialed simultaneously", overlapped, rounds)
	}
}

// Anchor 32: a second authenticated connection for a live session
// replaces the first when the same peer dialed both; the old one is
// closed and the frames stuck on it are resent on the new one.
func TestSecondConnectionReplaces(t *testing.T) {
	leakCheck(t)
	a, b := newNode(t, newKey(t), nil), newNode(t, newKey(t), func(c *Config) {
		c.HeartbeatInterval = time.Second // the black hole must not be detected first
	})
	p := newProxy(t, b.addr())
	sa := a.open(b, p.addr())
	a.waitState(b, Connected)
	sb := b.waitState(a, Connected)
	p.stall() // connection 1 becomes a black hole
	sendN(t, sb, 30, 64)
	var firstGen uint64
	sb.onLoop(func() { firstGen = sb.link.gen })
	sa.onLoop(func() { sa.dropLink(context.Canceled) }) // a alone gives up on connection 1
	waitFor(t, "b took the second connection", func() bool {
		var gen uint64
		sb.onLoop(func() {
			if sb.link != nil {
				gen = sb.link.gen
			}
		})
		return gen > firstGen
	})
	waitFor(t, "frames resent on the new connection", func() bool { return len(a.rec.frames(b.pub())) == 30 })
	checkStream(t, a.rec.frames(b.pub()), 30)
	waitFor(t, "old connection closed", func() bool { return b.ep.liveConns.Load() == 1 })
	if b.rec.count(isReset) != 0 || sb.State() != Connected {
		t.Fatal("the replacement disturbed the session")
	}
	p.cut()
}
