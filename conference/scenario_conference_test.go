package conference_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"confchat/conference/simnet"
)

const bigN = 16

// buildChain mirrors the c-toxcore harness: GRAPH_LINEAR friends, names
// "Tox #   N", 0 creates, sets the title while alone, and every member
// invites its next friend once connected.
func buildChain(t *testing.T, seed uint64, n int, freezeAfter time.Duration) (*simnet.Net, []*simnet.Node) {
	t.Helper()
	return buildChainTapped(t, seed, n, freezeAfter, nil)
}

// buildChainTapped is buildChain with tap installed before the first invite.
func buildChainTapped(t *testing.T, seed uint64, n int, freezeAfter time.Duration, tap simnet.Tap) (*simnet.Net, []*simnet.Node) {
	t.Helper()
	net := simnet.New(seed)
	net.SetTap(tap)
	net.Config.FreezeAfter = freezeAfter
	nodes := net.AddN("tox", n)
	net.Linear(nodes)
	for i, x := range nodes {
		_ = x.SetName(fmt.Sprintf("Tox #%4d", i))
		x.AutoJoin = true
		if i+1 < n {
			next := nodes[i+1]
			x.OnConnected = func(x *simnet.Node) {
				if err := x.Invite(next); err != nil {
					t.Errorf("%s invites %s: %v", x.Label, next.Label, err)
				}
			}
		}
	}
	nodes[0].Create()
	if err := nodes[0].Invite(nodes[1]); err != nil {
		t.Fatal(err)
	}
	if err := nodes[0].SetTitle("Gentoo"); err != nil {
		t.Fatal(err)
	}
	if !net.RunUntil(60*time.Second, allActive(nodes, n)) {
		t.Fatalf("chain join: counts %v", counts(nodes))
	}
	return net, nodes
}

func namesComplete(nodes []*simnet.Node) func() bool {
	return func() bool {
		for _, x := range nodes {
			for i, y := range nodes {
				if x.Engine.Name(y.Key()) != fmt.Sprintf("Tox #%4d", i) {
					return false
				}
			}
		}
		return true
	}
}

func titlesAre(nodes []*simnet.Node, title string) func() bool {
	return func() bool {
		for _, x := range nodes {
			if x.Engine.Title() != title {
				return false
			}
		}
		return true
	}
}

// Mirrors conference_test.c (16 peers): build by invite chain; title and
// all 16×16 names everywhere; max offline 4; 8 random members disconnect, 4
// of them restart; the split runs until each side has frozen the other;
// everyone reconnects to 16; a message is received exactly 16 times in
// total; members delete the conference one by one and the rest agree. The
// name-change check C had to disable runs here.
func TestConference16(t *testing.T) { conference16(t, 16) }

func conference16(t *testing.T, seed uint64) {
	net, nodes := buildChain(t, seed, bigN, 10*time.Second)
	if !net.RunUntil(10*time.Second, titlesAre(nodes, "Gentoo")) {
		t.Fatal("title not everywhere")
	}
	if !net.RunUntil(10*time.Second, namesComplete(nodes)) {
		t.Fatal("names not everywhere")
	}
	for _, x := range nodes {
		x.Engine.SetMaxFrozen(4)
	}
	rng := rand.New(rand.NewPCG(seed, 61))
	perm := rng.Perm(bigN)
	var stay, gone, restart []*simnet.Node
	for i, idx := range perm {
		switch {
		case i < 8:
			stay = append(stay, nodes[idx])
		case i < 12:
			gone = append(gone, nodes[idx])
		default:
			restart = append(restart, nodes[idx])
		}
	}
	for _, x := range restart {
		x.Shutdown()
	}
	net.Partition(stay, gone)
	if !net.RunUntil(60*time.Second, func() bool {
		for _, x := range stay {
			if x.ActiveCount() > 8 {
				return false
			}
		}
		for _, x := range gone {
			if x.ActiveCount() > 4 {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("split: stayers %v, gone %v", counts(stay), counts(gone))
	}
	for _, x := range restart {
		if err := x.Restart(); err != nil {
			t.Fatal(err)
		}
		x.Engine.SetMaxFrozen(4)
	}
	net.Heal()
	for _, x := range nodes {
		if x.Engine.FrozenCount() > 4 {
			t.Fatalf("%s has %d frozen peers, max 4", x.Label, x.Engine.FrozenCount())
		}
	}
	if !net.RunUntil(60*time.Second, allActive(nodes, bigN)) {
		t.Fatalf("reconnect: counts %v", counts(nodes))
	}

	// The rename check C disables: a rename during a split too short to
	// freeze anyone reaches everyone after the heal.
	net.Partition(nodes[:8], nodes[8:])
	_ = nodes[3].SetName("Tox #   3 renamed")
	net.Run(2 * time.Second)
	net.Heal()
	if !net.RunUntil(20*time.Second, func() bool {
		for _, x := range nodes {
			if x.Engine.Name(nodes[3].Key()) != "Tox #   3 renamed" {
				return false
			}
		}
		return true
	}) {
		t.Fatal("rename during a short split was lost")
	}
	if !net.RunUntil(20*time.Second, allActive(nodes, bigN)) {
		t.Fatalf("after short split: counts %v", counts(nodes))
	}

	before := make([]int, bigN)
	for i, x := range nodes {
		before[i] = len(x.Received)
	}
	sender := nodes[rng.IntN(bigN)]
	if err := sender.Send("Install Gentoo"); err != nil {
		t.Fatal(err)
	}
	net.Run(32 * 200 * time.Millisecond)
	total := 0
	for i, x := range nodes {
		got := len(x.Received) - before[i]
		if got != 1 {
			t.Errorf("%s received %d copies", x.Label, got)
		}
		total += got
	}
	if total != bigN {
		t.Fatalf("total receptions %d, want %d", total, bigN)
	}

	for k := bigN; k > 1; k-- {
		nodes[k-1].Leave()
		rest := nodes[:k-1]
		if !net.RunUntil(5*time.Second, allActive(rest, k-1)) {
			t.Fatalf("after %d left: counts %v", bigN-k+1, counts(rest))
		}
	}
}
