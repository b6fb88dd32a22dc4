package conference

import (
	"crypto/sha256"

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
// Extension: data = body || Ed25519 signature(64). The part after the group
// number is relayed unchanged.
type MessagePacket struct {
	Group  uint16
	Sender uint16
	Number uint32
	Kind   byte
	Data   []byte
}

func (*MessagePacket) wire() {}

// Encode returns the wire bytes.
func (p *MessagePacket) Encode() []byte {
	b := make([]byte, 0, 10+len(p.Data))
	b = putU16(append(b, PacketMessage), p.Group)
	b = putU16(b, p.Sender)
	b = putU32(b, p.Number)
	b = append(b, p.Kind)
	return append(b, p.Data...)
}

// Body returns the signed body (data without the signature).
func (p *MessagePacket) Body() []byte { return p.Data[:len(p.Data)-sigSize] }

// Signature returns the trailing signature.
func (p *MessagePacket) Signature() []byte { return p.Data[len(p.Data)-sigSize:] }

// DecodeMessage decodes a 0x63 packet. It requires room for a signature.
func DecodeMessage(data []byte) (*MessagePacket, error) {
	if len(data) < 10+sigSize || data[0] != PacketMessage {
		return nil, malformed("message", "short")
	}
	if len(data) > MaxPacketSize {
		return nil, malformed("message", "too long")
	}
	r := newReader(data[1:])
	p := &MessagePacket{Group: r.u16(), Sender: r.u16(), Number: r.u32(), Kind: r.u8()}
	p.Data = r.rest()
	return p, nil
}

// Record is one signed message as kept in the store and carried by history
// sync: origin(32) number(4) kind(1) body-len(2) body signature(64).
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
	b := make([]byte, 0, len(signContext)+IDSize+32+5+len(body))
	b = append(b, signContext...)
	b = append(b, id[:]...)
	b = append(b, origin[:]...)
	b = putU32(b, number)
	b = append(b, kind)
	return append(b, body...)
}

// Verify reports whether the record's signature is valid for conference id.
func (rec Record) Verify(id ID) bool {
	return rec.Origin.Verify(signedBytes(id, rec.Origin, rec.Number, rec.Kind, rec.Body), rec.Signature)
}

// Hash is SHA-256 of the signed bytes plus signature; the fork rule keeps
// the version with the smaller hash.
func (rec Record) Hash(id ID) [32]byte {
	b := signedBytes(id, rec.Origin, rec.Number, rec.Kind, rec.Body)
	return sha256.Sum256(append(b, rec.Signature...))
}

// Prev returns the origin's previous stored number carried in the body.
func (rec Record) Prev() uint32 {
	prev, _ := bodyPrev(rec.Body)
	return prev
}

func appendRecord(b []byte, rec Record) []byte {
	b = append(b, rec.Origin[:]...)
	b = putU32(b, rec.Number)
	b = append(b, rec.Kind)
	b = putU16(b, uint16(len(rec.Body)))
	b = append(b, rec.Body...)
	return append(b, rec.Signature...)
}

func readRecord(r *reader) (Record, error) {
	rec := Record{Origin: r.key(), Number: r.u32(), Kind: r.u8()}
	n := int(r.u16())
	rec.Body = r.take(n)
	rec.Signature = r.take(sigSize)
	if !r.ok {
		return Record{}, malformed("record", "truncated")
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
}

func (n newPeerBody) encode() []byte {
	b := putU16(nil, n.Number)
	b = append(b, n.Key[:]...)
	return putAddresses(b, n.Addresses)
}

func decodeNewPeer(body []byte) (newPeerBody, error) {
	r := newReader(body)
	n := newPeerBody{Number: r.u16(), Key: r.key(), Addresses: r.addresses()}
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
