package conference_test

import (
	"fmt"
	"testing"
	"time"

	"confchat/conference/simnet"
	"confchat/identity"
)

type msgID struct {
	origin identity.PublicKey
	number uint32
}

// Acceptance: with 10% loss, 5% duplication and reordering on every link,
// every message is delivered exactly once to every member.
func TestLossDupReorderExactlyOnce(t *testing.T) {
	net, nodes := buildChain(t, 10, 12, 3*time.Second)
	net.Run(2 * time.Second)
	net.SetAllLinks(simnet.LinkConfig{
		Latency: 10 * time.Millisecond, Jitter: 40 * time.Millisecond,
		Loss: 0.10, Dup: 0.05, Reorder: true,
	})
	start := make([]int, len(nodes))
	for i, x := range nodes {
		start[i] = len(x.Received)
	}
	sent := 0
	for round := range 20 {
		for i, x := range nodes {
			if (round+i)%3 == 0 {
				if err := x.Send(fmt.Sprintf("r%d n%d", round, i)); err != nil {
					t.Fatal(err)
				}
				sent++
			}
		}
		net.Run(100 * time.Millisecond)
	}
	delivered := func() bool {
		for i, x := range nodes {
			if len(x.Received)-start[i] < sent {
				return false
			}
		}
		return true
	}
	if !net.RunUntil(60*time.Second, delivered) {
		for i, x := range nodes {
			t.Logf("%s got %d of %d", x.Label, len(x.Received)-start[i], sent)
		}
		t.Fatal("not every message delivered")
	}
	net.Run(10 * time.Second) // late duplicates would show up here
	for i, x := range nodes {
		seen := map[msgID]int{}
		for _, m := range x.Received[start[i]:] {
			seen[msgID{m.Origin, m.Number}]++
		}
		if len(seen) != sent {
			t.Fatalf("%s received %d distinct messages, want %d", x.Label, len(seen), sent)
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("%s received %s#%d %d times", x.Label, id.origin.Short(), id.number, n)
			}
		}
	}
	if net.Stats.Dropped == 0 {
		t.Fatal("the links dropped nothing: the test did not exercise loss")
	}
}
