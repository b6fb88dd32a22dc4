package conference_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"confchat/conference"
	"confchat/conference/simnet"
)

// converged reports whether all nodes hold the same message set, names and
// title, and see everyone active.
func converged(nodes []*simnet.Node) func() bool {
	return func() bool {
		if !allActive(nodes, len(nodes))() {
			return false
		}
		ref := nodes[0].Engine
		set := ref.MessageSet()
		for _, x := range nodes[1:] {
			if x.Engine.Title() != ref.Title() || !slices.Equal(x.Engine.MessageSet(), set) {
				return false
			}
			for _, y := range nodes {
				if x.Engine.Name(y.Key()) != ref.Name(y.Key()) {
					return false
				}
			}
		}
		return true
	}
}

func diverged(nodes []*simnet.Node) string {
	ref := nodes[0].Engine.MessageSet()
	s := fmt.Sprintf("counts %v; %s holds %d msgs, title %q;", counts(nodes), nodes[0].Label, len(ref), nodes[0].Engine.Title())
	for _, x := range nodes[1:] {
		ms := x.Engine.MessageSet()
		if !slices.Equal(ms, ref) {
			s += fmt.Sprintf(" %s holds %d;", x.Label, len(ms))
		}
		if x.Engine.Title() != nodes[0].Engine.Title() {
			s += fmt.Sprintf(" %s title %q;", x.Label, x.Engine.Title())
		}
	}
	return s
}

// Acceptance: split a 16-peer conference into halves for longer than
// freeze-after, both halves keep sending (messages, renames, titles);
// within 2 s of the heal everyone sees 16 active peers and holds the same
// message set, names and title.
func TestSplitHealConverges(t *testing.T) {
	net, nodes := buildChain(t, 7, bigN, 5*time.Second)
	net.Run(2 * time.Second)
	a, b := nodes[:8], nodes[8:]
	net.Partition(a, b)
	if !net.RunUntil(20*time.Second, func() bool {
		return allActive(a, 8)() && allActive(b, 8)()
	}) {
		t.Fatalf("halves did not freeze each other: %v", counts(nodes))
	}
	for round := range 5 {
		for i, x := range nodes {
			if err := x.Send(fmt.Sprintf("split msg %d from %d", round, i)); err != nil {
				t.Fatal(err)
			}
		}
		net.Run(500 * time.Millisecond)
	}
	_ = a[2].SetName("renamed in A")
	_ = b[5].SetName("renamed in B")
	_ = a[1].SetTitle("title from A")
	_ = b[1].SetTitle("title from B")
	net.Run(time.Second)
	_ = b[2].SetTitle("second title from B") // stamp 3: B saw its half's stamp 2
	net.Run(8 * time.Second)
	if ok, _ := split(a, b); !ok {
		t.Fatal("halves saw each other during the split")
	}
	net.Heal()
	if !net.RunUntil(2*time.Second, converged(nodes)) {
		t.Fatalf("not converged 2 s after heal: %s", diverged(nodes))
	}
	for _, x := range nodes {
		if x.Engine.Title() != "second title from B" {
			t.Fatalf("title %q: the higher Lamport stamp must win", x.Engine.Title())
		}
		if x.Engine.Name(a[2].Key()) != "renamed in A" || x.Engine.Name(b[5].Key()) != "renamed in B" {
			t.Fatal("renames lost")
		}
		n := 0
		for _, m := range x.Engine.MessageSet() {
			if m.Kind == conference.KindMessage {
				n++
			}
		}
		if n != 5*bigN {
			t.Fatalf("%s holds %d messages, want %d", x.Label, n, 5*bigN)
		}
	}
}

func split(a, b []*simnet.Node) (bool, string) {
	for _, x := range a {
		for _, y := range b {
			for _, p := range x.Engine.Peers() {
				if p.Key == y.Key() && !p.Frozen {
					return false, x.Label + " sees " + y.Label
				}
			}
		}
	}
	return true, ""
}
