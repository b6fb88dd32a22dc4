package identity

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ConferenceIDSize is the length of a conference id: a type byte and 32
// random bytes.
const ConferenceIDSize = 33

// ConferenceID identifies a conference: byte 0 is its type, bytes 1..32
// are random. It is the one conference-id type of the code base
// (conference.ID and node.ConferenceID are aliases of it).
type ConferenceID [ConferenceIDSize]byte

// Type returns the conference type byte.
func (c ConferenceID) Type() byte { return c[0] }

// String returns the id as 66 lowercase hex characters.
func (c ConferenceID) String() string { return hex.EncodeToString(c[:]) }

// Short returns the first 8 hex characters, for logs.
func (c ConferenceID) Short() string { return hex.EncodeToString(c[:4]) }

// ErrBadConferenceID is wrapped by ParseConferenceID errors.
var ErrBadConferenceID = errors.New("bad conference id")

// ParseConferenceID parses 66 hex characters (either case, surrounding
// space ignored).
func ParseConferenceID(s string) (ConferenceID, error) {
	var c ConferenceID
	s = strings.TrimSpace(s)
	if len(s) != 2*len(c) {
		return c, fmt.Errorf("%w: want %d hex characters, got %d", ErrBadConferenceID, 2*len(c), len(s))
	}
	if _, err := hex.Decode(c[:], []byte(s)); err != nil {
		return c, fmt.Errorf("%w: not hexadecimal", ErrBadConferenceID)
	}
	return c, nil
}
