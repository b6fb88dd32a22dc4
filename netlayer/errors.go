package netlayer

import (
	"errors"
	"fmt"
)

// Sentinel errors. Callers compare with errors.Is; the layer wraps them with
// the operation that failed.
var (
	// ErrClosed is returned by calls on a session or endpoint that is closed.
	ErrClosed = errors.New("netlayer: closed")
	// ErrClosing is returned by Send once either side has started a graceful
	// close: the session delivers what it already accepted and nothing more.
	ErrClosing = errors.New("netlayer: session is closing")
	// ErrFrameTooLarge is returned by Send for a frame over Config.MaxFrameSize,
	// and closes a connection whose peer announces a record over the limit.
	ErrFrameTooLarge = errors.New("netlayer: frame too large")
	// ErrShortFrame closes a connection that sends a record too short to hold
	// its authentication tag or header.
	ErrShortFrame = errors.New("netlayer: frame too short")
	// ErrMalformed marks a record or handshake payload that does not parse.
	ErrMalformed = errors.New("netlayer: malformed message")
	// ErrDecrypt marks a record that fails authentication: a flipped,
	// injected, replayed or deleted byte.
	ErrDecrypt = errors.New("netlayer: decryption failed")
	// ErrHandshake marks a Noise handshake message that does not verify.
	ErrHandshake = errors.New("netlayer: handshake failed")
	// ErrUnauthenticatedRefusal marks a dial whose listener answered our
	// first handshake message with the empty record: "I could not decrypt
	// it", which an honest listener with another key sends. Nobody can
	// authenticate that answer (the listener does not hold the key we
	// dialed, or someone on the path forged it), so it is never fatal: the
	// dialer goes on to the next address and retries with backoff. It is
	// reported in SessionStateChanged.Reason so the layer above can log a
	// peer that probably changed its key or address.
	ErrUnauthenticatedRefusal = errors.New("netlayer: unauthenticated refusal: the listener did not hold the key we dialed, or the answer was forged")
	// ErrTooManyHandshakes is reported when an inbound connection still in
	// its handshake is closed to make room for a newer one (its source, or
	// the whole endpoint, had too many half-open connections).
	ErrTooManyHandshakes = errors.New("netlayer: too many half-open handshakes")
	// ErrSessionMismatch is the retriable handshake outcome: the two sides do
	// not agree on the session (one of them lost its state). Both start a new
	// session and the layer above receives SessionReset.
	ErrSessionMismatch = errors.New("netlayer: session state mismatch")
	// ErrDuplicate is the retriable outcome of losing the duplicate-connection
	// tie-break: the peer keeps the connection it dialed itself.
	ErrDuplicate = errors.New("netlayer: duplicate connection")
	// ErrSwitchBusy refuses a migration while another switch of the same
	// session runs (one switch at a time); the prober retries later.
	ErrSwitchBusy = errors.New("netlayer: a route switch is already in progress")
	// ErrMigrationDenied is a peer's refusal to migrate the session; the
	// prober keeps the old path and waits its longest backoff.
	ErrMigrationDenied = errors.New("netlayer: peer denied the migration")
	// ErrSeqGap closes a connection that delivers a frame ahead of the next
	// expected sequence number.
	ErrSeqGap = errors.New("netlayer: sequence gap")
	// ErrPeerDead closes a connection on which nothing arrived for
	// HeartbeatMisses heartbeat intervals.
	ErrPeerDead = errors.New("netlayer: peer missed heartbeats")
	// ErrCloseUnacknowledged ends a graceful close that the peer did not
	// complete within Config.CloseTimeout.
	ErrCloseUnacknowledged = errors.New("netlayer: close unacknowledged")
	// ErrGraceExpired ends a session that stayed without a connection for
	// longer than Config.Grace.
	ErrGraceExpired = errors.New("netlayer: reconnect grace expired")
	// ErrPeerReset ends a closing session whose peer lost its state.
	ErrPeerReset = errors.New("netlayer: peer reset the session")
)

// Reason says why a session failed for good.
//
// Only what the peer said inside an authenticated handshake message or
// record, or our own configuration, is fatal: an attacker on the path can
// cut connections but never end a session for good (IsFatal is what the
// layer above may trust to stop redialing).
type Reason int

// Reasons for a FatalError. The numbers are stable: they appear in logs.
const (
	// Number 1 was "wrong key". A listener without the key we dialed
	// cannot authenticate that answer, so it is ErrUnauthenticatedRefusal,
	// retried, not a reason to give up.
	_ Reason = iota + 1
	// ReasonVersion: the peer speaks an unknown major protocol version.
	ReasonVersion
	// ReasonRefused: the peer's Accept hook refused us, or ours refused it.
	ReasonRefused
	// ReasonBadKey: the peer's claimed key is not a valid curve point or does
	// not match its Noise static key.
	ReasonBadKey
	// ReasonProtocol: the peer broke the protocol in a way that retrying
	// cannot heal (an internal state machine error also ends up here).
	ReasonProtocol
)

func (r Reason) String() string {
	switch r {
	case ReasonVersion:
		return "unknown protocol version"
	case ReasonRefused:
		return "peer refused"
	case ReasonBadKey:
		return "bad peer key"
	case ReasonProtocol:
		return "protocol violation"
	}
	return fmt.Sprintf("reason(%d)", int(r))
}

// FatalError ends a session without retrying. Err, when set, is the
// underlying cause.
type FatalError struct {
	Reason Reason
	Err    error
}

func (e *FatalError) Error() string {
	if e.Err == nil {
		return "netlayer: fatal: " + e.Reason.String()
	}
	return "netlayer: fatal: " + e.Reason.String() + ": " + e.Err.Error()
}

func (e *FatalError) Unwrap() error { return e.Err }

// fatal builds a *FatalError.
func fatal(r Reason, err error) error { return &FatalError{Reason: r, Err: err} }

// IsFatal reports whether err is, or wraps, a *FatalError.
func IsFatal(err error) bool {
	var fe *FatalError
	return errors.As(err, &fe)
}

// FatalReason returns the reason of a wrapped *FatalError, or 0.
func FatalReason(err error) Reason {
	var fe *FatalError
	if errors.As(err, &fe) {
		return fe.Reason
	}
	return 0
}
