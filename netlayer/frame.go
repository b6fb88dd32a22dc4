package netlayer

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Wire format. Every message on a connection, handshake or transport, is a
// record: a 4-byte big-endian length followed by that many bytes. The reader
// checks the length against its limit before it allocates anything.
const (
	lenPrefix    = 4
	tagSize      = 16       // ChaCha20-Poly1305 tag
	maxRecordCap = 16 << 20 // hard ceiling for MaxFrameSize
	// handshakeLimit bounds a Noise handshake message (ours are < 200 bytes).
	handshakeLimit = 1024
	// seqHeader is type + seq + ack in front of a sequenced payload.
	seqHeader = 1 + 8 + 8
	ackHeader = 1 + 8
)

// recordLimit is the largest ciphertext a transport record may have for a
// given MaxFrameSize.
func recordLimit(maxFrame int) int { return maxFrame + seqHeader + tagSize }

// recordType is the first plaintext byte of a transport record.
type recordType byte

const (
	recData    recordType = 1 // seq, ack, payload: an application frame
	recClosing recordType = 2 // seq, ack: the sender's last frame; it closes
	recClosed  recordType = 3 // seq, ack: the answer to CLOSING
	recAck     recordType = 4 // ack
	recPing    recordType = 5 // ack; sent by the accepting side
	recPong    recordType = 6 // ack; the dialing side's answer
	recHello   recordType = 7 // dialer's session claim (see hello)
	recWelcome recordType = 8 // listener's acceptance (see welcome)
	recReject  recordType = 9 // listener's refusal: a code byte
	// recMark ends a path during a migration: seq is the first sequence
	// number the sender will send on the new path (every frame below it
	// went on this one), ack as usual. It takes no sequence number.
	recMark recordType = 10
)

func (t recordType) sequenced() bool { return t == recData || t == recClosing || t == recClosed }

// seqLayout reports whether t's plaintext is type, seq, ack[, payload].
func (t recordType) seqLayout() bool { return t.sequenced() || t == recMark }

func (t recordType) String() string {
	names := [...]string{"?", "DATA", "CLOSING", "CLOSED", "ACK", "PING", "PONG", "HELLO", "WELCOME", "REJECT", "MARK"}
	if int(t) < len(names) {
		return names[t]
	}
	return fmt.Sprintf("type(%d)", byte(t))
}

// record is a decoded transport record. Payload aliases the decoded buffer.
type record struct {
	Type    recordType
	Seq     uint64 // sequenced types only
	Ack     uint64 // every type except HELLO, WELCOME, REJECT
	Payload []byte // DATA payload, or the body of HELLO/WELCOME/REJECT

	// room, when set, is Payload with seqHeader bytes in front, so a link's
	// writer can put the header there and seal straight from it without
	// copying the payload. Writers of the session's links take turns on it
	// under Session.sealMu; nothing else touches those header bytes.
	room []byte
}

// encodeRecord returns the plaintext of r.
func encodeRecord(r record) []byte { return appendRecord(make([]byte, 0, r.size()), r) }

// size is the length of r's plaintext.
func (r record) size() int {
	switch {
	case r.Type.seqLayout():
		return seqHeader + len(r.Payload)
	case r.Type == recAck || r.Type == recPing || r.Type == recPong:
		return ackHeader
	}
	return 1 + len(r.Payload)
}

// appendRecord appends r's plaintext to dst.
func appendRecord(dst []byte, r record) []byte {
	dst = append(dst, byte(r.Type))
	switch {
	case r.Type.seqLayout():
		dst = binary.BigEndian.AppendUint64(dst, r.Seq)
		dst = binary.BigEndian.AppendUint64(dst, r.Ack)
		return append(dst, r.Payload...)
	case r.Type == recAck || r.Type == recPing || r.Type == recPong:
		return binary.BigEndian.AppendUint64(dst, r.Ack)
	}
	return append(dst, r.Payload...)
}

// decodeRecord parses a plaintext record. It never panics.
func decodeRecord(b []byte) (record, error) {
	if len(b) == 0 {
		return record{}, fmt.Errorf("record: empty: %w", ErrMalformed)
	}
	r := record{Type: recordType(b[0])}
	switch {
	case r.Type.seqLayout():
		if len(b) < seqHeader {
			return record{}, fmt.Errorf("record %v: %d bytes: %w", r.Type, len(b), ErrMalformed)
		}
		r.Seq = binary.BigEndian.Uint64(b[1:])
		r.Ack = binary.BigEndian.Uint64(b[9:])
		r.Payload = b[seqHeader:]
		if r.Type != recData && len(r.Payload) != 0 {
			return record{}, fmt.Errorf("record %v: trailing bytes: %w", r.Type, ErrMalformed)
		}
	case r.Type == recAck || r.Type == recPing || r.Type == recPong:
		if len(b) != ackHeader {
			return record{}, fmt.Errorf("record %v: %d bytes: %w", r.Type, len(b), ErrMalformed)
		}
		r.Ack = binary.BigEndian.Uint64(b[1:])
	case r.Type == recHello || r.Type == recWelcome || r.Type == recReject:
		r.Payload = b[1:]
	default:
		return record{}, fmt.Errorf("record: unknown type %d: %w", b[0], ErrMalformed)
	}
	return r, nil
}

// readRecord reads one length-prefixed record into buf (grown as needed)
// and returns it. A length over limit fails with ErrFrameTooLarge before
// anything is allocated; a length under minLen fails with ErrShortFrame.
func readRecord(r io.Reader, buf []byte, limit, minLen int) ([]byte, error) {
	n, err := readRecordLen(r, limit, minLen)
	if err != nil {
		return nil, err
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("read record body: %w", err)
	}
	return buf, nil
}

// readRecordLen reads a record's length prefix and checks it against limit
// and minLen as readRecord does.
func readRecordLen(r io.Reader, limit, minLen int) (int, error) {
	var hdr [lenPrefix]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, fmt.Errorf("read length: %w", err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if uint64(n) > uint64(limit) {
		return 0, fmt.Errorf("read record: length %d over %d: %w", n, limit, ErrFrameTooLarge)
	}
	if int(n) < minLen {
		return 0, fmt.Errorf("read record: length %d under %d: %w", n, minLen, ErrShortFrame)
	}
	return int(n), nil
}

// appendLenPrefix reserves a length prefix at the start of a new record
// buffer; finishRecord fills it in.
func newRecordBuf(capacity int) []byte { return make([]byte, lenPrefix, lenPrefix+capacity) }

func finishRecord(b []byte) []byte {
	binary.BigEndian.PutUint32(b, uint32(len(b)-lenPrefix))
	return b
}

// writeRecord writes body as one length-prefixed record.
func writeRecord(w io.Writer, body []byte) error {
	b := append(newRecordBuf(len(body)), body...)
	_, err := w.Write(finishRecord(b))
	return err
}
