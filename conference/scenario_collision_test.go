package conference_test

import (
	"testing"
	"time"

	"confchat/conference"
	"confchat/conference/simnet"
)

// Tox §10.2: two inviters give the same peer number to two joiners at once.
// Here the collision is detected and resolved: the larger key renumbers
// and announces itself, everyone ends with distinct numbers and both
// joiners' messages reach everyone.
func TestPeerNumberCollisionResolved(t *testing.T) {
	net := simnet.New(44)
	net.Config.FreezeAfter = 6 * time.Second
	a, b, c, d, e := net.Add("a"), net.Add("b"), net.Add("c"), net.Add("d"), net.Add("e")
	net.MakeFriends(a, b)
	net.MakeFriends(a, c)
	net.MakeFriends(b, d)
	net.MakeFriends(c, e)
	a.Create()
	inviteAndJoin(t, net, a, b)
	inviteAndJoin(t, net, a, c)
	all := []*simnet.Node{a, b, c, d, e}
	b.Engine.ForceNextPeerNumber(777)
	c.Engine.ForceNextPeerNumber(777)
	d.AutoJoin, e.AutoJoin = true, true
	if err := b.Invite(d); err != nil {
		t.Fatal(err)
	}
	if err := c.Invite(e); err != nil {
		t.Fatal(err)
	}
	if !net.RunUntil(20*time.Second, allActive(all, 5)) {
		t.Fatalf("counts %v", counts(all))
	}
	renumbered := 0
	for _, x := range []*simnet.Node{d, e} {
		for _, ev := range x.Events {
			if _, ok := ev.(conference.Renumbered); ok {
				renumbered++
			}
		}
	}
	if renumbered != 1 {
		t.Fatalf("%d joiners renumbered, want exactly 1", renumbered)
	}
	if !net.RunUntil(10*time.Second, func() bool {
		for _, x := range all {
			seen := map[uint16]bool{}
			for _, p := range x.Engine.Peers() {
				if p.Frozen || seen[p.Number] {
					return false
				}
				seen[p.Number] = true
			}
			if len(seen) != 5 {
				return false
			}
		}
		return true
	}) {
		for _, x := range all {
			t.Logf("%s: %+v", x.Label, x.Engine.Peers())
		}
		t.Fatal("peer numbers not distinct everywhere")
	}
	_ = d.Send("from d")
	_ = e.Send("from e")
	if !net.RunUntil(5*time.Second, func() bool {
		for _, x := range all {
			got := map[string]bool{}
			for _, s := range x.Texts() {
				got[s] = true
			}
			if !got["from d"] || !got["from e"] {
				return false
			}
		}
		return true
	}) {
		t.Fatal("messages of the colliding joiners not delivered everywhere")
	}
}
