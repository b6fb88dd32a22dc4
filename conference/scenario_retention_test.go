package conference_test

import (
	"fmt"
	"testing"
	"time"

	"confchat/conference"
	"confchat/conference/simnet"
)

func storedMessages(x *simnet.Node) int {
	n := 0
	for _, m := range x.Engine.MessageSet() {
		if m.Kind == conference.KindMessage {
			n++
		}
	}
	return n
}

// Retention: the store keeps at most RetentionCount messages (pruning the
// oldest, raising floors, never re-fetching what was pruned) and drops
// messages older than Retention; the DB follows through deletion rows.
func TestRetention(t *testing.T) {
	net := simnet.New(19)
	net.Config.FreezeAfter = 6 * time.Second
	net.Config.RetentionCount = 40
	net.Config.Retention = 2 * time.Minute
	n := net.AddN("r", 3)
	net.Linear(n)
	n[0].Create()
	inviteAndJoin(t, net, n[0], n[1])
	inviteAndJoin(t, net, n[1], n[2])
	for i := range 90 {
		_ = n[i%3].Send(fmt.Sprintf("m%d", i))
		net.Run(50 * time.Millisecond)
	}
	net.Run(10 * time.Second)
	for _, x := range n {
		if got := storedMessages(x); got > 40 || got < 30 {
			t.Fatalf("%s keeps %d messages, cap 40", x.Label, got)
		}
		if x.DB.MessageCount() > 40+6 {
			t.Fatalf("%s DB keeps %d rows", x.Label, x.DB.MessageCount())
		}
		if len(x.Texts()) != 90 {
			t.Fatalf("%s was shown %d of 90", x.Label, len(x.Texts()))
		}
	}
	if !converged(n)() {
		t.Fatalf("pruned stores differ: %s", diverged(n))
	}
	kinds := map[string]int{}
	net.SetTap(func(from, to *simnet.Node, data []byte) {
		k := fmt.Sprintf("%x", data[0])
		if data[0] == 0x62 || data[0] == 0x63 {
			k += fmt.Sprintf("/%x", data[3])
			if data[0] == 0x63 {
				k = fmt.Sprintf("63/kind%x", data[9])
			}
		}
		kinds[k]++
	})
	net.Run(time.Minute)

	net.SetTap(nil)
	if kinds["62/21"]+kinds["62/22"] != 0 || kinds["62/20"] > 6 {
		t.Fatalf("sync traffic in a quiet minute (pruned ranges re-fetched?): %v", kinds)
	}
	net.Run(2 * time.Minute)
	for _, x := range n {
		if got := storedMessages(x); got != 0 {
			t.Fatalf("%s keeps %d messages older than the retention time", x.Label, got)
		}
	}
}
