package conference_test

import (
	"testing"
	"time"

	"confchat/conference"
	"confchat/conference/simnet"
	"confchat/identity"
)

func mustKey(t *testing.T, b byte) *identity.KeyPair {
	t.Helper()
	seed := make([]byte, identity.SeedSize)
	seed[0] = b
	kp, err := identity.FromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// Mirrors conference_two_test.c: one profile creates two conferences, then
// shuts both down cleanly.
func TestTwoConferences(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	kp := mustKey(t, 1)
	a, err := conference.Create(conference.Config{Self: kp, GroupNumber: 0}, now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := conference.Create(conference.Config{Self: kp, GroupNumber: 1}, now)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID() == b.ID() {
		t.Fatal("two conferences share an id")
	}
	for _, e := range []*conference.Engine{a, b} {
		if !e.IsConnected() || e.ActiveCount() != 1 {
			t.Fatalf("new conference: connected=%v count=%d", e.IsConnected(), e.ActiveCount())
		}
		e.Ready()
		e.Advance()
		e.Shutdown(now)
		r := e.Ready()
		if len(r.Packets) != 0 {
			t.Fatalf("alone: shutdown sent %d packets", len(r.Packets))
		}
		if !e.NextDeadline().IsZero() {
			t.Fatal("a stopped engine still wants ticks")
		}
		if err := e.SendMessage(now, "x"); err == nil {
			t.Fatal("send after shutdown succeeded")
		}
	}
}

// Mirrors conference_double_invite_test.c: the second invite to a member is
// answered automatically and never surfaces as an invite.
func TestDoubleInvite(t *testing.T) {
	net := simnet.New(2)
	nodes := net.AddN("tox", 2)
	net.Linear(nodes)
	nodes[1].AutoJoin = true
	nodes[0].Create()
	if err := nodes[0].Invite(nodes[1]); err != nil {
		t.Fatal(err)
	}
	if !net.RunUntil(10*time.Second, allActive(nodes, 2)) {
		t.Fatal("did not join")
	}
	if err := nodes[0].Invite(nodes[1]); err != nil {
		t.Fatal(err)
	}
	net.Run(5 * time.Second)
	if len(nodes[1].Invites) != 1 {
		t.Fatalf("invite surfaced %d times, want 1", len(nodes[1].Invites))
	}
	if !allActive(nodes, 2)() {
		t.Fatal("second invite broke the conference")
	}
}

// Mirrors conference_peer_nick_test.c: names set before joining are seen by
// both; when 1 stops running, 0 drops it from its active list while names
// stay readable and consistent.
func TestPeerNick(t *testing.T) {
	net := simnet.New(3)
	nodes := net.AddN("x", 2)
	net.Linear(nodes)
	_ = nodes[0].SetName("test-tox-0")
	_ = nodes[1].SetName("test-tox-1")
	nodes[1].AutoJoin = true
	nodes[0].Create()
	if err := nodes[0].Invite(nodes[1]); err != nil {
		t.Fatal(err)
	}
	if !net.RunUntil(10*time.Second, allActive(nodes, 2)) {
		t.Fatal("did not join")
	}
	okNames := func() bool {
		return nodes[0].Engine.Name(nodes[1].Key()) == "test-tox-1" &&
			nodes[1].Engine.Name(nodes[0].Key()) == "test-tox-0"
	}
	if !net.RunUntil(5*time.Second, okNames) {
		t.Fatalf("names: %q %q", nodes[0].Engine.Name(nodes[1].Key()), nodes[1].Engine.Name(nodes[0].Key()))
	}
	nodes[1].Pause()
	for i := 0; i < 120 && nodes[0].ActiveCount() == 2; i++ {
		net.Run(time.Second)
		for _, p := range nodes[0].Engine.Peers() {
			if !p.Self && p.Name != "test-tox-1" {
				t.Fatalf("name became %q while shrinking", p.Name)
			}
		}
	}
	if nodes[0].ActiveCount() != 1 || nodes[0].Engine.FrozenCount() != 1 {
		t.Fatalf("0 still sees %d active, %d frozen", nodes[0].ActiveCount(), nodes[0].Engine.FrozenCount())
	}
}
