package conference

import (
	"errors"
	"fmt"
)

// Sentinel errors. Decoders wrap ErrMalformed; user actions return the others.
var (
	ErrMalformed      = errors.New("malformed packet")
	ErrUnknownPacket  = errors.New("unknown packet id")
	ErrNotConnected   = errors.New("not connected to the conference")
	ErrNoConnection   = errors.New("no online connection")
	ErrTooLong        = errors.New("too long")
	ErrEmpty          = errors.New("empty")
	ErrLeft           = errors.New("conference was left")
	ErrWrongType      = errors.New("wrong conference type")
	ErrBadCookie      = errors.New("bad invite cookie")
	ErrBadSignature   = errors.New("bad signature")
	ErrAlreadyJoining = errors.New("already joining or joined")
	ErrUnsolicited    = errors.New("unsolicited packet")
	ErrTitleLocked    = errors.New("title stamp exhausted")
	// ErrBackpressure: too many outputs await Advance; the packet was
	// refused without changing state (see MaxPendingOutputs).
	ErrBackpressure = errors.New("outputs await advance")
)

// DecodeError says which packet failed to decode and why; it unwraps to
// ErrMalformed.
type DecodeError struct {
	Packet string
	Reason string
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("decode %s: %s", e.Packet, e.Reason)
}

// Unwrap returns ErrMalformed.
func (e *DecodeError) Unwrap() error { return ErrMalformed }

func malformed(packet, reason string) error {
	return &DecodeError{Packet: packet, Reason: reason}
}
