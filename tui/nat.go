package tui

import (
	"strings"

	"confchat/node"
)

// withVia adds to a route label how a direct path runs ("direct via hole
// punch", "direct via mapping") or why a relayed session's hole punch
// failed ("relay (direct failed: REASON)"), issue 13. A label that
// already shows a switch is left as it is.
func withVia(label, via, directFailed string) string {
	switch {
	case label == "" || strings.Contains(label, "("):
		return label
	case label == "direct" && (via == node.ViaHolePunch || via == node.ViaMapping):
		return label + " via " + via
	case label == "relay" && directFailed != "":
		return "relay (direct failed: " + truncate(directFailed, 40) + ")"
	}
	return label
}
