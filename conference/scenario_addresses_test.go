package conference_test

import (
	"slices"
	"testing"
	"time"

	"confchat/conference"
	"confchat/conference/simnet"
)

func addressesKnown(nodes []*simnet.Node) func() bool {
	return func() bool {
		for _, x := range nodes {
			for _, p := range x.Engine.Peers() {
				if p.Self {
					continue
				}
				y := x.Net().NodeByKey(p.Key)
				if !slices.Equal(p.Addresses, y.Addresses()) {
					return false
				}
			}
		}
		return true
	}
}

// Tox's DHT key becomes an address list: every member learns every other
// member's addresses (self NEW_PEER, Peer Responses), a change is flooded,
// and the node is told so it can dial.
func TestAddressesPropagate(t *testing.T) {
	net, nodes := buildChain(t, 13, 6, 5*time.Second)
	if !net.RunUntil(5*time.Second, addressesKnown(nodes)) {
		t.Fatal("addresses not learned by everyone")
	}
	moved := []string{"203.0.113.7:4000", "[2001:db8::7]:4000"}
	nodes[2].SetAddresses(moved)
	if !net.RunUntil(5*time.Second, addressesKnown(nodes)) {
		t.Fatal("address change not learned by everyone")
	}
	for _, x := range nodes {
		if x == nodes[2] {
			continue
		}
		found := false
		for _, ev := range x.Events {
			if a, ok := ev.(conference.PeerAddressesLearned); ok && a.Key == nodes[2].Key() && slices.Equal(a.Addresses, moved) {
				found = true
			}
		}
		if !found {
			t.Fatalf("%s was not told the new addresses", x.Label)
		}
	}
}
