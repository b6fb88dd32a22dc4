package conference_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"confchat/conference/simnet"
)

// TestColdHistoryServed: a member restored with the bodies of only its
// newest messages in memory (the node's lazy restore) still serves a
// returning member every older message it missed: the requests for them
// become Ready.Loads, answered from the database, and everyone converges.
func TestColdHistoryServed(t *testing.T) {
	net := simnet.New(31)
	net.Config.FreezeAfter = 3 * time.Second
	net.Config.JoinHistory = 4
	net.Config.HotWindow = 8
	n := net.AddN("cold", 3)
	net.Linear(n)
	n[0].Create()
	inviteAndJoin(t, net, n[0], n[1])
	inviteAndJoin(t, net, n[1], n[2])
	net.Run(time.Second)
	n[2].Kill()
	var want []string
	for i := range 60 {
		text := fmt.Sprintf("while away %d", i)
		if err := n[i%2].Send(text); err != nil {
			t.Fatal(err)
		}
		want = append(want, text)
		net.Run(50 * time.Millisecond)
	}
	net.Run(time.Second)
	n[1].Kill()
	if err := n[1].RestartIndexed(8); err != nil {
		t.Fatal(err)
	}
	n[0].Kill() // only the restored member can serve the history now
	live := n[1:]
	if err := n[2].Restart(); err != nil {
		t.Fatal(err)
	}
	if !net.RunUntil(90*time.Second, converged(live)) {
		t.Fatalf("no convergence: %s", diverged(live))
	}
	if n[1].Loads == 0 {
		t.Fatal("the restored member served everything from memory: no Load was asked for")
	}
	got := n[2].Texts()
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Fatalf("%s never showed %q (showed %d texts)", n[2].Label, w, len(got))
		}
	}
	if held := len(n[1].Engine.MessageSet()); held < 60 {
		t.Fatalf("the restored member holds %d messages", held)
	}
}
