package relay

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"confchat/identity"
	"confchat/netlayer"
)

// Acceptance tests of issue 11's migration on real loopback sockets: two
// netlayer endpoints, a real relay, and a direct path through a proxy the
// test opens, stalls and kills.

// proxy forwards TCP connections from its listener to target. It starts
// closed (its port refuses) until open; stall black-holes what it carries
// (read, never delivered), tamper flips one byte once, kill closes it all.
type proxy struct {
	target string
	addr   string

	mu       sync.Mutex
	ln       net.Listener
	conns    map[net.Conn]struct{}
	stalled  bool
	tamperAt int64    // flip the byte at this offset of tamperOn's stream; <0 none
	tamperOn net.Conn // the client connection tampered with
	seen     map[net.Conn]int64
	dead     chan struct{} // closed by kill: stalled pumps give up
	wg       sync.WaitGroup
}

// newProxy reserves a loopback port for a proxy to target; nothing
// listens there until open.
func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{target: target, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}, seen: map[net.Conn]int64{}, tamperAt: -1, dead: make(chan struct{})}
	ln.Close()
	t.Cleanup(func() {
		p.kill()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) open(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("proxy: reopen %s: %v", p.addr, err)
	}
	p.mu.Lock()
	p.ln = ln
	p.dead = make(chan struct{})
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", p.target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns[in], p.conns[out] = struct{}{}, struct{}{}
			p.mu.Unlock()
			p.wg.Go(func() { p.pump(out, in, true) })
			p.wg.Go(func() { p.pump(in, out, false) })
		}
	})
}

func (p *proxy) pump(dst, src net.Conn, fromClient bool) {
	defer func() {
		p.mu.Lock()
		delete(p.conns, dst)
		delete(p.conns, src)
		delete(p.seen, src)
		p.mu.Unlock()
		dst.Close()
		src.Close()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		p.mu.Lock()
		stalled, dead := p.stalled, p.dead
		if seen := p.seen[src]; fromClient && src == p.tamperOn && seen <= p.tamperAt && p.tamperAt < seen+int64(n) {
			buf[p.tamperAt-seen] ^= 0x40
			p.tamperAt = -1
		}
		if fromClient {
			p.seen[src] += int64(n)
		}
		p.mu.Unlock()
		if stalled {
			<-dead
			return
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}

func (p *proxy) stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = true
}

// tamper flips the byte at offset off (counted from now) of the busiest
// client-to-target stream so far.
func (p *proxy) tamper(off int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var most int64 = -1
	for c, n := range p.seen {
		if n > most {
			p.tamperOn, most = c, n
		}
	}
	p.tamperAt = most + off
}

// kill closes the listener (the port refuses again) and every connection.
func (p *proxy) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	select {
	case <-p.dead:
	default:
		close(p.dead)
	}
}

// evRec drains an endpoint's events into a list.
type evRec struct {
	mu   sync.Mutex
	evs  []netlayer.Event
	done chan struct{}
}

func recordEvents(ep *netlayer.Endpoint) *evRec {
	r := &evRec{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for ev := range ep.Events() {
			r.mu.Lock()
			r.evs = append(r.evs, ev)
			r.mu.Unlock()
		}
	}()
	return r
}

func (r *evRec) all() []netlayer.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]netlayer.Event(nil), r.evs...)
}

func (r *evRec) frames(peer identity.PublicKey) [][]byte {
	var out [][]byte
	for _, ev := range r.all() {
		if f, ok := ev.(netlayer.FrameReceived); ok && f.Peer == peer {
			out = append(out, f.Data)
		}
	}
	return out
}

func (r *evRec) routes(peer identity.PublicKey) []netlayer.RouteStatus {
	var out []netlayer.RouteStatus
	for _, ev := range r.all() {
		if x, ok := ev.(netlayer.SessionRouteChanged); ok && x.Peer == peer {
			out = append(out, netlayer.RouteStatus{Route: x.Route, Switch: x.Switch})
		}
	}
	return out
}

// migPair is alice and bob: bob listens on loopback, reachable directly
// only through the direct proxy and registered at the relay through the
// relay proxy; alice knows both candidates and dials relays with a client.
type migPair struct {
	alice, bob       *netlayer.Endpoint
	aKey, bKey       *identity.KeyPair
	aRec, bRec       *evRec
	direct, relayTap *proxy
	relay            *testRelay
	cands            []string
}

func newMigPair(t *testing.T, heartbeat time.Duration) *migPair {
	t.Helper()
	m := &migPair{aKey: newKey(t), bKey: newKey(t)}
	m.relay = startRelay(t, Config{})
	m.relayTap = newProxy(t, m.relay.addr.HostPort)
	m.relayTap.open(t)
	viaTap := Addr{Key: m.relay.addr.Key, HostPort: m.relayTap.addr}
	cfg := func(kp *identity.KeyPair) netlayer.Config {
		return netlayer.Config{Key: kp, ListenAddr: "127.0.0.1:0", HeartbeatInterval: heartbeat, HeartbeatMisses: 3,
			HandshakeTimeout: 2 * time.Second, CloseTimeout: 2 * time.Second, EventBuffer: 1 << 17,
			Backoff:        netlayer.Backoff{Base: 20 * time.Millisecond, Max: 200 * time.Millisecond},
			MigrateBackoff: netlayer.Backoff{Base: 200 * time.Millisecond, Max: 2 * time.Second}}
	}
	ac := cfg(m.aKey)
	ac.Relay = newClient(t, m.aKey, ClientConfig{})
	var err error
	if m.alice, err = netlayer.New(ac); err != nil {
		t.Fatal(err)
	}
	if m.bob, err = netlayer.New(cfg(m.bKey)); err != nil {
		t.Fatal(err)
	}
	for _, ep := range []*netlayer.Endpoint{m.alice, m.bob} {
		if err := ep.Listen(); err != nil {
			t.Fatal(err)
		}
	}
	m.aRec, m.bRec = recordEvents(m.alice), recordEvents(m.bob)
	m.direct = newProxy(t, m.bob.Addr().String())
	bl := newClient(t, m.bKey, ClientConfig{BackoffMin: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond}).Register(viaTap)
	if err := bl.WaitRegistered(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = m.bob.Serve(bl) })
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		_ = m.alice.Close(ctx)
		_ = m.bob.Close(ctx)
		bl.Close()
		wg.Wait()
		<-m.aRec.done
		<-m.bRec.done
	})
	m.cands = []string{m.direct.addr, viaTap.String()}
	return m
}

// onRelay opens alice's session with bob and waits until both run on
// the relay.
func (m *migPair) onRelay(t *testing.T) (sa, sb *netlayer.Session) {
	t.Helper()
	sa, err := m.alice.Open(m.bKey.Public(), m.cands)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both on the relay", func() bool {
		sb = m.bob.Session(m.aKey.Public())
		return sa.Route() == netlayer.RouteRelay && sb != nil && sb.Route() == netlayer.RouteRelay
	})
	return sa, sb
}

func frame(i int) []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint64(b, uint64(i))
	for j := 8; j < len(b); j++ {
		b[j] = byte(i + j)
	}
	return b
}

// sendFrames sends frames 0..n-1, pausing briefly every 10 so the stream
// spans what the test does meanwhile; at(i) runs before frame i.
func sendFrames(t *testing.T, s *netlayer.Session, n int, at func(i int)) {
	ctx := ctxT(t)
	for i := range n {
		if at != nil {
			at(i)
		}
		if err := s.Send(ctx, frame(i)); err != nil {
			t.Errorf("send %d: %v", i, err)
			return
		}
		if i%10 == 9 {
			time.Sleep(500 * time.Microsecond)
		}
	}
}

func checkFrames(t *testing.T, got [][]byte, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("got %d frames, want %d", len(got), n)
	}
	for i, f := range got {
		if len(f) != 64 || binary.BigEndian.Uint64(f) != uint64(i) || f[63] != byte(i+63) {
			t.Fatalf("frame %d out of order, doubled or corrupt", i)
		}
	}
}

func relaySwitchingDirect(sts []netlayer.RouteStatus) bool {
	stage := 0
	for _, st := range sts {
		switch {
		case stage == 0 && st.Route == netlayer.RouteRelay && st.Switch.String() == "":
			stage = 1
		case stage == 1 && st.Switch.String() == "switching":
			stage = 2
		case stage == 2 && st.Route == netlayer.RouteDirect && st.Switch.String() == "":
			return true
		}
	}
	return false
}

// Acceptance (issue 11): during a stream of 10,000 frames each way over
// the relay the test opens the direct path: the session migrates, every
// frame arrives exactly once and in order, route reports relay ->
// switching -> direct on both sides, and the relay's splice is closed.
// (anchor 43 on real sockets.)
func TestMigrateRelayToDirectLoopback(t *testing.T) {
	const n = 10000
	m := newMigPair(t, 500*time.Millisecond)
	sa, sb := m.onRelay(t)
	start := time.Now()
	var migrated time.Duration // from the direct path's opening to both sides on it
	var wg sync.WaitGroup
	wg.Go(func() {
		sendFrames(t, sa, n, func(i int) {
			if i == n/4 {
				m.direct.open(t)
				opened := time.Now()
				wg.Go(func() {
					for time.Since(opened) < testTimeout {
						if sa.Route() == netlayer.RouteDirect && sb.Route() == netlayer.RouteDirect {
							migrated = time.Since(opened)
							return
						}
						time.Sleep(time.Millisecond)
					}
				})
			}
		})
	})
	wg.Go(func() { sendFrames(t, sb, n, nil) })
	wg.Wait()
	waitFor(t, "all frames", func() bool {
		return len(m.bRec.frames(m.aKey.Public())) == n && len(m.aRec.frames(m.bKey.Public())) == n
	})
	checkFrames(t, m.bRec.frames(m.aKey.Public()), n)
	checkFrames(t, m.aRec.frames(m.bKey.Public()), n)
	waitFor(t, "both on direct", func() bool {
		return sa.RouteStatus() == netlayer.RouteStatus{Route: netlayer.RouteDirect} &&
			sb.RouteStatus() == netlayer.RouteStatus{Route: netlayer.RouteDirect}
	})
	for name, sts := range map[string][]netlayer.RouteStatus{
		"alice": m.aRec.routes(m.bKey.Public()), "bob": m.bRec.routes(m.aKey.Public()),
	} {
		if !relaySwitchingDirect(sts) {
			t.Errorf("%s: connection.route went %v, want relay -> switching -> direct", name, sts)
		}
	}
	waitFor(t, "the relay splice closed", func() bool { return m.relay.srv.Stats().Pairs == 0 })
	t.Logf("stream of %d frames each way in %v; direct path opened at frame %d, both on it %v later (first probe 200-300 ms after the relay came up)",
		n, time.Since(start), n/4, migrated)
	fmt.Printf("metric migrate_stream_10000_frames_ms %.1f ms\n", float64(time.Since(start).Microseconds())/1000)
	fmt.Printf("metric migrate_after_direct_opens_ms %.1f ms\n", float64(migrated.Microseconds())/1000)
}

// Acceptance (issue 11): the relay is killed in the middle of a
// migration (both marks sent on the relay, stuck there): the session
// ends up on the direct path, nothing is lost, and no switch is left in
// progress. (anchors 44 and 48 on real sockets.)
func TestRelayKilledMidMigrationLoopback(t *testing.T) {
	const n = 3000
	m := newMigPair(t, 2*time.Second)
	sa, sb := m.onRelay(t)
	var wg sync.WaitGroup
	wg.Go(func() {
		sendFrames(t, sa, n, func(i int) {
			if i == n/3 {
				m.relayTap.stall()
				m.direct.open(t)
			}
		})
	})
	wg.Go(func() { sendFrames(t, sb, n, nil) })
	waitFor(t, "a switch under way", func() bool {
		return sa.RouteStatus().Switch.Phase == netlayer.SwitchSwitching && sb.RouteStatus().Switch.Phase == netlayer.SwitchSwitching
	})
	m.relayTap.kill()
	m.relay.srv.Close()
	wg.Wait()
	waitFor(t, "all frames", func() bool {
		return len(m.bRec.frames(m.aKey.Public())) == n && len(m.aRec.frames(m.bKey.Public())) == n
	})
	checkFrames(t, m.bRec.frames(m.aKey.Public()), n)
	checkFrames(t, m.aRec.frames(m.bKey.Public()), n)
	waitFor(t, "both on direct, no switch in progress", func() bool {
		return sa.RouteStatus() == netlayer.RouteStatus{Route: netlayer.RouteDirect} &&
			sb.RouteStatus() == netlayer.RouteStatus{Route: netlayer.RouteDirect}
	})
}

// Acceptance (issue 11): the direct path dies after the migration while
// the relay still works: frames flow again through the relay (the time
// from the kill to the first frame delivered over the relay is printed
// as a metric; the heartbeat bound here is 1.5 s).
func TestDirectDiesAfterMigrationLoopback(t *testing.T) {
	m := newMigPair(t, 500*time.Millisecond)
	sa, _ := m.onRelay(t)
	m.direct.open(t)
	waitFor(t, "migrated", func() bool { return sa.RouteStatus() == netlayer.RouteStatus{Route: netlayer.RouteDirect} })
	sendFrames(t, sa, 100, nil)
	waitFor(t, "frames on direct", func() bool { return len(m.bRec.frames(m.aKey.Public())) == 100 })
	killed := time.Now()
	m.direct.kill()
	var back time.Duration
	var wg sync.WaitGroup
	wg.Go(func() {
		sendFrames(t, sa, 200, nil)
	})
	waitFor(t, "a frame after the kill", func() bool {
		if len(m.bRec.frames(m.aKey.Public())) > 100 && back == 0 {
			back = time.Since(killed)
		}
		return back != 0
	})
	wg.Wait()
	waitFor(t, "all frames", func() bool { return len(m.bRec.frames(m.aKey.Public())) == 300 })
	got := m.bRec.frames(m.aKey.Public())
	checkFrames(t, got[:100], 100)
	checkFrames(t, got[100:], 200)
	if sa.Route() != netlayer.RouteRelay {
		t.Fatalf("after the direct path died the session runs on %v, want relay", sa.Route())
	}
	fmt.Printf("metric relay_fallback_after_direct_loss_ms %.1f ms\n", float64(back.Microseconds())/1000)
}

// anchor 38, second half: a byte the relay tampers with kills
// that connection (decryption fails end to end), and the session resumes
// through the relay without loss.
func TestRelayTamperKillsConnectionLoopback(t *testing.T) {
	const n = 2000
	m := newMigPair(t, 500*time.Millisecond)
	sa, _ := m.onRelay(t)
	lost := 0
	sendFrames(t, sa, n, func(i int) {
		if i == n/2 {
			m.relayTap.tamper(3000)
		}
	})
	waitFor(t, "all frames", func() bool { return len(m.bRec.frames(m.aKey.Public())) == n })
	checkFrames(t, m.bRec.frames(m.aKey.Public()), n)
	for _, ev := range m.bRec.all() {
		if c, ok := ev.(netlayer.SessionStateChanged); ok && c.From == netlayer.Connected && c.Reason != nil {
			lost++
			t.Logf("connection lost: %v", c.Reason)
		}
	}
	if lost == 0 {
		t.Fatal("the tampered byte did not kill the connection")
	}
}
