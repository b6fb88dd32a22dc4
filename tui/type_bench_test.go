package tui

import (
	"fmt"
	"testing"

	tea "charm.land/bubbletea/v2"

	"confchat/node"
)

// BenchmarkTypeKey is one key typed into the input (Update + View) at
// 120x40 with a conference of n lines in memory: a frame must not cost
// more with a long history than with a short one.
func BenchmarkTypeKey(b *testing.B) {
	for _, n := range []int{50, maxLiveEntries} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			f := withConversation()
			h := newHarness(&testing.T{}, f, 120, 40)
			buf := h.app.current
			for i := len(buf.entries); i < n; i++ {
				buf.add(entryFromHistory(msgAt(int64(i+1), bobKey, "bob", fmt.Sprintf("message %d with some words", i), 1, i%3 == 0)))
			}
			buf.readUpTo = len(buf.entries)
			h.app.View()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				r := rune('a' + i%26)
				if i%60 == 59 {
					h.app.Update(keyMsg("ctrl+u"))
				}
				h.app.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
				h.app.View()
			}
		})
	}
}

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
