package tui

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"confchat/node"
)

// BenchmarkScrollBack measures the TUI alone (a fake node, no disk):
// one op is PgUp from the bottom of a 10,000-message conference back
// through 10,000 lines at 120x40, history pages loading on the way. It
// prints the slowest and 99th-percentile frame (Update + View).
func BenchmarkScrollBack(b *testing.B) {
	f := withConversation()
	var hs []node.HistoryEntry
	for i := range 10000 {
		hs = append(hs, msgAt(int64(i+1), bobKey, "bob", fmt.Sprintf("message %d with some words to wrap around the pane", i), 1, false))
	}
	f.history[roomID] = hs
	var frames []time.Duration
	for range b.N {
		h := newHarness(&testing.T{}, f, 120, 40)
		h.app.opt.HistoryPage = 200
		for lines := 0; lines < 10000; lines += 35 {
			t0 := time.Now()
			_, cmd := h.app.Update(keyMsg("pgup"))
			h.app.View()
			frames = append(frames, time.Since(t0))
			h.run(cmd)
		}
	}
	slices.Sort(frames)
	fmt.Printf("metric tui_scrollback_frame_max %.2f ms\n", ms(frames[len(frames)-1]))
	fmt.Printf("metric tui_scrollback_frame_p99 %.2f ms\n", ms(frames[len(frames)*99/100]))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
