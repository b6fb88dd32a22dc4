package conference_test

import (
	"encoding/binary"
	"testing"
	"time"

	"confchat/conference"
)

// An origin that signs two different messages with one number (a forked
// profile) is resolved the same way everywhere: the version with the
// smaller SHA-256 wins, the origin is flagged, and all members converge.
func TestForkResolvedEverywhere(t *testing.T) {
	net, nodes := buildChain(t, 17, 8, 5*time.Second)
	x := nodes[0]
	id := x.Engine.ID()
	n := x.Engine.NextNumber() + 10
	mk := func(text string, to int) []byte {
		body := binary.BigEndian.AppendUint32(nil, 0)
		body = append(body, text...)
		sig := x.KeyPair().Sign(conference.SignedBytes(id, x.Key(), n, conference.KindMessage, body))
		return (&conference.MessagePacket{Group: nodes[to].GroupNumber(), Sender: x.Engine.SelfNumber(),
			Number: n, Kind: conference.KindMessage, Body: body, Auth: sig}).Encode()
	}
	// Two forked versions enter the group at two members at once, each from
	// one of that member's online connections.
	for to, text := range map[int]string{1: "version A", 5: "version B"} {
		peers := nodes[to].Engine.ConnectedPeers()
		if len(peers) == 0 {
			t.Fatalf("%s has no online connection", nodes[to].Label)
		}
		net.Inject(net.NodeByKey(peers[0]), nodes[to], mk(text, to))
	}
	agree := func() bool {
		var h uint64
		for i, y := range nodes[1:] {
			found := false
			for _, m := range y.Engine.MessageSet() {
				if m.Origin == x.Key() && m.Number == n {
					if i > 0 && m.Fingerprint != h {
						return false
					}
					h, found = m.Fingerprint, true
				}
			}
			if !found {
				return false
			}
		}
		return true
	}
	if !net.RunUntil(10*time.Second, agree) {
		t.Fatal("members keep different versions of the forked number")
	}
	flagged := 0
	for _, y := range nodes[1:] {
		for _, ev := range y.Events {
			if f, ok := ev.(conference.ForkDetected); ok && f.Origin == x.Key() && f.Number == n {
				flagged++
				break
			}
		}
	}
	if flagged == 0 {
		t.Fatal("nobody flagged the fork")
	}
	if !net.RunUntil(5*time.Second, func() bool { return x.Engine.NextNumber() > n }) {
		t.Fatalf("the forked origin did not move past %d (next %d)", n, x.Engine.NextNumber())
	}
}
