package tui

import (
	crand "crypto/rand"
	"strings"
	"testing"
	"time"

	"confchat/identity"
	"confchat/node"
)

// /add with an ID alone finds it on the DHT; a message without an
// address is the message, not an address.
func TestAddFriendByIDAlone(t *testing.T) {
	f := newFakeNode()
	h := newHarness(t, f, 120, 40)
	other := identity.ID{Key: bobKey, Nospam: 7}
	h.enter("/add " + other.String() + " hi there")
	if !f.called("add " + bobKey.Short() + " dht hi there") {
		t.Fatalf("calls %q", f.calls)
	}
	h.mustSee("found " + bobKey.Short() + " on the DHT")

	f.notOnDHT = true
	h.enter("/add " + other.String())
	h.mustSee("not found on the DHT")
}

// The status line shows the DHT state: nodes and the last publish, a
// failure, and nothing with the DHT off.
func TestStatusLineShowsDHT(t *testing.T) {
	for _, c := range []struct {
		st   node.DHTStatus
		want string
	}{
		{node.DHTStatus{Enabled: true, Ready: true, Nodes: 9, PublishSeq: 3, LastPublish: time.Unix(1, 0)}, "DHT 9 nodes, published #3"},
		{node.DHTStatus{Enabled: true, Ready: true, Nodes: 4, PublishErr: "no dht nodes reachable"}, "DHT 4 nodes, publish failed"},
		{node.DHTStatus{Enabled: true, Ready: true, Nodes: 1}, "DHT 1 node"},
		{node.DHTStatus{Enabled: true}, "DHT starting"},
		{node.DHTStatus{Enabled: true, Ready: true, Error: "no dht nodes reachable"}, "DHT: no nodes"},
		{node.DHTStatus{Error: "dht listen: address in use"}, "DHT failed"},
	} {
		f := newFakeNode()
		f.self.DHT = c.st
		h := newHarness(t, f, 120, 40)
		h.mustSee(c.want)
	}
	h := newHarness(t, newFakeNode(), 120, 40)
	h.mustNotSee("DHT")
}

// /add ID ADDRESS takes a relay address as the ADDRESS word (it is what
// the welcome screen shows for a node reachable only through its relay),
// not as the first word of the request message.
func TestLooksLikeAddrRelay(t *testing.T) {
	kp, err := identity.Generate(crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key := kp.Public().String()
	for _, c := range []struct {
		in   string
		want bool
	}{
		{"127.0.0.1:7400", true},
		{"relay:" + key + "@127.0.0.1:7447", true},
		{"relay:" + key + "@127.0.0.1", false},
		{"relay:" + strings.Repeat("ab", 32) + "@127.0.0.1:7447", false}, // not a key
		{"relay:nokey@127.0.0.1:7447", false},
		{"hello", false},
		{"relay:", false},
	} {
		if got := looksLikeAddr(c.in); got != c.want {
			t.Errorf("looksLikeAddr(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

// One node is "1 node", not "1 nodes".
func TestDHTSummarySingular(t *testing.T) {
	if got := dhtSummary(node.DHTStatus{Enabled: true, Ready: true, Nodes: 1, PublishSeq: 2}); got != "DHT 1 node, published #2" {
		t.Fatalf("dhtSummary = %q", got)
	}
}
