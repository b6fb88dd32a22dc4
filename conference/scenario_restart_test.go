package conference_test

import (
	"fmt"
	"testing"
	"time"

	"confchat/conference"
	"confchat/conference/simnet"
)

func highestOwn(x *simnet.Node) uint32 {
	var hi uint32
	for _, m := range x.Engine.MessageSet() {
		if m.Origin == x.Key() && m.Number > hi {
			hi = m.Number
		}
	}
	return hi
}

func holdsAllMessages(x *simnet.Node, nodes []*simnet.Node) bool {
	want := map[conference.StoredMessage]bool{}
	for _, y := range nodes {
		if y == x || y.Engine == nil {
			continue
		}
		for _, m := range y.Engine.MessageSet() {
			if m.Kind == conference.KindMessage {
				want[m] = true
			}
		}
	}
	for _, m := range x.Engine.MessageSet() {
		delete(want, m)
	}
	return len(want) == 0
}

// restartScenario: x is killed abruptly, the others talk for longer than
// freeze-after, then x restarts from its rows only.
func restartScenario(t *testing.T, killFriend bool) {
	net, nodes := buildChain(t, 21, 6, 3*time.Second)
	x := nodes[5] // its only friend is nodes[4]
	for i := range 3 {
		if err := x.Send(fmt.Sprintf("before %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	net.Run(time.Second)
	usedBefore := x.DB.Meta().NextNumber - 1
	x.Kill()
	if killFriend {
		nodes[4].Kill()
	}
	for i := range 10 {
		for _, y := range nodes[:4] {
			if err := y.Send(fmt.Sprintf("while away %d", i)); err != nil {
				t.Fatal(err)
			}
		}
		net.Run(time.Second)
	}
	if err := x.Restart(); err != nil {
		t.Fatal(err)
	}
	others := len(nodes) - 1
	if x.ActiveCount() != 1 || x.Engine.FrozenCount() != others {
		t.Fatalf("restored: active %d frozen %d, want 1 and %d", x.ActiveCount(), x.Engine.FrozenCount(), others)
	}
	if x.Engine.NextNumber() <= usedBefore {
		t.Fatalf("next number %d reuses %d", x.Engine.NextNumber(), usedBefore)
	}
	alive := alive(nodes)
	if !net.RunUntil(20*time.Second, func() bool {
		return allActive(alive, len(alive))() && holdsAllMessages(x, alive)
	}) {
		t.Fatalf("rejoin: counts %v, holds all: %v", counts(alive), holdsAllMessages(x, alive))
	}
	late := 0
	for _, m := range x.Received {
		if m.Late && len(m.Text) > 5 && m.Text[:5] == "while" {
			late++
		}
	}
	if late != 40 {
		t.Fatalf("restarted member got %d missed messages as late, want 40", late)
	}
	before := highestOwn(x)
	if err := x.Send("after restart"); err != nil {
		t.Fatal(err)
	}
	if highestOwn(x) <= before || highestOwn(x) <= usedBefore {
		t.Fatalf("new message number %d not above %d", highestOwn(x), usedBefore)
	}
	if !net.RunUntil(5*time.Second, func() bool {
		for _, y := range alive {
			if last := y.Texts(); len(last) == 0 || last[len(last)-1] != "after restart" {
				return false
			}
		}
		return true
	}) {
		t.Fatal("message sent after restart not delivered everywhere")
	}
}

// Acceptance: a restarted member comes back from its persisted rows with all
// peers frozen, rejoins through its friend, fetches what it missed and
// never reuses a message number.
func TestRestartFromRows(t *testing.T) { restartScenario(t, false) }

// Fix for Tox §10.2: a reloaded member whose friends are all offline still
// finds the group through sessions to recently active frozen peers.
func TestRestartWithoutFriends(t *testing.T) { restartScenario(t, true) }

// A profile that lost its database but kept its key joins again: it
// self-syncs from its inviter's history before numbering anything, so it
// continues past its old numbers, nothing forks, and its messages arrive.
func TestLostDatabaseSelfSync(t *testing.T) {
	net, nodes := buildChain(t, 31, 5, 3*time.Second)
	x := nodes[4]
	for i := range 5 {
		if err := x.Send(fmt.Sprintf("old %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	net.Run(time.Second)
	usedBefore := x.DB.Meta().NextNumber - 1
	x.Kill()
	net.Run(5 * time.Second)
	x.Wipe()
	x.AutoJoin = true
	if err := nodes[3].Invite(x); err != nil {
		t.Fatal(err)
	}
	if !net.RunUntil(10*time.Second, func() bool { return x.Engine != nil && x.Engine.IsConnected() }) {
		t.Fatal("did not join again")
	}
	if err := x.Send("back again"); err != nil {
		t.Fatal(err)
	}
	if !net.RunUntil(10*time.Second, func() bool {
		for _, y := range nodes {
			if got := y.Texts(); len(got) == 0 || got[len(got)-1] != "back again" {
				return false
			}
		}
		return allActive(nodes, 5)()
	}) {
		t.Fatalf("message after rejoining not delivered: counts %v", counts(nodes))
	}
	if got := x.Received[len(x.Received)-1]; got.Number <= usedBefore {
		t.Fatalf("reused number %d (used up to %d before)", got.Number, usedBefore)
	}
	for _, y := range nodes {
		for _, ev := range y.Events {
			if f, ok := ev.(conference.ForkDetected); ok {
				t.Fatalf("%s saw a fork at %s#%d", y.Label, f.Origin.Short(), f.Number)
			}
		}
	}
}
