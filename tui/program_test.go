package tui

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest/v2"

	"confchat/node"
)

// TestProgramLoop runs the App in a real bubbletea program (teatest):
// node events arrive through the re-armed waitEvent Cmd while keys are
// typed, and the quit path ends the program.
func TestProgramLoop(t *testing.T) {
	f := withConversation()
	evs := newFakeEvents()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	snap, err := Load(ctx, f, 50)
	if err != nil {
		t.Fatal(err)
	}
	a := New(ctx, f, evs, snap, Options{Location: time.UTC, NoTicks: true})
	tm := teatest.NewTestModel(t, a, teatest.WithInitialTermSize(120, 40))
	for i, text := range []string{"first from bob", "second from bob"} {
		evs.ch <- node.MessageReceived{Conference: roomID, Message: node.Message{Seq: int64(100 + i),
			From: bobKey, Name: "bob", Text: text, Time: testNow}}
	}
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("second from bob")) },
		teatest.WithDuration(10*time.Second))
	tm.Type("typed in the program")
	tm.Send(keyMsg("enter"))
	deadline := time.Now().Add(10 * time.Second)
	for !f.called("send typed in the program") {
		if time.Now().After(deadline) {
			t.Fatal("typed line never reached the node")
		}
		time.Sleep(10 * time.Millisecond)
	}
	tm.Send(keyMsg("ctrl+c"))
	tm.Send(keyMsg("ctrl+c"))
	final := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*App)
	if !final.quitting {
		t.Fatal("program ended without quitting")
	}
	if s := final.screen(); !strings.Contains(s, "typed in the program") {
		t.Fatalf("final screen lacks the sent line:\n%s", s)
	}
}
