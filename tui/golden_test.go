package tui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"confchat/node"
)

// sizes are the terminal sizes every main screen is checked at.
var sizes = []struct{ w, h int }{{80, 24}, {120, 40}}

// checkScreen compares the screen (colours stripped) with its golden file
// and checks that no line is wider than the terminal and that there are
// exactly h lines. Run `go test ./tui -update` to rewrite the goldens.
func checkScreen(t *testing.T, h *harness, w, ht int) {
	t.Helper()
	s := h.screen()
	lines := strings.Split(s, "\n")
	if len(lines) != ht {
		t.Errorf("%d lines, want %d", len(lines), ht)
	}
	for i, l := range lines {
		if width(l) != w {
			t.Errorf("line %d is %d cells wide, want %d: %q", i, width(l), w, l)
		}
	}
	golden.RequireEqual(t, s)
}

func TestGoldenEmptyProfile(t *testing.T) {
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			h := newHarness(t, newFakeNode(), sz.w, sz.h)
			h.mustSee("/add THEIR-ID THEIR-ADDRESS")
			checkScreen(t, h, sz.w, sz.h)
		})
	}
}

func TestGoldenConversation(t *testing.T) {
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			h := newHarness(t, withConversation(), sz.w, sz.h)
			h.mustSee("puts the kettle on")
			checkScreen(t, h, sz.w, sz.h)
		})
	}
}

// TestGoldenFrozenPeerAndPending: carol frozen for 7 minutes, our
// message waiting, and a new one just typed while every peer is frozen.
func TestGoldenFrozenPeerAndPending(t *testing.T) {
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			f := withConversation()
			h := newHarness(t, f, sz.w, sz.h)
			h.event(node.PeerFrozen{Conference: roomID, Peer: bobKey, Name: "bob"})
			f.peers[roomID][1].Frozen = true
			f.peers[roomID][1].FrozenSince = testNow
			h.send(peersMsg{id: roomID, peers: f.peers[roomID]})
			h.enter("anyone? this waits until someone is back")
			h.mustSee("[pending]")
			h.mustSee("2 waiting for a peer")
			checkScreen(t, h, sz.w, sz.h)
		})
	}
}

func TestGoldenHelp(t *testing.T) {
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			h := newHarness(t, withConversation(), sz.w, sz.h)
			h.typeText("?")
			h.mustSee("next conference")
			checkScreen(t, h, sz.w, sz.h)
			h.press("esc")
			h.mustNotSee("next conference")
		})
	}
}

func TestGoldenNarrow(t *testing.T) {
	h := newHarness(t, withConversation(), 60, 20)
	h.mustSee("[1/2] Tea room")
	checkScreen(t, h, 60, 20)
}
