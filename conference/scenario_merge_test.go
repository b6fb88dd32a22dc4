package conference_test

import (
	"testing"
	"time"

	"confchat/conference/simnet"
)

func alive(nodes []*simnet.Node) []*simnet.Node {
	var out []*simnet.Node
	for _, x := range nodes {
		if x.Alive() && x.Engine != nil {
			out = append(out, x)
		}
	}
	return out
}

func counts(nodes []*simnet.Node) []int {
	var out []int
	for _, x := range nodes {
		out = append(out, x.ActiveCount())
	}
	return out
}

// waitAgree runs until every alive node sees exactly the alive nodes.
func waitAgree(t *testing.T, net *simnet.Net, nodes []*simnet.Node, max time.Duration, step string) {
	t.Helper()
	al := alive(nodes)
	if !net.RunUntil(max, allActive(al, len(al))) {
		t.Fatalf("%s: peer counts %v, want all %d", step, counts(al), len(al))
	}
}

func inviteAndJoin(t *testing.T, net *simnet.Net, from, to *simnet.Node) {
	t.Helper()
	to.AutoJoin = true
	if err := from.Invite(to); err != nil {
		t.Fatalf("%s invites %s: %v", from.Label, to.Label, err)
	}
	if !net.RunUntil(10*time.Second, func() bool { return to.Engine != nil && to.Engine.IsConnected() }) {
		t.Fatalf("%s did not join through %s", to.Label, from.Label)
	}
}

// Mirrors conference_invite_merge_test.c: two components that share a
// conference merge through an invite to an existing member (member
// response); a member reloaded from an early save rejoins the same way.
func TestInviteMerge(t *testing.T) {
	net := simnet.New(4)
	net.Config.FreezeAfter = 6 * time.Second
	n := net.AddN("t", 5)
	net.Linear(n)
	net.Block(n[0], n[2]) // 0 only reaches the group through 1, as in C
	n[2].Create()
	early := n[2].Snapshot()
	inviteAndJoin(t, net, n[2], n[1])
	inviteAndJoin(t, net, n[1], n[0])
	waitAgree(t, net, n, 10*time.Second, "0,1,2 joined")

	n[1].Kill()
	if !net.RunUntil(30*time.Second, func() bool { return n[2].ActiveCount() == 1 }) {
		t.Fatalf("2 still sees %d peers", n[2].ActiveCount())
	}
	inviteAndJoin(t, net, n[2], n[3])
	inviteAndJoin(t, net, n[3], n[4])
	n[2].Kill()
	if err := n[1].Restart(); err != nil {
		t.Fatal(err)
	}
	if n[1].ActiveCount() != 1 || n[1].Engine.FrozenCount() != 2 {
		t.Fatalf("reloaded 1: active %d frozen %d", n[1].ActiveCount(), n[1].Engine.FrozenCount())
	}
	net.MakeFriends(n[1], n[3])
	if err := n[1].Invite(n[3]); err != nil {
		t.Fatal(err)
	}
	waitAgree(t, net, n, 30*time.Second, "components {0,1} and {3,4} merged")

	if err := n[2].RestartFrom(early); err != nil {
		t.Fatal(err)
	}
	if err := n[2].Invite(n[1]); err != nil {
		t.Fatal(err)
	}
	waitAgree(t, net, n, 30*time.Second, "2 reloaded from its early save")

	// 2 came back from its early save, so its FREEZE reuses number 4,
	// which 0 saw from it before (0 reaches 2 only through 1, so no
	// NUMBER HINT told 2 to move past it): 0 drops it as seen and freezes
	// 2 when 2 falls silent; the others freeze it at once.
	n[2].Shutdown()
	waitAgree(t, net, n, net.Config.FreezeAfter+2*time.Second, "2 shut down (FREEZE)")

	if err := n[2].Restart(); err != nil {
		t.Fatal(err)
	}
	if err := n[1].Invite(n[2]); err != nil {
		t.Fatal(err)
	}
	waitAgree(t, net, n, 30*time.Second, "2 reloaded again")
	if len(n[2].Invites) != 0 {
		t.Fatalf("member 2 surfaced %d invites", len(n[2].Invites))
	}
}
