package netlayer

import "confchat/identity"

// Event is one fact the endpoint reports on its Events channel. The
// concrete types are FrameReceived, SessionOpened, SessionStateChanged,
// SessionReset and InboundRejected. Events of one session arrive in the
// order they happened; frames arrive in send order, exactly once.
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
type SessionStateChanged struct {
	Peer     identity.PublicKey
	From, To State
	Route    Route
	Reason   error
	Unacked  [][]byte
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

// Route is the path a connected session uses. Only RouteDirect exists
// today; relayed routes and migration between routes come later.
type Route int

const (
	RouteNone   Route = iota // no connection
	RouteDirect              // a TCP connection between the two peers
)

func (r Route) String() string {
	switch r {
	case RouteNone:
		return "none"
	case RouteDirect:
		return "direct"
	}
	return "route(?)"
}
