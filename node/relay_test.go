package node

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"confchat/identity"
	"confchat/netlayer"
	"confchat/relay"
	"confchat/storage"
)

// startRelay runs a relay server on loopback until stop (or the test's
// end).
func startRelay(t testing.TB) (a relay.Addr, stop func()) {
	t.Helper()
	kp, err := identity.Generate(crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := relay.NewServer(relay.Config{Key: kp})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	stop = func() {
		srv.Close()
		<-done
	}
	t.Cleanup(stop)
	return relay.Addr{Key: kp.Public(), HostPort: ln.Addr().String()}, stop
}

// closedAddr is a loopback address nothing listens on: a port the test
// bound and released.
func closedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

// openRelayed opens a node that registers at relays and advertises only
// a direct address nobody answers, so peers reach it through a relay.
func openRelayed(t testing.TB, dir, name string, relays ...relay.Addr) *Node {
	t.Helper()
	n, err := Open(context.Background(), Config{Profile: dir, Listen: "127.0.0.1:0", Name: name,
		Advertise: []string{closedAddr(t)}, Relays: relays, FreezeAfter: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func waitRegistered(t testing.TB, n *Node) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := n.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		up := len(st.Relays) > 0
		for _, r := range st.Relays {
			up = up && r.Registered
		}
		if up {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not registered at every relay: %+v", st.Relays)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAnnouncedAddresses: our relays follow the direct addresses, within
// the packet's address limit, relays capped.
func TestAnnouncedAddresses(t *testing.T) {
	var rs []relay.Addr
	for i := range 5 {
		rs = append(rs, relay.Addr{Key: identity.PublicKey{byte(i + 1)}, HostPort: "r.example:7447"})
	}
	direct := []string{"a:1", "b:1", "c:1", "d:1", "e:1", "f:1", "g:1", "h:1", "a:1"}
	got := announced(direct, rs)
	if len(got) != 8 || got[4] != "e:1" || got[5] != rs[0].String() || got[7] != rs[2].String() {
		t.Fatalf("announced = %q", got)
	}
	if got := announced([]string{"a:1"}, nil); !slices.Equal(got, []string{"a:1"}) {
		t.Fatalf("announced without relays = %q", got)
	}
}

// TestFriendsThroughRelay: two nodes whose advertised direct addresses
// do not answer befriend through the relay both register at, chat in a
// conference over it, and the route is reported, listed and stored as
// "relay". Each announces the relay, and learns the other's.
func TestFriendsThroughRelay(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	ra, stopRelay := startRelay(t)
	defer stopRelay()
	dirA, dirB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	a, b := openRelayed(t, dirA, "alice", ra), openRelayed(t, dirB, "bob", ra)
	subA, subB := a.Subscribe(), b.Subscribe()
	waitRegistered(t, a)
	waitRegistered(t, b)
	meA, _ := a.Self(ctx)
	meB, _ := b.Self(ctx)
	if !slices.Contains(meA.Addresses, ra.String()) || relay.IsAddr(meA.Addresses[0]) {
		t.Fatalf("alice announces %q, want her direct address, then %s", meA.Addresses, ra)
	}
	if err := a.AddFriend(ctx, meB.ID, meB.Addresses[0], "via relay"); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, subB, 10*time.Second, func(ev Event) bool { _, ok := ev.(FriendRequestReceived); return ok })
	if err := b.AcceptFriend(ctx, meA.Key); err != nil {
		t.Fatal(err)
	}
	on := waitEvent(t, subA, 10*time.Second, func(ev Event) bool {
		o, ok := ev.(FriendOnline)
		return ok && o.Friend == meB.Key
	}).(FriendOnline)
	if on.Route != netlayer.RouteRelay {
		t.Fatalf("friend online on route %v, want relay", on.Route)
	}
	fs, err := b.Friends(ctx)
	if err != nil || len(fs) != 1 || fs[0].Route != netlayer.RouteRelay || fs[0].Switch != "" ||
		!slices.Contains(fs[0].Addresses, ra.String()) {
		t.Fatalf("bob's friends = %+v, %v", fs, err)
	}

	conf, err := a.CreateConference(ctx, "relayed")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Invite(ctx, conf, meB.Key); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, subB, 10*time.Second, func(ev Event) bool { i, ok := ev.(ConferenceInvited); return ok && i.Conference == conf })
	if err := b.Join(ctx, conf); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, subB, 10*time.Second, func(ev Event) bool { _, ok := ev.(ConferenceJoined); return ok })
	if _, err := a.Send(ctx, conf, "over the relay", false); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, subB, 10*time.Second, func(ev Event) bool {
		m, ok := ev.(MessageReceived)
		return ok && m.Message.Text == "over the relay"
	})
	st, err := a.Status(ctx)
	if err != nil || len(st.Routes) != 1 || st.Routes[0].Route != netlayer.RouteRelay {
		t.Fatalf("alice's status = %+v, %v", st, err)
	}
	subA.Close()
	subB.Close()
	closeNode(t, a)
	closeNode(t, b)

	db, err := storage.Open(ctx, dirA)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rs, err := db.Routes(ctx)
	if err != nil || len(rs) != 1 || rs[0].Key != meB.Key || rs[0].Switch != "" {
		t.Fatalf("alice's stored routes = %+v, %v", rs, err)
	}
}

// TestRestartAbandonsSwitch: a switch the database shows in progress
// (the node died mid-switch) is abandoned when the node opens again, and
// the route row says how it ended.
func TestRestartAbandonsSwitch(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "a")
	db, err := storage.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	peer := identity.PublicKey{9}
	err = db.PutRoute(ctx, storage.Route{Key: peer, Route: "relay", Switch: SwitchSwitching,
		SwitchStarted: time.UnixMilli(5), UpdatedAt: time.UnixMilli(5)})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	n := openNode(t, dir, "alice")
	closeNode(t, n)
	db, err = storage.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rs, err := db.Routes(ctx)
	if err != nil || len(rs) != 1 || rs[0].Switch != "" || rs[0].LastSwitch != SwitchFailedPrefix+restartReason {
		t.Fatalf("routes after restart = %+v, %v", rs, err)
	}
}

// TestSwitchStatusRecorded: the phases netlayer reports move through the
// session's switch status: the start is kept while it runs, a finished
// switch is "done", a failed one keeps its reason, and a session closed
// mid-switch leaves no switch in progress.
func TestSwitchStatusRecorded(t *testing.T) {
	p := newPair(t)
	defer p.close(t)
	ctx := context.Background()
	phase := func(n *Node, key identity.PublicKey, route netlayer.Route, ph string) {
		t.Helper()
		var sw netlayer.Switch
		if err := sw.UnmarshalText([]byte(ph)); err != nil {
			t.Fatal(err)
		}
		ev := netlayer.SessionRouteChanged{Peer: key, Route: route, Switch: sw, RemoteAddr: "127.0.0.1:1"}
		if err := n.do(ctx, func(time.Time) error { n.routeEvent(ev); return nil }); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, p.subA, 5*time.Second, func(ev Event) bool {
			r, ok := ev.(RouteChanged)
			return ok && r.Peer == key && r.Switch == ph && r.Route == route
		})
	}
	stored := func() storage.Route {
		t.Helper()
		var r storage.Route
		err := p.a.do(ctx, func(time.Time) error {
			rs, err := p.a.db.Routes(p.a.qctx)
			for _, x := range rs {
				if x.Key == p.meB.Key {
					r = x
				}
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	phase(p.a, p.meB.Key, netlayer.RouteDirect, SwitchSwitching)
	if r := stored(); r.Switch != SwitchSwitching || r.SwitchStarted.IsZero() || r.Route != "direct" {
		t.Fatalf("stored while switching: %+v", r)
	}
	if st, _ := p.a.Status(ctx); len(st.Routes) != 1 || st.Routes[0].Switch != SwitchSwitching {
		t.Fatalf("status while switching: %+v", st.Routes)
	}
	phase(p.a, p.meB.Key, netlayer.RouteRelay, SwitchNone)
	if r := stored(); r.Switch != "" || r.LastSwitch != "done" || r.Route != "relay" {
		t.Fatalf("stored after the switch: %+v", r)
	}
	phase(p.a, p.meB.Key, netlayer.RouteRelay, SwitchSwitching)
	phase(p.a, p.meB.Key, netlayer.RouteRelay, SwitchFailedPrefix+"direct path died")
	if r := stored(); r.Switch != "" || r.LastSwitch != SwitchFailedPrefix+"direct path died" {
		t.Fatalf("stored after a failed switch: %+v", r)
	}
	if fs, _ := p.a.Friends(ctx); fs[0].Switch != SwitchFailedPrefix+"direct path died" {
		t.Fatalf("friend list after a failed switch: %+v", fs[0])
	}
	phase(p.a, p.meB.Key, netlayer.RouteRelay, SwitchSwitching)
	if err := p.a.do(ctx, func(time.Time) error { n := p.a; n.sessionGone(p.meB.Key, n.sessions[p.meB.Key]); return nil }); err != nil {
		t.Fatal(err)
	}
	if r := stored(); r.Switch != "" || r.LastSwitch != SwitchFailedPrefix+"session closed" {
		t.Fatalf("stored after the session closed mid-switch: %+v", r)
	}
}

// TestFriendRequestToPeersRelay: alice and bob register at different
// relays; alice asks bob at the relay address bob announces (a friend
// request may name one), so the session runs through bob's relay, and bob
// then reaches alice through hers or his.
func TestFriendRequestToPeersRelay(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	r1, stop1 := startRelay(t)
	defer stop1()
	r2, stop2 := startRelay(t)
	defer stop2()
	a := openRelayed(t, filepath.Join(t.TempDir(), "a"), "alice", r1)
	b := openRelayed(t, filepath.Join(t.TempDir(), "b"), "bob", r2)
	subA, subB := a.Subscribe(), b.Subscribe()
	waitRegistered(t, a)
	waitRegistered(t, b)
	meA, _ := a.Self(ctx)
	meB, _ := b.Self(ctx)
	if err := a.AddFriend(ctx, meB.ID, "relay:"+r2.Key.String()+"@", ""); err == nil {
		t.Fatal("a malformed relay address was accepted")
	}
	if err := a.AddFriend(ctx, meB.ID, r2.String(), ""); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, subB, 10*time.Second, func(ev Event) bool { _, ok := ev.(FriendRequestReceived); return ok })
	if err := b.AcceptFriend(ctx, meA.Key); err != nil {
		t.Fatal(err)
	}
	on := waitEvent(t, subA, 10*time.Second, func(ev Event) bool {
		o, ok := ev.(FriendOnline)
		return ok && o.Friend == meB.Key
	}).(FriendOnline)
	if on.Route != netlayer.RouteRelay {
		t.Fatalf("route %v, want relay", on.Route)
	}
	fs, _ := b.Friends(ctx)
	if len(fs) != 1 || !slices.Contains(fs[0].Addresses, r1.String()) {
		t.Fatalf("bob's friends = %+v: alice's relay not learned", fs)
	}
	subA.Close()
	subB.Close()
	closeNode(t, a)
	closeNode(t, b)
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRelayReRegisters: when the relay goes away the node logs the lost
// registration and keeps running; when a relay with the same key comes
// back on the same address, the node registers again on its own.
func TestRelayReRegisters(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	kp, err := identity.Generate(crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serve := func(addr string) (net.Addr, func()) {
		t.Helper()
		srv, err := relay.NewServer(relay.Config{Key: kp})
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			srv.Serve(ln)
		}()
		return ln.Addr(), func() { srv.Close(); <-done }
	}
	bound, stop := serve("127.0.0.1:0")
	ra := relay.Addr{Key: kp.Public(), HostPort: bound.String()}
	logs := &syncBuffer{}
	n, err := Open(ctx, Config{Profile: filepath.Join(t.TempDir(), "a"), Listen: "127.0.0.1:0",
		Relays: []relay.Addr{ra}, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer closeNode(t, n)
	waitRegistered(t, n)
	stop()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "relay registration lost") {
		if time.Now().After(deadline) {
			t.Fatalf("no log of the lost registration:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st, err := n.Status(ctx); err != nil || st.Relays[0].Registered {
		t.Fatalf("status after the relay went away: %+v, %v", st.Relays, err)
	}
	_, stop = serve(bound.String())
	defer stop()
	waitRegistered(t, n)
	deadline = time.Now().Add(10 * time.Second)
	for strings.Count(logs.String(), "registered with relay") != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("want 2 registrations logged:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// befriendNodes makes a ask b and b accept, and waits until a sees b
// online.
func befriendNodes(t testing.TB, a, b *Node, subA, subB *Subscription) {
	t.Helper()
	ctx := context.Background()
	meA, _ := a.Self(ctx)
	meB, _ := b.Self(ctx)
	if err := a.AddFriend(ctx, meB.ID, meB.Addresses[0], ""); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, subB, 10*time.Second, func(ev Event) bool {
		r, ok := ev.(FriendRequestReceived)
		return ok && r.From == meA.Key
	})
	if err := b.AcceptFriend(ctx, meA.Key); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, subA, 10*time.Second, func(ev Event) bool { o, ok := ev.(FriendOnline); return ok && o.Friend == meB.Key })
}

// TestConferencePeersMeetThroughRelay: bob and carol are not friends and
// cannot reach each other's direct addresses; they learn each other's
// relay from alice's conference announcements and open their session
// through it, which carries their own messages.
func TestConferencePeersMeetThroughRelay(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	r1, stop1 := startRelay(t)
	defer stop1()
	r2, stop2 := startRelay(t)
	defer stop2()
	// alice registers at both relays; bob only at r1, carol only at r2,
	// so bob reaches carol only through the relay carol announced.
	a := openRelayed(t, filepath.Join(t.TempDir(), "a"), "alice", r1, r2)
	b := openRelayed(t, filepath.Join(t.TempDir(), "b"), "bob", r1)
	c := openRelayed(t, filepath.Join(t.TempDir(), "c"), "carol", r2)
	subA, subB, subC := a.Subscribe(), b.Subscribe(), c.Subscribe()
	for _, n := range []*Node{a, b, c} {
		waitRegistered(t, n)
	}
	befriendNodes(t, b, a, subB, subA) // bob dials alice's relays (r1 answers)
	befriendNodes(t, c, a, subC, subA)
	conf, err := a.CreateConference(ctx, "three")
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		n   *Node
		sub *Subscription
	}{{b, subB}, {c, subC}} {
		me, _ := x.n.Self(ctx)
		if err := a.Invite(ctx, conf, me.Key); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, x.sub, 10*time.Second, func(ev Event) bool { i, ok := ev.(ConferenceInvited); return ok && i.Conference == conf })
		if err := x.n.Join(ctx, conf); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, x.sub, 10*time.Second, func(ev Event) bool { _, ok := ev.(ConferenceJoined); return ok })
	}
	meC, _ := c.Self(ctx)
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := b.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		up := false
		for _, r := range st.Routes {
			up = up || (r.Peer == meC.Key && r.Route == netlayer.RouteRelay)
		}
		if up {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bob has no relayed session to carol: %+v", st.Routes)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := c.Send(ctx, conf, "carol via her relay", false); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, subB, 10*time.Second, func(ev Event) bool {
		m, ok := ev.(MessageReceived)
		return ok && m.Message.Text == "carol via her relay"
	})
	for _, s := range []*Subscription{subA, subB, subC} {
		s.Close()
	}
	for _, n := range []*Node{a, b, c} {
		closeNode(t, n)
	}
}

// TestMigratesToLearnedDirect: alice asks bob at his relay line; bob's
// direct address, which answers, arrives only in his accept. The live
// relayed session gets it as a candidate and migrates to it.
func TestMigratesToLearnedDirect(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	r, stop := startRelay(t)
	defer stop()
	a := openRelayed(t, filepath.Join(t.TempDir(), "a"), "alice", r)
	b, err := Open(ctx, Config{Profile: filepath.Join(t.TempDir(), "b"), Listen: "127.0.0.1:0", Name: "bob",
		Relays: []relay.Addr{r}, FreezeAfter: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	subA, subB := a.Subscribe(), b.Subscribe()
	waitRegistered(t, a)
	waitRegistered(t, b)
	meA, _ := a.Self(ctx)
	meB, _ := b.Self(ctx)
	if err := a.AddFriend(ctx, meB.ID, r.String(), ""); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, subB, 10*time.Second, func(ev Event) bool { _, ok := ev.(FriendRequestReceived); return ok })
	if err := b.AcceptFriend(ctx, meA.Key); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, subA, 10*time.Second, func(ev Event) bool {
		rc, ok := ev.(RouteChanged)
		return ok && rc.Peer == meB.Key && rc.Route == netlayer.RouteRelay
	})
	waitEvent(t, subA, 30*time.Second, func(ev Event) bool {
		rc, ok := ev.(RouteChanged)
		return ok && rc.Peer == meB.Key && rc.Route == netlayer.RouteDirect && rc.Switch == ""
	})
	subA.Close()
	subB.Close()
	closeNode(t, a)
	closeNode(t, b)
}
