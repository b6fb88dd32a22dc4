package conference_test

import (
	"testing"
	"time"

	"confchat/conference/simnet"
)

// allActive reports whether every node with an engine sees want active peers.
func allActive(nodes []*simnet.Node, want int) func() bool {
	return func() bool {
		for _, x := range nodes {
			if x.ActiveCount() != want {
				return false
			}
		}
		return true
	}
}

// Mirrors conference_simple_test.c: 1 creates, invites 2; 2 on connected
// invites 3; 1 sends "hello!"; 2 and 3 receive it.
func TestSimple(t *testing.T) {
	net := simnet.New(1)
	n1, n2, n3 := net.Add("1"), net.Add("2"), net.Add("3")
	net.MakeFriends(n1, n2)
	net.MakeFriends(n2, n3)
	n2.AutoJoin, n3.AutoJoin = true, true
	n2.OnConnected = func(x *simnet.Node) {
		if err := x.Invite(n3); err != nil {
			t.Errorf("2 invites 3: %v", err)
		}
	}
	n1.Create()
	if err := n1.Invite(n2); err != nil {
		t.Fatalf("1 invites 2: %v", err)
	}
	all := []*simnet.Node{n1, n2, n3}
	if !net.RunUntil(10*time.Second, allActive(all, 3)) {
		t.Fatalf("peer counts: %d %d %d", n1.ActiveCount(), n2.ActiveCount(), n3.ActiveCount())
	}
	if err := n1.Send("hello!"); err != nil {
		t.Fatal(err)
	}
	got := func(x *simnet.Node) bool { return len(x.Texts()) == 1 && x.Texts()[0] == "hello!" }
	if !net.RunUntil(5*time.Second, func() bool { return got(n2) && got(n3) }) {
		t.Fatalf("received: 2=%q 3=%q", n2.Texts(), n3.Texts())
	}
	if !got(n1) || !n1.Received[0].Own {
		t.Fatalf("sender did not see its own message at once: %v", n1.Received)
	}
}
