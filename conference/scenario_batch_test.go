package conference_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"confchat/conference"
	"confchat/conference/simnet"
)

// A burst sent in one step is sealed with one signature per 64 messages.
// Its records verify on their own everywhere: relayed along a chain to a
// third node, restored from a member's rows after a restart, and fetched
// by history sync from that restored member by a member that was away.
// Nobody sees a fork, and everyone ends with the same message set.
func TestBatchedRunRelayedSyncedRestarted(t *testing.T) {
	net, nodes := buildChain(t, 41, 5, 3*time.Second)
	a, mid, far := nodes[0], nodes[3], nodes[4]
	far.Kill() // away: it fetches the burst by history sync later
	net.Run(time.Second)
	var texts []string
	for i := range 100 {
		texts = append(texts, fmt.Sprintf("burst %d", i))
	}
	before := a.Engine.SignCount()
	if err := a.SendBurst(texts...); err != nil {
		t.Fatal(err)
	}
	if got := a.Engine.SignCount() - before; got != 2 {
		t.Fatalf("a burst of 100 took %d signatures, want 2", got)
	}
	got := func(x *simnet.Node) int {
		n := 0
		for _, s := range x.Texts() {
			if strings.HasPrefix(s, "burst ") {
				n++
			}
		}
		return n
	}
	if !net.RunUntil(5*time.Second, func() bool { return got(nodes[1]) == 100 && got(mid) == 100 }) {
		t.Fatalf("relayed burst: %d and %d of 100", got(nodes[1]), got(mid))
	}
	if !slices.Equal(nodes[2].Texts()[len(nodes[2].Texts())-100:], texts) {
		t.Fatal("relayed burst shown out of order")
	}
	id := a.Engine.ID()
	recs := mid.DB.Range(a.Key(), 1, 1<<30, 1000)
	batched := 0
	for _, rec := range recs {
		if !rec.Verify(id) {
			t.Fatalf("stored record %d does not verify at a third node", rec.Number)
		}
		if len(rec.Signature) != 64 {
			batched++
		}
	}
	if batched < 100 {
		t.Fatalf("%d of a's stored records carry a batch auth, want ≥ 100", batched)
	}
	mid.Kill()
	if err := mid.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := far.Restart(); err != nil {
		t.Fatal(err)
	}
	live := alive(nodes)
	if !net.RunUntil(30*time.Second, converged(live)) {
		t.Fatalf("after restarts: %s", diverged(live))
	}
	if got(far) != 100 {
		t.Fatalf("the member that was away got %d of 100", got(far))
	}
	for _, y := range live {
		for _, ev := range y.Events {
			if f, ok := ev.(conference.ForkDetected); ok {
				t.Fatalf("%s saw a fork at %s#%d", y.Label, f.Origin.Short(), f.Number)
			}
		}
	}
}
