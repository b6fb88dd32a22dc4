package netlayer

import (
	"fmt"
	"strings"

	"confchat/identity"
)

// RelayAddrPrefix starts a relay candidate among a peer's addresses
// ("relay:KEY@host:port", the form relay.Addr.String prints). A bare
// "KEY@host:port" is a relay candidate too: a direct "host:port" never
// holds an '@'.
const RelayAddrPrefix = "relay:"

// IsRelayAddr reports whether addr is a relay candidate (dialed through
// Config.Relay) rather than a direct one (dialed through Config.Transport).
func IsRelayAddr(addr string) bool {
	return strings.HasPrefix(addr, RelayAddrPrefix) || strings.Contains(addr, "@")
}

// SplitAddrs separates a peer's candidate addresses into direct and relay
// ones, keeping their order and dropping duplicates (a relay written with
// and without its prefix is one) and empty strings.
func SplitAddrs(addrs []string) (direct, relays []string) {
	seen := make(map[string]bool, len(addrs))
	for _, a := range addrs {
		k := strings.TrimPrefix(a, RelayAddrPrefix)
		if a == "" || seen[k] {
			continue
		}
		seen[k] = true
		if IsRelayAddr(a) {
			relays = append(relays, a)
		} else {
			direct = append(direct, a)
		}
	}
	return direct, relays
}

// SwitchPhase is where a session's switch between routes stands.
type SwitchPhase int

const (
	// SwitchNone: no switch runs, and the last one (if any) completed.
	SwitchNone SwitchPhase = iota
	// SwitchSwitching: a new path authenticated and the session is moving
	// onto it (the migrate HELLO, then the cut-over of docs/protocol.md
	// part 1, "Migration").
	SwitchSwitching
	// SwitchFailed: the last switch was abandoned (Switch.Reason says
	// why); the session stays on, or resumes over, the old route. It is
	// cleared when the session runs on the direct route or a new switch
	// starts.
	SwitchFailed
)

// Switch is the state of a session's route switch.
type Switch struct {
	Phase SwitchPhase
	// To is the route being switched to (RouteDirect), or the one the
	// failed switch was for. RouteNone with SwitchNone.
	To Route
	// Reason says why a switch failed; "" otherwise.
	Reason string
}

// String is the public form of the switch status, used by the bot API
// (connection.route's "switch") and the database: "" when no switch
// runs, "switching", or "failed: <reason>".
func (s Switch) String() string {
	switch s.Phase {
	case SwitchSwitching:
		return "switching"
	case SwitchFailed:
		return "failed: " + s.Reason
	}
	return ""
}

// MarshalText returns String's form.
func (s Switch) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses what MarshalText returns. To is not part of the
// text form and is set to RouteDirect for a switch in progress or failed.
func (s *Switch) UnmarshalText(b []byte) error {
	t := string(b)
	switch {
	case t == "":
		*s = Switch{}
	case t == "switching":
		*s = Switch{Phase: SwitchSwitching, To: RouteDirect}
	case strings.HasPrefix(t, "failed: "):
		*s = Switch{Phase: SwitchFailed, To: RouteDirect, Reason: strings.TrimPrefix(t, "failed: ")}
	default:
		return fmt.Errorf("netlayer: unknown switch status %q", b)
	}
	return nil
}

// RouteStatus is a session's route and switch, as Session.RouteStatus
// returns them and SessionRouteChanged reports them.
type RouteStatus struct {
	Route  Route
	Switch Switch
}

// SessionRouteChanged reports a change of a session's route (direct,
// relay, none while disconnected) or of its switch status. Events of one
// session arrive in order; a switch that completes is reported as
// {RouteRelay, switching} then {RouteDirect, none}.
//
// RemoteAddr is the remote address of the connection that carries the
// session (conn.RemoteAddr().String(), what SessionStateChanged reports
// on Connected), "" with RouteNone. A migration changes it without a
// state change, so this event is the one to follow.
type SessionRouteChanged struct {
	Peer       identity.PublicKey
	Route      Route
	Switch     Switch
	RemoteAddr string
}

func (SessionRouteChanged) isEvent() {}
