package relay

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"

	"confchat/identity"
)

// Version is the relay protocol version this package speaks.
const Version = 1

// Wire limits (docs/protocol.md part 4).
const (
	recordPrefix = 2    // u16 length in front of every record
	maxRecord    = 1024 // hard limit of a record body
	tokenSize    = 32
)

// Errors of the wire format. Callers branch on them with errors.Is.
var (
	ErrMalformed = errors.New("malformed relay message")
	ErrTooLarge  = errors.New("relay record over the size limit")
)

// msgType is the second byte of a control message.
type msgType byte

const (
	msgRegister   msgType = 0x01 // client: be reachable on this connection
	msgConnect    msgType = 0x02 // client: target key
	msgJoin       msgType = 0x03 // client: token
	msgPing       msgType = 0x04 // client, registrations only
	msgDecline    msgType = 0x05 // client: token, registrations only
	msgRegistered msgType = 0x81 // relay: idle timeout in seconds (u16)
	msgInvite     msgType = 0x82 // relay: caller key, token
	msgConnected  msgType = 0x83 // relay: the other peer's key
	msgPong       msgType = 0x84 // relay
	msgRefused    msgType = 0x85 // relay: reason code
	msgObserved   msgType = 0x86 // relay: the client's address as the relay sees it
)

func (t msgType) String() string {
	switch t {
	case msgRegister:
		return "REGISTER"
	case msgConnect:
		return "CONNECT"
	case msgJoin:
		return "JOIN"
	case msgPing:
		return "PING"
	case msgDecline:
		return "DECLINE"
	case msgRegistered:
		return "REGISTERED"
	case msgInvite:
		return "INVITE"
	case msgConnected:
		return "CONNECTED"
	case msgPong:
		return "PONG"
	case msgRefused:
		return "REFUSED"
	case msgObserved:
		return "OBSERVED"
	}
	return fmt.Sprintf("type(0x%02x)", byte(t))
}

// bodyLen is the exact body length of each type; -1 for unknown types.
func (t msgType) bodyLen() int {
	switch t {
	case msgRegister, msgPing, msgPong:
		return 0
	case msgConnect, msgJoin, msgDecline, msgConnected:
		return 32
	case msgRegistered:
		return 2
	case msgInvite:
		return 64
	case msgRefused:
		return 1
	case msgObserved:
		return observedLen
	}
	return -1
}

type token [tokenSize]byte

// observedLen is OBSERVED's body: a 16-byte IPv6 address (IPv4 as an
// IPv4-mapped address) and a u16 port.
const observedLen = 18

// message is one decoded control message. Only the fields of its type are
// set.
type message struct {
	Type   msgType
	Key    identity.PublicKey // CONNECT target, INVITE caller, CONNECTED peer
	Token  token              // JOIN, DECLINE, INVITE
	Idle   uint16             // REGISTERED: idle timeout in seconds
	Reason Reason             // REFUSED
	Addr   netip.AddrPort     // OBSERVED
}

// encodeMessage returns the plaintext of m.
func encodeMessage(m message) []byte {
	b := make([]byte, 2, 2+64)
	b[0], b[1] = Version, byte(m.Type)
	switch m.Type {
	case msgConnect, msgConnected:
		b = append(b, m.Key[:]...)
	case msgJoin, msgDecline:
		b = append(b, m.Token[:]...)
	case msgInvite:
		b = append(append(b, m.Key[:]...), m.Token[:]...)
	case msgRegistered:
		b = binary.BigEndian.AppendUint16(b, m.Idle)
	case msgRefused:
		b = append(b, byte(m.Reason))
	case msgObserved:
		ip := m.Addr.Addr().As16()
		b = binary.BigEndian.AppendUint16(append(b, ip[:]...), m.Addr.Port())
	}
	return b
}

// decodeMessage parses a control message's plaintext. It never panics and
// accepts only the exact body length of the type.
func decodeMessage(b []byte) (message, error) {
	if len(b) < 2 {
		return message{}, fmt.Errorf("control message of %d bytes: %w", len(b), ErrMalformed)
	}
	if b[0] != Version {
		return message{}, fmt.Errorf("control message version %d: %w", b[0], ErrMalformed)
	}
	m := message{Type: msgType(b[1])}
	body := b[2:]
	if want := m.Type.bodyLen(); want < 0 || len(body) != want {
		return message{}, fmt.Errorf("%v with %d body bytes: %w", m.Type, len(body), ErrMalformed)
	}
	switch m.Type {
	case msgConnect, msgConnected:
		copy(m.Key[:], body)
	case msgJoin, msgDecline:
		copy(m.Token[:], body)
	case msgInvite:
		copy(m.Key[:], body[:32])
		copy(m.Token[:], body[32:])
	case msgRegistered:
		m.Idle = binary.BigEndian.Uint16(body)
	case msgRefused:
		m.Reason = Reason(body[0])
	case msgObserved:
		m.Addr = netip.AddrPortFrom(netip.AddrFrom16([16]byte(body[:16])).Unmap(), binary.BigEndian.Uint16(body[16:]))
	}
	return m, nil
}

// readRecord reads exactly one record (length prefix and body) from r,
// never more, so the bytes after it stay unread for the splice. The length
// is checked before anything is allocated.
func readRecord(r io.Reader) ([]byte, error) {
	var hdr [recordPrefix]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("read record length: %w", err)
	}
	n := int(binary.BigEndian.Uint16(hdr[:]))
	if n == 0 || n > maxRecord {
		return nil, fmt.Errorf("record length %d (limit %d): %w", n, maxRecord, ErrTooLarge)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("read record body: %w", err)
	}
	return b, nil
}

// writeRecord writes body as one record with a single Write.
func writeRecord(w io.Writer, body []byte) error {
	if len(body) == 0 || len(body) > maxRecord {
		return fmt.Errorf("write record of %d bytes: %w", len(body), ErrTooLarge)
	}
	b := make([]byte, recordPrefix, recordPrefix+len(body))
	binary.BigEndian.PutUint16(b, uint16(len(body)))
	_, err := w.Write(append(b, body...))
	return err
}
