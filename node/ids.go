package node

import (
	"encoding/hex"
	"errors"
	"fmt"
)

// ConferenceID is a conference's 33-byte id, shown as 66 hex characters.
type ConferenceID [33]byte

// String returns the id in lowercase hex.
func (c ConferenceID) String() string { return hex.EncodeToString(c[:]) }

// ErrBadConferenceID is wrapped by ParseConferenceID errors.
var ErrBadConferenceID = errors.New("bad conference id")

// ParseConferenceID parses 66 hex characters.
func ParseConferenceID(s string) (ConferenceID, error) {
	var c ConferenceID
	if len(s) != 2*len(c) {
		return c, fmt.Errorf("%w: want %d hex characters, got %d", ErrBadConferenceID, 2*len(c), len(s))
	}
	if _, err := hex.Decode(c[:], []byte(s)); err != nil {
		return c, fmt.Errorf("%w: %v", ErrBadConferenceID, err)
	}
	return c, nil
}
