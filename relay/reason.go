package relay

import (
	"errors"
	"fmt"
)

// Reason is why the relay refused or cut off a client. Codes 1 to 10 go on
// the wire (Noise message 2's status, REFUSED); the rest are only counted.
type Reason byte

// Refusal reasons; docs/protocol.md part 4 lists them with their names.
const (
	ReasonVersion       Reason = 1
	ReasonKeyLimit      Reason = 2
	ReasonNotRegistered Reason = 3
	ReasonBusy          Reason = 4
	ReasonTimeout       Reason = 5
	ReasonDeclined      Reason = 6
	ReasonBadToken      Reason = 7
	ReasonReplaced      Reason = 8
	ReasonShutdown      Reason = 9
	ReasonMalformed     Reason = 10
	// Counted only, never sent.
	ReasonFull      Reason = 100
	ReasonHalfOpen  Reason = 101
	ReasonHandshake Reason = 102
	ReasonTooLarge  Reason = 103
	ReasonIdle      Reason = 104
	ReasonFlood     Reason = 105
)

// allReasons returns every reason in stats order.
func allReasons() [16]Reason {
	return [...]Reason{
		ReasonVersion, ReasonKeyLimit, ReasonNotRegistered, ReasonBusy, ReasonTimeout,
		ReasonDeclined, ReasonBadToken, ReasonReplaced, ReasonShutdown, ReasonMalformed,
		ReasonFull, ReasonHalfOpen, ReasonHandshake, ReasonTooLarge, ReasonIdle, ReasonFlood,
	}
}

func (r Reason) String() string {
	switch r {
	case ReasonVersion:
		return "version"
	case ReasonKeyLimit:
		return "key-limit"
	case ReasonNotRegistered:
		return "not-registered"
	case ReasonBusy:
		return "busy"
	case ReasonTimeout:
		return "timeout"
	case ReasonDeclined:
		return "declined"
	case ReasonBadToken:
		return "bad-token"
	case ReasonReplaced:
		return "replaced"
	case ReasonShutdown:
		return "shutdown"
	case ReasonMalformed:
		return "malformed"
	case ReasonFull:
		return "full"
	case ReasonHalfOpen:
		return "half-open"
	case ReasonHandshake:
		return "handshake"
	case ReasonTooLarge:
		return "too-large"
	case ReasonIdle:
		return "idle"
	case ReasonFlood:
		return "flood"
	}
	return fmt.Sprintf("reason(%d)", byte(r))
}

// ErrRefused matches every *RefusedError with errors.Is.
var ErrRefused = errors.New("refused by the relay")

// RefusedError is a relay's refusal as a client sees it.
type RefusedError struct {
	Reason Reason
}

func (e *RefusedError) Error() string { return fmt.Sprintf("relay refused: %v", e.Reason) }

// Is makes errors.Is(err, ErrRefused) true.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// Retriable reports whether trying again later may succeed (the target may
// register, the relay may have room); version and bad-token refusals will
// not change by waiting.
func (e *RefusedError) Retriable() bool {
	return e.Reason != ReasonVersion && e.Reason != ReasonBadToken && e.Reason != ReasonMalformed
}
