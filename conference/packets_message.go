package conference

import (
	"crypto/sha256"
	"slices"

	"confchat/identity"
)

// Message kinds (Tox message ids).
const (
	KindPing       byte = 0x00
	KindNewPeer    byte = 0x10
	KindKillPeer   byte = 0x11
	KindFreezePeer byte = 0x12
	KindName       byte = 0x30
	KindTitle      byte = 0x31
	KindMessage    byte = 0x40
	KindAction     byte = 0x41
)

const sigSize = identity.SignatureSize

// signContext prefixes every signed message so the signature cannot be
// replayed in another protocol.
const signContext = "confchat/conference/v1"

// MessagePacket is Tox's flooded 0x63 message:
// 63 receiver-gnum(2) sender-peer(2) number(4) kind(1) data.
// Extension: data = body || Ed25519 signature(64) (a plain auth). A message
// sealed in a batch (auth.go) travels as 0x65 with the same header and
// data = batch auth || body. The part after the group number is relayed
// unchanged.
type MessagePacket struct {
	Group  uint16
	Sender uint16
	Number uint32
	Kind   byte
	Body   []byte // the signed body
	Auth   []byte // plain signature (64 bytes) or batch auth
}

func (*MessagePacket) wire() {}

// Batched reports whether the packet carries a batch auth (0x65).
func (p *MessagePacket) Batched() bool { return len(p.Auth) != sigSize }

// Encode returns the wire bytes.
func (p *MessagePacket) Encode() []byte {
	return p.appendEncode(make([]byte, 0, p.encodedLen()))
}

func (p *MessagePacket) encodedLen() int { return 10 + len(p.Body) + len(p.Auth) }

// appendEncode appends the wire bytes to b.
func (p *MessagePacket) appendEncode(b []byte) []byte {
	if p.Batched() {
		b = append(b, PacketMessageBatch)
	} else {
		b = append(b, PacketMessage)
	}
	b = putU16(b, p.Group)
	b = putU16(b, p.Sender)
	b = putU32(b, p.Number)
	b = append(b, p.Kind)
	if p.Batched() {
		b = append(b, p.Auth...)
		return append(b, p.Body...)
	}
	b = append(b, p.Body...)
	return append(b, p.Auth...)
}

// DecodeMessage decodes a 0x63 or 0x65 packet. It requires a well-formed
// auth (a 64-byte signature; a batch auth of a valid shape).
func DecodeMessage(data []byte) (*MessagePacket, error) {
	if len(data) < 10 || (data[0] != PacketMessage && data[0] != PacketMessageBatch) {
		return nil, malformed("message", "short")
	}
	if len(data) > MaxPacketSize {
		return nil, malformed("message", "too long")
	}
	r := newReader(data[1:])
	p := &MessagePacket{Group: r.u16(), Sender: r.u16(), Number: r.u32(), Kind: r.u8()}
	if data[0] == PacketMessage {
		rest := r.rest()
		if len(rest) < sigSize {
			return nil, malformed("message", "short")
		}
		p.Body, p.Auth = rest[:len(rest)-sigSize], rest[len(rest)-sigSize:]
		return p, nil
	}
	start := r.b
	if _, ok := readBatchAuth(r); !ok {
		return nil, malformed("message", "bad batch auth")
	}
	p.Auth = start[:len(start)-len(r.b)]
	p.Body = r.rest()
	return p, nil
}

// Record is one signed message as kept in the store and carried by history
// sync: origin(32) number(4) kind(1) body-len(2) body auth. Signature holds
// the auth: a plain signature (64 bytes) or a batch auth (auth.go); in a
// record the top bit of body-len says which.
type Record struct {
	Origin    identity.PublicKey
	Number    uint32
	Kind      byte
	Body      []byte
	Signature []byte
}

// SignedBytes is what an origin signs for a message: a context string, the
// conference id, the origin key, the number, the kind and the body.
func SignedBytes(id ID, origin identity.PublicKey, number uint32, kind byte, body []byte) []byte {
	return signedBytes(id, origin, number, kind, body)
}

// signedBytes is what the origin signs: context, conference id, origin key,
// number, kind, body.
func signedBytes(id ID, origin identity.PublicKey, number uint32, kind byte, body []byte) []byte {
	return appendSigned(nil, id, origin, number, kind, body)
}

// appendSigned appends a message's signed bytes to b (growing it once).
func appendSigned(b []byte, id ID, origin identity.PublicKey, number uint32, kind byte, body []byte) []byte {
	b = slices.Grow(b, len(signContext)+IDSize+32+5+len(body))
	b = append(b, signContext...)
	b = append(b, id[:]...)
	b = append(b, origin[:]...)
	b = putU32(b, number)
	b = append(b, kind)
	return append(b, body...)
}

// Verify reports whether the record's auth (either form) is valid for
// conference id.
func (rec Record) Verify(id ID) bool {
	return verifyAuth(id, rec.Origin, signedBytes(id, rec.Origin, rec.Number, rec.Kind, rec.Body), rec.Signature)
}

// Hash is SHA-256 of the signed bytes plus the auth bytes (for a plain
// signature: the signature, as it always was); the fork rule keeps the
// version with the smaller hash.
func (rec Record) Hash(id ID) [32]byte {
	return hashOf(signedBytes(id, rec.Origin, rec.Number, rec.Kind, rec.Body), rec.Signature)
}

// hashOf is SHA-256(signed || auth).
func hashOf(signed, auth []byte) [32]byte {
	h := sha256.New()
	h.Write(signed)
	h.Write(auth)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// Prev returns the origin's previous stored number carried in the body.
func (rec Record) Prev() uint32 {
	prev, _ := bodyPrev(rec.Body)
	return prev
}

// recordBatchFlag in a record's body-len says a batch auth follows the
// body instead of a 64-byte signature (bodies are far below 2^15 bytes).
const recordBatchFlag = 0x8000

// wireSize is the record's encoded length.
func (rec Record) wireSize() int { return 32 + 4 + 1 + 2 + len(rec.Body) + len(rec.Signature) }

func appendRecord(b []byte, rec Record) []byte {
	b = append(b, rec.Origin[:]...)
	b = putU32(b, rec.Number)
	b = append(b, rec.Kind)
	n := uint16(len(rec.Body))
	if len(rec.Signature) != sigSize {
		n |= recordBatchFlag
	}
	b = putU16(b, n)
	b = append(b, rec.Body...)
	return append(b, rec.Signature...)
}

func readRecord(r *reader) (Record, error) {
	rec := Record{Origin: r.key(), Number: r.u32(), Kind: r.u8()}
	n := int(r.u16())
	rec.Body = r.take(n &^ recordBatchFlag)
	if n&recordBatchFlag == 0 {
		rec.Signature = r.take(sigSize)
	} else {
		start := r.b
		if _, ok := readBatchAuth(r); ok {
			rec.Signature = start[:len(start)-len(r.b)]
		}
	}
	if !r.ok {
		return Record{}, malformed("record", "truncated or bad auth")
	}
	if !storedKind(rec.Kind) {
		return Record{}, malformed("record", "kind is not stored")
	}
	if err := validateBody(rec.Kind, rec.Body); err != nil {
		return Record{}, err
	}
	return rec, nil
}

// storedKind reports whether messages of kind are kept and synced. Pings,
// NEW_PEER, KILL and FREEZE are ephemeral: they consume a number but are not
// stored, and stored messages link past them with prev.
func storedKind(kind byte) bool {
	switch kind {
	case KindName, KindTitle, KindMessage, KindAction:
		return true
	}
	return false
}

func bodyPrev(body []byte) (uint32, bool) {
	r := newReader(body)
	p := r.u32()
	return p, r.ok
}

// validateBody checks the body layout of known kinds. Unknown kinds are
// accepted (they are relayed but not interpreted).
func validateBody(kind byte, body []byte) error {
	switch kind {
	case KindPing:
		if len(body) != 4 {
			return malformed("ping", "length")
		}
	case KindNewPeer:
		_, err := decodeNewPeer(body)
		return err
	case KindKillPeer, KindFreezePeer:
		if len(body) != 2 {
			return malformed("leave", "length")
		}
	case KindName:
		if len(body) < 4 || len(body)-4 > MaxNameLength {
			return malformed("name", "length")
		}
	case KindTitle:
		if len(body) < 13 || len(body)-12 > MaxNameLength {
			return malformed("title", "length")
		}
		if _, stamp, _ := titleBody(body); stamp > MaxTitleStamp {
			return malformed("title", "stamp above 2^63-1")
		}
	case KindMessage, KindAction:
		if len(body) < 5 || len(body)-4 > MaxTextLength {
			return malformed("message", "length")
		}
	}
	return nil
}

// newPeerBody is NEW_PEER's body: number(2) key(32) addresses. Deviation:
// addresses replace Tox's 32-byte DHT key.
type newPeerBody struct {
	Number    uint16
	Key       identity.PublicKey
	Addresses []string
	// Listed and Missing (extension: flags(1) after the addresses; with
	// bit 0 set, count(1) and count peer numbers follow): a joiner's first
	// self announcement saying it holds a signed message of every member
	// it was told about except the numbers in Missing. A member that
	// learns the joiner from it answers with its own NEW_PEER only if its
	// number is in Missing. Other flag bits are ignored, for later use.
	Listed  bool
	Missing []uint16
}

const (
	newPeerListed = 0x01
	// maxMissing bounds Missing; a joiner missing more asks everyone
	// (no Listed flag).
	maxMissing = 16
)

func (n newPeerBody) encode() []byte {
	b := putU16(nil, n.Number)
	b = append(b, n.Key[:]...)
	b = putAddresses(b, n.Addresses)
	if n.Listed {
		b = append(b, newPeerListed, byte(len(n.Missing)))
		for _, m := range n.Missing {
			b = putU16(b, m)
		}
	}
	return b
}

func decodeNewPeer(body []byte) (newPeerBody, error) {
	r := newReader(body)
	n := newPeerBody{Number: r.u16(), Key: r.key(), Addresses: r.addresses()}
	if r.ok && len(r.b) > 0 && r.u8()&newPeerListed != 0 {
		n.Listed = true
		c := int(r.u8())
		if c > maxMissing {
			return newPeerBody{}, malformed("new peer", "too many missing numbers")
		}
		for range c {
			n.Missing = append(n.Missing, r.u16())
		}
	}
	if !r.done() {
		return newPeerBody{}, malformed("new peer", "length")
	}
	return n, nil
}

// titleBody splits a TITLE body into prev, Lamport stamp and title.
func titleBody(body []byte) (prev uint32, stamp uint64, title string) {
	r := newReader(body)
	prev, stamp = r.u32(), r.u64()
	return prev, stamp, string(r.rest())
}

// textOf returns the text part (after prev) of a stored body.
func textOf(body []byte) string {
	if len(body) < 4 {
		return ""
	}
	return string(body[4:])
}
