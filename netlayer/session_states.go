package netlayer

import (
	"errors"
	"fmt"
)

// State is a session's state.
//
//	           Open / inbound hello
//	                  |
//	                  v
//	 +---------> NoConnection <-----------------------------+
//	 |            |        ^                                 |
//	 |   has addrs|        | addrs removed                   |
//	 |            v        |                                 |
//	 |        BackingOff --+                                 |
//	 |            | timer                                    |
//	 |            v                                          |
//	 |        Connecting --(dial failed)--> BackingOff       |
//	 |            | TCP up                                   |
//	 |            v                                          |
//	 |        Handshaking --(failed, mismatch)--> BackingOff |
//	 |            | WELCOME                                  |
//	 |            v                                          |
//	 +------- Connected (also entered from any state above   |
//	lost conn      |    when an inbound HELLO is accepted) --+
//	               |
//	  Close / CLOSING from any state above
//	               v
//	            Closing  (keeps reconnecting underneath until done)
//	               |  both sides' last frames acknowledged, or timeout
//	               v
//	             Closed  (final; also reached from any state on a
//	                      fatal error, grace expiry or endpoint close)
type State int

const (
	NoConnection State = iota
	BackingOff
	Connecting
	Handshaking
	Connected
	Closing
	Closed
)

func (s State) String() string {
	switch s {
	case NoConnection:
		return "NoConnection"
	case BackingOff:
		return "BackingOff"
	case Connecting:
		return "Connecting"
	case Handshaking:
		return "Handshaking"
	case Connected:
		return "Connected"
	case Closing:
		return "Closing"
	case Closed:
		return "Closed"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// canGo reports whether the connection phase (the states below Closing) may
// move from s to to. Closing and Closed are entered through startClose and
// finish, which check their own preconditions.
func (s State) canGo(to State) bool {
	switch s {
	case NoConnection:
		return to == BackingOff || to == Connecting || to == Connected
	case BackingOff:
		return to == NoConnection || to == Connecting || to == Connected
	case Connecting:
		return to == NoConnection || to == BackingOff || to == Handshaking || to == Connected
	case Handshaking:
		return to == NoConnection || to == BackingOff || to == Connecting || to == Connected
	case Connected:
		return to == NoConnection || to == BackingOff || to == Connecting
	}
	return false
}

// errIllegalTransition marks a bug in the state machine: the session ends
// with a *FatalError wrapping it rather than carry on in a wrong state.
var errIllegalTransition = errors.New("state machine: illegal transition")

// checkTransition returns an error for a transition canGo does not allow.
func checkTransition(from, to State) error {
	if !from.canGo(to) {
		return fatal(ReasonProtocol, fmt.Errorf("%w %v -> %v", errIllegalTransition, from, to))
	}
	return nil
}
