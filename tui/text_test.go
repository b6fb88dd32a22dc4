package tui

import "testing"

// Peer text is drawn without terminal controls: C0/C1 controls and the
// bidi overrides, isolates and marks a peer could use to make its text
// or name read reversed, become the replacement character.
func TestCleanNeutralisesControls(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain text 👍", "plain text 👍"},
		{"rtl \u202eevil\u202c end", "rtl \ufffdevil\ufffd end"},
		{"iso \u2066x\u2069", "iso \ufffdx\ufffd"},
		{"mark \u200f\u200e\u061c", "mark \ufffd\ufffd\ufffd"},
		{"esc \x1b[31mred", "esc \ufffd[31mred"},
		{"bell\a", "bell\ufffd"},
		{"c1 \u009b", "c1 \ufffd"},
	} {
		if got := clean(c.in, false); got != c.want {
			t.Errorf("clean(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
