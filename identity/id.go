package identity

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// IDSize is the length in bytes of a confchat ID; IDLen is its hex length.
const (
	IDSize = KeySize + 4 + 2
	IDLen  = 2 * IDSize
)

// Errors returned by ParseID. Each is distinct so a front end can say
// exactly what is wrong with an ID a user typed.
var (
	ErrIDLength   = errors.New("confchat ID must be 76 hex characters")
	ErrIDNotHex   = errors.New("confchat ID is not hexadecimal")
	ErrIDChecksum = errors.New("confchat ID checksum does not match (mistyped?)")
)

// ID is a confchat ID: a public key and the nospam a friend request must
// carry. The checksum is derived, not stored.
type ID struct {
	Key    PublicKey
	Nospam uint32
}

// Bytes returns the 38-byte wire form: key, nospam (big-endian), checksum.
func (id ID) Bytes() [IDSize]byte {
	var b [IDSize]byte
	copy(b[:KeySize], id.Key[:])
	binary.BigEndian.PutUint32(b[KeySize:], id.Nospam)
	c := checksum(b[:KeySize+4])
	copy(b[KeySize+4:], c[:])
	return b
}

// String returns the 76 uppercase hex characters, as Tox prints IDs.
func (id ID) String() string {
	b := id.Bytes()
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// checksum XORs the 2-byte chunks of b.
func checksum(b []byte) [2]byte {
	var c [2]byte
	for i, x := range b {
		c[i%2] ^= x
	}
	return c
}

// ParseID parses 76 hex characters (either case, surrounding space
// ignored) and checks the checksum.
func ParseID(s string) (ID, error) {
	s = strings.TrimSpace(s)
	if len(s) != IDLen {
		return ID{}, fmt.Errorf("%w (got %d)", ErrIDLength, len(s))
	}
	var b [IDSize]byte
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return ID{}, fmt.Errorf("%w: %v", ErrIDNotHex, err)
	}
	if c := checksum(b[:KeySize+4]); c[0] != b[KeySize+4] || c[1] != b[KeySize+5] {
		return ID{}, ErrIDChecksum
	}
	var id ID
	copy(id.Key[:], b[:KeySize])
	id.Nospam = binary.BigEndian.Uint32(b[KeySize:])
	return id, nil
}

// MarshalText implements encoding.TextMarshaler.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *ID) UnmarshalText(b []byte) error {
	p, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = p
	return nil
}
