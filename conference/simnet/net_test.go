package simnet

import (
	"testing"
	"time"

	"confchat/conference"
)

// sendInvites sends n invites numbered by group number from a to b and
// returns the group numbers b received, in order.
func sendInvites(t *testing.T, net *Net, a, b *Node, n int) []uint16 {
	t.Helper()
	b.Invites = nil
	var id conference.ID
	for i := range n {
		net.send(a, b.Key(), (&conference.InvitePacket{InviterGroup: uint16(i), ID: id}).Encode(), 1)
	}
	net.Run(5 * time.Second)
	var out []uint16
	for _, inv := range b.Invites {
		p, err := conference.DecodeCookie(inv.Cookie)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.InviterGroup)
	}
	return out
}

func pair2(seed uint64) (*Net, *Node, *Node) {
	net := New(seed)
	a, b := net.Add("a"), net.Add("b")
	net.MakeFriends(a, b)
	return net, a, b
}

func inOrder(xs []uint16) bool {
	for i := 1; i < len(xs); i++ {
		if xs[i] < xs[i-1] {
			return false
		}
	}
	return true
}

func TestLinkProperties(t *testing.T) {
	net, a, b := pair2(1)
	net.SetAllLinks(LinkConfig{Latency: 5 * time.Millisecond, Jitter: 30 * time.Millisecond})
	if got := sendInvites(t, net, a, b, 200); len(got) != 200 || !inOrder(got) {
		t.Fatalf("jitter without reorder: %d packets, in order %v", len(got), inOrder(got))
	}
	net.SetAllLinks(LinkConfig{Latency: 5 * time.Millisecond, Jitter: 30 * time.Millisecond, Reorder: true})
	if got := sendInvites(t, net, a, b, 200); len(got) != 200 || inOrder(got) {
		t.Fatalf("reorder: %d packets, in order %v", len(got), inOrder(got))
	}
	net.SetAllLinks(LinkConfig{Latency: time.Millisecond, Loss: 0.3})
	if got := sendInvites(t, net, a, b, 1000); len(got) < 600 || len(got) > 800 {
		t.Fatalf("30%% loss delivered %d of 1000", len(got))
	}
	net.SetAllLinks(LinkConfig{Latency: time.Millisecond, Dup: 0.5})
	if got := sendInvites(t, net, a, b, 1000); len(got) < 1400 || len(got) > 1600 {
		t.Fatalf("50%% duplication delivered %d of 1000", len(got))
	}
	net.SetAllLinks(LinkConfig{Latency: time.Millisecond})
	net.Partition([]*Node{a}, []*Node{b})
	if got := sendInvites(t, net, a, b, 10); len(got) != 0 {
		t.Fatalf("partition delivered %d", len(got))
	}
	net.Heal()
	if got := sendInvites(t, net, a, b, 10); len(got) != 10 {
		t.Fatalf("after heal delivered %d", len(got))
	}
}

// Packets in flight when a session goes down are lost, like a real
// connection's unacknowledged data when a session is replaced.
func TestSessionDownLosesInFlight(t *testing.T) {
	net, a, b := pair2(2)
	net.SetAllLinks(LinkConfig{Latency: 100 * time.Millisecond})
	var id conference.ID
	net.send(a, b.Key(), (&conference.InvitePacket{ID: id}).Encode(), 1)
	net.Partition([]*Node{a}, []*Node{b})
	net.Heal()
	net.Run(time.Second)
	if len(b.Invites) != 0 {
		t.Fatal("a packet survived its session")
	}
}
