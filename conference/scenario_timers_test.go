package conference_test

import (
	"fmt"
	"testing"
	"time"

	"confchat/conference"
	"confchat/conference/simnet"
)

func frozenEvents(x *simnet.Node) int {
	n := 0
	for _, ev := range x.Events {
		if _, ok := ev.(conference.PeerFrozen); ok {
			n++
		}
	}
	return n
}

// A live, idle peer is never frozen (pings every freeze-after/3), a silent
// one is frozen after freeze-after, and losing the last connection freezes
// everyone at once.
func TestFreezeTimers(t *testing.T) {
	const freezeAfter = 3 * time.Second
	net, nodes := buildChain(t, 5, 4, freezeAfter)
	before := make([]int, len(nodes))
	for i, x := range nodes {
		before[i] = frozenEvents(x)
	}
	net.Run(20 * freezeAfter)
	for i, x := range nodes {
		if frozenEvents(x) != before[i] || x.ActiveCount() != 4 {
			t.Fatalf("%s froze an idle live peer", x.Label)
		}
	}

	nodes[3].Pause() // silent, but its sessions stay up
	start := net.Now()
	if !net.RunUntil(2*freezeAfter, func() bool { return nodes[0].ActiveCount() == 3 }) {
		t.Fatal("silent peer not frozen")
	}
	if took := net.Now().Sub(start); took < freezeAfter-freezeAfter/3 || took > freezeAfter+time.Second {
		t.Fatalf("frozen after %v, freeze-after is %v", took, freezeAfter)
	}
	nodes[3].Resume()
	if !net.RunUntil(2*freezeAfter, allActive(nodes, 4)) {
		t.Fatalf("resumed peer not thawed: %v", counts(nodes))
	}

	net.Partition(nodes[:3], nodes[3:])
	if nodes[3].ActiveCount() != 1 {
		t.Fatalf("lost every connection but still sees %d", nodes[3].ActiveCount())
	}
	net.Heal()
	if !net.RunUntil(2*time.Second, allActive(nodes, 4)) {
		t.Fatalf("heal: counts %v", counts(nodes))
	}
}

// A joiner gets the last JoinHistory messages (plus names and the title)
// and keeps nothing older; later messages all arrive.
func TestJoinerGetsRecentHistory(t *testing.T) {
	net := simnet.New(8)
	net.Config.FreezeAfter = 10 * time.Second
	net.Config.JoinHistory = 20
	n := net.AddN("h", 3)
	net.Linear(n)
	n[0].Create()
	inviteAndJoin(t, net, n[0], n[1])
	_ = n[0].SetTitle("old title")
	for i := range 50 {
		_ = n[i%2].Send(fmt.Sprintf("old %d", i))
	}
	net.Run(2 * time.Second)
	inviteAndJoin(t, net, n[1], n[2])
	net.Run(3 * time.Second)
	_ = n[0].Send("new")
	net.Run(2 * time.Second)
	msgs := 0
	for _, m := range n[2].Engine.MessageSet() {
		if m.Kind == conference.KindMessage {
			msgs++
		}
	}
	if msgs != 21 {
		t.Fatalf("joiner holds %d messages, want the last 20 + 1 new", msgs)
	}
	if n[2].Engine.Title() != "old title" || n[2].Engine.Name(n[0].Key()) != "h0" {
		t.Fatalf("joiner: title %q, name %q", n[2].Engine.Title(), n[2].Engine.Name(n[0].Key()))
	}
	if got := n[2].Texts(); len(got) == 0 || got[len(got)-1] != "new" {
		t.Fatalf("joiner texts end with %v", got)
	}
}

// History sync is paced per link: a member that missed ~200 KiB fetches it
// no faster than HistoryRate allows, and gets all of it.
func TestHistoryIsPaced(t *testing.T) {
	net := simnet.New(9)
	net.Config.FreezeAfter = 3 * time.Second
	net.Config.HistoryRate = 40 * 1024
	net.Config.HistoryBurst = 16 * 1024
	n := net.AddN("p", 2)
	net.Linear(n)
	n[0].Create()
	inviteAndJoin(t, net, n[0], n[1])
	net.Partition(n[:1], n[1:])
	text := string(make([]byte, 1000))
	for i := range 200 {
		_ = n[0].Send(fmt.Sprintf("%d%s", i, text[:900]))
	}
	start := net.Now()
	net.Heal()
	if !net.RunUntil(60*time.Second, func() bool { return len(n[1].Received) >= 200 }) {
		t.Fatalf("fetched %d of 200", len(n[1].Received))
	}
	took := net.Now().Sub(start)
	min := time.Duration(float64(200*1000-16*1024) / float64(40*1024) * float64(time.Second))
	if took < min {
		t.Fatalf("fetched 200 KB in %v, faster than the %v the rate allows", took, min)
	}
	for _, m := range n[1].Received {
		if !m.Late {
			t.Fatal("a fetched message was not marked late")
		}
	}
}

// Tox §4.4: in a group of more than 5, a joiner drops its INTRODUCER
// reason once it has more than 4 online connections and hears the
// introducer through another connection, and tells the introducer (Peer
// Introduced), which drops INTRODUCING. Where the topology never brings
// the introducer's messages another way the reason stays, as in Tox; so
// the test checks that both ends always agree and that most pairs released.
func TestIntroducerReleased(t *testing.T) {
	net, nodes := buildChain(t, 59, 10, 6*time.Second)
	net.Run(20 * time.Second)
	released := 0
	for i, x := range nodes[1:] {
		r1, _ := x.Engine.ConnReasons(nodes[i].Key())
		r2, _ := nodes[i].Engine.ConnReasons(x.Key())
		if (r1&conference.ReasonIntroducer != 0) != (r2&conference.ReasonIntroducing != 0) {
			t.Fatalf("%s->%s reasons %d but back %d: ends disagree", x.Label, nodes[i].Label, r1, r2)
		}
		if r1&conference.ReasonIntroducer == 0 {
			released++
		}
	}
	if released < len(nodes)/2 {
		t.Fatalf("only %d of %d joiners released their introducer", released, len(nodes)-1)
	}
}
