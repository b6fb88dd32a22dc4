package tui

import (
	"fmt"
	"testing"

	tea "charm.land/bubbletea/v2"
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
