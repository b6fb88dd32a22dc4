package tui

import (
	"strings"
	"testing"

	"confchat/node"
)

func TestWithVia(t *testing.T) {
	for _, c := range []struct{ label, via, failed, want string }{
		{"direct", node.ViaHolePunch, "", "direct via hole punch"},
		{"direct", node.ViaMapping, "", "direct via mapping"},
		{"direct", node.ViaDirect, "", "direct"},
		{"relay", node.ViaRelay, "simultaneous open: i/o timeout", "relay (direct failed: simultaneous open: i/o timeout)"},
		{"relay", node.ViaRelay, "", "relay"},
		{"relay (switching)", node.ViaRelay, "x", "relay (switching)"},
		{"", "", "x", ""},
	} {
		if got := withVia(c.label, c.via, c.failed); got != c.want {
			t.Errorf("withVia(%q, %q, %q) = %q, want %q", c.label, c.via, c.failed, got, c.want)
		}
	}
	long := withVia("relay", node.ViaRelay, strings.Repeat("x", 200))
	if len(long) > 80 {
		t.Errorf("a long reason is not truncated: %q", long)
	}
}
