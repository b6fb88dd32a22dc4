package conference

import (
	"errors"
	"fmt"
)

// Sentinel errors. Decoders wrap ErrMalformed; user actions return the others.
var (
	ErrMalformed      = errors.New("conference: malformed packet")
	ErrUnknownPacket  = errors.New("conference: unknown packet id")
	ErrNotConnected   = errors.New("conference: not connected to the conference")
	ErrNoConnection   = errors.New("conference: no online connection")
	ErrTooLong        = errors.New("conference: too long")
	ErrEmpty          = errors.New("conference: empty")
	ErrLeft           = errors.New("conference: conference was left")
	ErrWrongType      = errors.New("conference: wrong conference type")
	ErrBadCookie      = errors.New("conference: bad invite cookie")
	ErrBadSignature   = errors.New("conference: bad signature")
	ErrAlreadyJoining = errors.New("conference: already joining or joined")
	ErrUnsolicited    = errors.New("conference: unsolicited packet")
	ErrTitleLocked    = errors.New("conference: title stamp exhausted")
	// ErrBackpressure: too many outputs await Advance; the packet was
	// refused without changing state (see MaxPendingOutputs).
	ErrBackpressure = errors.New("conference: outputs await advance")
)

// DecodeError says which packet failed to decode and why; it unwraps to
// ErrMalformed.
type DecodeError struct {
	Packet string
	Reason string
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("conference: decode %s: %s", e.Packet, e.Reason)
}

// Unwrap returns ErrMalformed.
func (e *DecodeError) Unwrap() error { return ErrMalformed }

func malformed(packet, reason string) error {
	return &DecodeError{Packet: packet, Reason: reason}
}
