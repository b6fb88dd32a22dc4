package conference

import "confchat/identity"

// directPacket is any 0x62 packet: 62 receiver-gnum(2) sub-id(1) data.
type directPacket interface {
	Wire
	group() uint16
}

// PeerIntroducedPacket is 0x62/0x01: "I no longer need you as my introducer".
type PeerIntroducedPacket struct{ Group uint16 }

// PeerQueryPacket is 0x62/0x08: "send me your active peers".
type PeerQueryPacket struct{ Group uint16 }

// PeerEntry is one Peer Response entry. Deviation from Tox: the 32-byte DHT
// key is replaced by the peer's address list (count(1), then len(1)+bytes).
type PeerEntry struct {
	Number    uint16
	Key       identity.PublicKey
	Addresses []string
	Name      string
}

// PeerResponsePacket is 0x62/0x09: entries number(2) key(32) addresses
// name-len(1) name.
type PeerResponsePacket struct {
	Group   uint16
	Entries []PeerEntry
}

// TitleResponsePacket is 0x62/0x0A. Deviation: it carries the winning signed
// TITLE record instead of bare title bytes, so it is verifiable and ordered
// by the title rule.
type TitleResponsePacket struct {
	Group uint16
	Title Record
}

func (*PeerIntroducedPacket) wire()           {}
func (*PeerQueryPacket) wire()                {}
func (*PeerResponsePacket) wire()             {}
func (*TitleResponsePacket) wire()            {}
func (p *PeerIntroducedPacket) group() uint16 { return p.Group }
func (p *PeerQueryPacket) group() uint16      { return p.Group }
func (p *PeerResponsePacket) group() uint16   { return p.Group }
func (p *TitleResponsePacket) group() uint16  { return p.Group }

func directHeader(group uint16, sub byte) []byte {
	return append(putU16([]byte{PacketDirect}, group), sub)
}

// Encode returns the wire bytes.
func (p *PeerIntroducedPacket) Encode() []byte { return directHeader(p.Group, directPeerIntroduced) }

// Encode returns the wire bytes.
func (p *PeerQueryPacket) Encode() []byte { return directHeader(p.Group, directPeerQuery) }

// Encode returns the wire bytes (one packet; see chunkPeerResponses).
func (p *PeerResponsePacket) Encode() []byte {
	b := directHeader(p.Group, directPeerResponse)
	for _, e := range p.Entries {
		b = appendPeerEntry(b, e)
	}
	return b
}

func appendPeerEntry(b []byte, e PeerEntry) []byte {
	b = putU16(b, e.Number)
	b = append(b, e.Key[:]...)
	b = putAddresses(b, e.Addresses)
	name := e.Name
	if len(name) > MaxNameLength {
		name = name[:MaxNameLength]
	}
	b = append(b, byte(len(name)))
	return append(b, name...)
}

// Encode returns the wire bytes.
func (p *TitleResponsePacket) Encode() []byte {
	return appendRecord(directHeader(p.Group, directTitleResponse), p.Title)
}

// chunkPeerResponses splits entries into packets of at most maxSize bytes.
func chunkPeerResponses(group uint16, entries []PeerEntry, maxSize int) [][]byte {
	var out [][]byte
	cur := directHeader(group, directPeerResponse)
	n := 0
	for _, e := range entries {
		enc := appendPeerEntry(nil, e)
		if n > 0 && len(cur)+len(enc) > maxSize {
			out = append(out, cur)
			cur = directHeader(group, directPeerResponse)
			n = 0
		}
		cur = append(cur, enc...)
		n++
	}
	if n > 0 {
		out = append(out, cur)
	}
	return out
}

// DecodeDirect decodes any 0x62 packet.
func DecodeDirect(data []byte) (Wire, error) {
	if len(data) < 4 || data[0] != PacketDirect {
		return nil, malformed("direct", "short")
	}
	r := newReader(data[1:])
	group := r.u16()
	sub := r.u8()
	body := r.rest()
	switch sub {
	case directPeerIntroduced:
		return &PeerIntroducedPacket{Group: group}, nil
	case directPeerQuery:
		return &PeerQueryPacket{Group: group}, nil
	case directPeerResponse:
		return decodePeerResponse(group, body)
	case directTitleResponse:
		return decodeTitleResponse(group, body)
	}
	return decodeSyncPacket(group, sub, body)
}

// decodePeerResponse decodes all entries. Unlike C it rejects the packet if
// any entry is truncated; well-formed entries are never cut short by C
// senders, so this only refuses garbage.
func decodePeerResponse(group uint16, body []byte) (*PeerResponsePacket, error) {
	p := &PeerResponsePacket{Group: group}
	r := newReader(body)
	for r.ok && len(r.b) > 0 {
		e := PeerEntry{Number: r.u16(), Key: r.key(), Addresses: r.addresses()}
		l := int(r.u8())
		if l > MaxNameLength {
			return nil, malformed("peer response", "name too long")
		}
		e.Name = string(r.take(l))
		if !r.ok {
			return nil, malformed("peer response", "truncated entry")
		}
		p.Entries = append(p.Entries, e)
	}
	return p, nil
}

func decodeTitleResponse(group uint16, body []byte) (*TitleResponsePacket, error) {
	r := newReader(body)
	rec, err := readRecord(r)
	if err != nil {
		return nil, err
	}
	if !r.done() {
		return nil, malformed("title response", "trailing bytes")
	}
	return &TitleResponsePacket{Group: group, Title: rec}, nil
}
