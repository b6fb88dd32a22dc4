package conference_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"confchat/conference/simnet"
)

// The simulator is deterministic: the same seed gives the same traffic and
// the same message sets, packet for packet.
func TestSimulationIsDeterministic(t *testing.T) {
	run := func() (simnet.Stats, []string) {
		net, nodes := buildChain(t, 77, 8, 3*time.Second)
		net.SetAllLinks(simnet.LinkConfig{Latency: 5 * time.Millisecond, Jitter: 20 * time.Millisecond,
			Loss: 0.05, Dup: 0.05, Reorder: true})
		for i, x := range nodes {
			_ = x.Send(fmt.Sprintf("m%d", i))
		}
		_ = nodes[3].SendBurst("b0", "b1", "b2", "b3", "b4") // sealed with one signature
		net.Partition(nodes[:4], nodes[4:])
		net.Run(5 * time.Second)
		net.Heal()
		net.Run(5 * time.Second)
		var sets []string
		for _, x := range nodes {
			sets = append(sets, fmt.Sprint(x.Engine.MessageSet()))
		}
		return net.Stats, sets
	}
	s1, m1 := run()
	s2, m2 := run()
	if s1 != s2 || !slices.Equal(m1, m2) {
		t.Fatalf("two runs differ: %+v vs %+v", s1, s2)
	}
	if s1.Packets == 0 {
		t.Fatal("nothing was sent")
	}
}
