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
// every message is delivered exactly once to every member, and each
// sender's messages are shown in the order they were sent. Some rounds
// send bursts sealed in one batch: a lost batch neighbour never keeps a
// message from verifying.
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
			switch {
			case (round+i)%3 == 0 && round%4 == 1: // a burst: one signature, three batch auths
				texts := []string{fmt.Sprintf("r%d n%d a", round, i), fmt.Sprintf("r%d n%d b", round, i),
					fmt.Sprintf("r%d n%d c", round, i)}
				if err := x.SendBurst(texts...); err != nil {
					t.Fatal(err)
				}
				sent += len(texts)
			case (round+i)%3 == 0:
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
	for i, x := range nodes {
		last := map[identity.PublicKey]uint32{}
		for _, m := range x.Received[start[i]:] {
			if m.Number <= last[m.Origin] {
				t.Fatalf("%s shows %s#%d after #%d: not in sender order", x.Label, m.Origin.Short(), m.Number, last[m.Origin])
			}
			last[m.Origin] = m.Number
		}
	}
	if net.Stats.Dropped == 0 {
		t.Fatal("the links dropped nothing: the test did not exercise loss")
	}
}

// With a single lossy, reordering link, missing messages come through
// history sync after their successors; they are still shown in order.
func TestShownInSenderOrder(t *testing.T) {
	net, nodes := buildChain(t, 23, 2, 3*time.Second)
	a, b := nodes[0], nodes[1]
	net.SetAllLinks(simnet.LinkConfig{Latency: 5 * time.Millisecond, Jitter: 50 * time.Millisecond,
		Loss: 0.3, Reorder: true})
	start := len(b.Received)
	for i := range 30 {
		_ = a.Send(fmt.Sprintf("m%d", i))
		net.Run(20 * time.Millisecond)
	}
	if !net.RunUntil(60*time.Second, func() bool { return len(b.Received)-start == 30 }) {
		t.Fatalf("received %d of 30", len(b.Received)-start)
	}
	late := 0
	for i, m := range b.Received[start:] {
		if m.Text != fmt.Sprintf("m%d", i) {
			t.Fatalf("position %d shows %q", i, m.Text)
		}
		if m.Late {
			late++
		}
	}
	if late == 0 {
		t.Fatal("no message needed history sync: the test did not exercise gaps")
	}
}
