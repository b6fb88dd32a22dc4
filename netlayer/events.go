package netlayer

import (
	"fmt"

	"confchat/identity"
)

// Event is one fact the endpoint reports on its Events channel. The
// concrete types are FrameReceived, SessionOpened, SessionStateChanged,
// SessionRouteChanged, SessionReset and InboundRejected. Events of one
// session arrive in the order they happened; frames arrive in send order,
// exactly once.
type Event interface{ isEvent() }

// FrameReceived is an application frame from Peer. Data is owned by the
// receiver.
type FrameReceived struct {
	Peer identity.PublicKey
	Data []byte
}

// SessionOpened reports a new session object: Inbound is true when the
// peer's connection created it (after Config.Accept allowed the peer).
type SessionOpened struct {
	Peer    identity.PublicKey
	Inbound bool
	Session *Session
}

// SessionStateChanged reports a transition. Reason is nil for ordinary
// progress and says why otherwise: a wrapped connection error when a
// connection was lost, a *FatalError, ErrCloseUnacknowledged, ... When To is
// Closed, Unacked holds the frames the peer never acknowledged.
//
// An unauthenticated refusal (errors.Is(Reason, ErrUnauthenticatedRefusal))
// is not fatal: the session keeps dialing. IsFatal(Reason) is true only for
// what the peer authenticated or our own configuration caused.
type SessionStateChanged struct {
	Peer     identity.PublicKey
	From, To State
	Route    Route
	Reason   error
	Unacked  [][]byte
	// RemoteAddr is the remote address of the connection the session is
	// carried on (conn.RemoteAddr().String()), set when To is Connected
	// and "" otherwise. For a relayed connection it is what the relay's
	// connection reports.
	RemoteAddr string
}

// SessionReset reports that the session with Peer was replaced by a new
// one because one side lost its state (it restarted). Unacked holds the
// frames the old session accepted but the peer never acknowledged, oldest
// first; they are not resent, so the layer above decides.
type SessionReset struct {
	Peer    identity.PublicKey
	Unacked [][]byte
}

// InboundRejected reports an inbound connection dropped before it reached a
// session: a failed or timed-out handshake, a refused peer, too many
// half-open handshakes. Peer is zero when the peer was not authenticated.
// It is diagnostic and dropped when the Events channel is full.
type InboundRejected struct {
	Addr string
	Peer identity.PublicKey
	Err  error
}

func (FrameReceived) isEvent()       {}
func (SessionOpened) isEvent()       {}
func (SessionStateChanged) isEvent() {}
func (SessionReset) isEvent()        {}
func (InboundRejected) isEvent()     {}

// Route is the path a connected session uses. It is the one route type of
// the code base: peers, node and the front ends use it; storage keeps its
// text form (MarshalText).
type Route int

const (
	RouteNone   Route = iota // no connection
	RouteDirect              // a TCP connection between the two peers
	RouteRelay               // spliced through a relay (the relay issue)
)

func (r Route) String() string {
	switch r {
	case RouteNone:
		return "none"
	case RouteDirect:
		return "direct"
	case RouteRelay:
		return "relay"
	}
	return "route(?)"
}

// MarshalText returns the route's public name: "direct", "relay", or ""
// for no route (the form the bot API and the database use).
func (r Route) MarshalText() ([]byte, error) {
	if r == RouteNone {
		return []byte{}, nil
	}
	if r < RouteNone || r > RouteRelay {
		return nil, fmt.Errorf("netlayer: unknown route %d", int(r))
	}
	return []byte(r.String()), nil
}

// UnmarshalText parses what MarshalText returns ("none" is accepted too).
func (r *Route) UnmarshalText(b []byte) error {
	switch string(b) {
	case "", "none":
		*r = RouteNone
	case "direct":
		*r = RouteDirect
	case "relay":
		*r = RouteRelay
	default:
		return fmt.Errorf("netlayer: unknown route %q", b)
	}
	return nil
}
