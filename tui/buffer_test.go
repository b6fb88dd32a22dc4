package tui

import (
	"testing"

	"confchat/node"
)

// The settled mark only skips entries that are done: pending lines
// prepended from history, trimmed away or settled out of order are all
// still counted and cleared.
func TestPendingCountAcrossPrependAndTrim(t *testing.T) {
	b := &buffer{}
	mine := func(n uint32, st sendState) entry {
		return entry{kind: kindMessage, self: true, number: n, state: st}
	}
	for i := range 10 {
		b.add(entry{kind: kindMessage, number: uint32(i + 1)})
	}
	b.add(mine(11, statePending))
	b.add(mine(0, stateSending))
	if n := b.pendingCount(); n != 2 {
		t.Fatalf("pending %d, want 2", n)
	}
	if b.settled != 10 {
		t.Fatalf("settled at %d, want 10", b.settled)
	}
	// Older history with one of our unsettled messages in it.
	b.prepend([]entry{{kind: kindMessage}, mine(3, statePending), {kind: kindMessage}})
	if n := b.pendingCount(); n != 3 {
		t.Fatalf("after prepend: pending %d, want 3", n)
	}
	a := &App{byID: map[node.ConferenceID]*buffer{{1}: b}}
	b.id = node.ConferenceID{1}
	a.onDelivered(node.MessageDelivered{Conference: b.id, UpTo: 11})
	if n := b.pendingCount(); n != 1 {
		t.Fatalf("after delivery: pending %d, want 1 (the one still sending)", n)
	}
	for range maxLiveEntries {
		b.add(entry{kind: kindMessage})
	}
	if n := b.pendingCount(); n != 0 || b.settled != len(b.entries) {
		t.Fatalf("after trim: pending %d settled %d of %d", n, b.settled, len(b.entries))
	}
}
