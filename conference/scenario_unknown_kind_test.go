package conference_test

import (
	"testing"
	"time"

	"confchat/conference"
	"confchat/conference/simnet"
)

// Fix for Tox §10.2: a validly signed message of a kind this version does
// not know is relayed to everyone (so new kinds need no relay upgrades),
// and a forged one is not.
func TestUnknownKindsAreRelayed(t *testing.T) {
	net, nodes := buildChain(t, 27, 8, 10*time.Second)
	x := nodes[2]
	id := x.Engine.ID()
	const kind = 0x55
	reached := map[*simnet.Node]bool{}
	net.SetTap(func(from, to *simnet.Node, data []byte) {
		if len(data) > 10 && (data[0] == conference.PacketMessage || data[0] == conference.PacketMessageBatch) && data[9] == kind {
			reached[to] = true
		}
	})
	send := func(number uint32, sig []byte) {
		body := []byte("future feature payload")
		if sig == nil {
			sig = x.KeyPair().Sign(conference.SignedBytes(id, x.Key(), number, kind, body))
		}
		peers := x.Engine.ConnectedPeers()
		if len(peers) == 0 {
			t.Fatal("origin has no online connection")
		}
		to := net.NodeByKey(peers[0])
		pkt := &conference.MessagePacket{Group: to.GroupNumber(), Sender: x.Engine.SelfNumber(),
			Number: number, Kind: kind, Body: body, Auth: sig}
		net.Inject(x, to, pkt.Encode())
	}
	send(x.Engine.NextNumber()+100, make([]byte, 64)) // forged
	net.Run(time.Second)
	if len(reached) > 1 {
		t.Fatalf("a forged unknown-kind message was relayed to %d members", len(reached))
	}
	send(x.Engine.NextNumber()+101, nil)
	net.Run(time.Second)
	for _, y := range nodes {
		if y != x && !reached[y] {
			t.Fatalf("%s never got the unknown-kind message", y.Label)
		}
	}
	if !allActive(nodes, 8)() {
		t.Fatal("an unknown kind disturbed the conference")
	}
}
