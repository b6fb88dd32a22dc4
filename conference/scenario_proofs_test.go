package conference_test

import (
	"testing"
	"time"

	"confchat/conference"
	"confchat/conference/simnet"
)

// TestChainJoinFloodsFewAnnouncements: with Peer Proofs a joiner holds a
// signed message of every member its introducer lists, so its first self
// announcement is Listed and the members do not answer it with NEW_PEERs
// of their own. Before, every member answered every joiner: for a chain
// of 12, 12 self announcements, 11 introducers' NEW_PEERs and about 66
// answers (one per member per join), O(n²) floods: 154 for this chain of
// 16, against 52 with proofs (the rest answer joiners that named them
// missing: a member that had just joined had signed nothing yet when its
// own joiner's introducer was asked).
func TestChainJoinFloodsFewAnnouncements(t *testing.T) {
	const n = 16
	newPeers := map[[2]uint32]bool{} // (sender, number) of every NEW_PEER flooded
	tap := func(from, to *simnet.Node, data []byte) {
		if len(data) == 0 || (data[0] != conference.PacketMessage && data[0] != conference.PacketMessageBatch) {
			return
		}
		if m, err := conference.DecodeMessage(data); err == nil && m.Kind == conference.KindNewPeer {
			newPeers[[2]uint32{uint32(m.Sender), m.Number}] = true
		}
	}
	net, nodes := buildChainTapped(t, 61, n, 60*time.Second, tap)
	start := net.Now()
	if !net.RunUntil(5*time.Second, namesComplete(nodes)) {
		t.Fatal("names incomplete 5 s after everyone listed everyone")
	}
	if d := net.Now().Sub(start); d > time.Second {
		t.Errorf("names complete %v after the peers: want under 1 s (not a ping interval)", d)
	}
	// Each joiner announces itself once and its introducer floods a
	// NEW_PEER naming it (2n); answers from the members a joiner named
	// missing are a few per join, one per member per join is not.
	if got, most := len(newPeers), 6*n; got > most {
		t.Errorf("%d NEW_PEER floods while a chain of %d formed; want at most %d", got, n, most)
	}
	t.Logf("%d NEW_PEER floods for a chain of %d", len(newPeers), n)
}
