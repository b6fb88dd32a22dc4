package conference

import "confchat/identity"

// SummaryEntry says what a member holds of one origin's stored messages:
// the lowest number it keeps (Floor), the end of its contiguous prev-chain
// from the floor (HWM), the highest number it holds (Top) and a fingerprint
// over the hashes of the messages up to HWM (detects forks).
type SummaryEntry struct {
	Origin      identity.PublicKey
	Floor       uint32
	HWM         uint32
	Top         uint32
	Fingerprint uint64
}

const summaryEntrySize = 32 + 4 + 4 + 4 + 8

// SummaryPacket is 0x62/0x20 (extension): entries of SummaryEntry.
type SummaryPacket struct {
	Group   uint16
	Entries []SummaryEntry
}

// RequestEntry asks for origin's stored messages with From ≤ number ≤ To.
type RequestEntry struct {
	Origin identity.PublicKey
	From   uint32
	To     uint32
}

// RequestPacket is 0x62/0x21 (extension).
type RequestPacket struct {
	Group   uint16
	Entries []RequestEntry
}

// BatchPacket is 0x62/0x22 (extension): records exactly as signed. Fetched
// messages are never re-flooded.
type BatchPacket struct {
	Group   uint16
	Records []Record
}

// FloorEntry fixes a joiner's floor for one origin.
type FloorEntry struct {
	Origin identity.PublicKey
	Floor  uint32
}

// FloorsPacket is 0x62/0x23 (extension): sent to a joiner before the recent
// history; it says how many BATCH packets follow and from which number the
// joiner keeps each origin: batches(2) then entries origin(32) floor(4).
type FloorsPacket struct {
	Group   uint16
	Batches uint16
	Entries []FloorEntry
}

// HistoryRequestPacket is 0x62/0x24 (extension): a joiner asks for the last
// Count messages of the conference.
type HistoryRequestPacket struct {
	Group uint16
	Count uint16
}

func (*SummaryPacket) wire()                  {}
func (*RequestPacket) wire()                  {}
func (*BatchPacket) wire()                    {}
func (*FloorsPacket) wire()                   {}
func (*HistoryRequestPacket) wire()           {}
func (p *SummaryPacket) group() uint16        { return p.Group }
func (p *RequestPacket) group() uint16        { return p.Group }
func (p *BatchPacket) group() uint16          { return p.Group }
func (p *FloorsPacket) group() uint16         { return p.Group }
func (p *HistoryRequestPacket) group() uint16 { return p.Group }

// Encode returns the wire bytes.
func (p *SummaryPacket) Encode() []byte {
	b := directHeader(p.Group, directSummary)
	for _, e := range p.Entries {
		b = append(b, e.Origin[:]...)
		b = putU32(b, e.Floor)
		b = putU32(b, e.HWM)
		b = putU32(b, e.Top)
		b = putU64(b, e.Fingerprint)
	}
	return b
}

// Encode returns the wire bytes.
func (p *RequestPacket) Encode() []byte {
	b := directHeader(p.Group, directRequest)
	for _, e := range p.Entries {
		b = append(b, e.Origin[:]...)
		b = putU32(b, e.From)
		b = putU32(b, e.To)
	}
	return b
}

// Encode returns the wire bytes.
func (p *BatchPacket) Encode() []byte {
	b := directHeader(p.Group, directBatch)
	for _, rec := range p.Records {
		b = appendRecord(b, rec)
	}
	return b
}

// Encode returns the wire bytes.
func (p *FloorsPacket) Encode() []byte {
	b := putU16(directHeader(p.Group, directFloors), p.Batches)
	for _, e := range p.Entries {
		b = append(b, e.Origin[:]...)
		b = putU32(b, e.Floor)
	}
	return b
}

// Encode returns the wire bytes.
func (p *HistoryRequestPacket) Encode() []byte {
	return putU16(directHeader(p.Group, directHistoryRequest), p.Count)
}

// NumberHintPacket is 0x62/0x25 (extension): sent to a member whose
// message reused a number we already saw from it; it carries the highest
// signed message we saw from that member (sender(2) number(4) kind(1) data),
// so the member can verify its own signature and skip past it.
type NumberHintPacket struct {
	Group   uint16
	Message MessagePacket
}

func (*NumberHintPacket) wire()               {}
func (p *NumberHintPacket) group() uint16     { return p.Group }
func (p *NumberHintPacket) setGroup(g uint16) { p.Group = g }

// Encode returns the wire bytes. A message with a batch auth goes as
// 0x62/0x26 (its data as in 0x65: auth || body).
func (p *NumberHintPacket) Encode() []byte {
	return encodeCarried(p.Group, directNumberHint, directNumberHintBatch, &p.Message)
}

// HoldingPacket is 0x62/0x29 (extension): "I hold your messages along
// your prev chain up to UpTo", sent at the end of a turn to a member whose
// stored messages reached us from it directly in that turn. It replaces
// Tox's echo of every flooded message back to its origin (one small packet
// per turn instead of a full copy per message); the origin moves its
// delivered mark with it.
type HoldingPacket struct {
	Group uint16
	UpTo  uint32
}

func (*HoldingPacket) wire()               {}
func (p *HoldingPacket) group() uint16     { return p.Group }
func (p *HoldingPacket) setGroup(g uint16) { p.Group = g }

// Encode returns the wire bytes.
func (p *HoldingPacket) Encode() []byte {
	return putU32(directHeader(p.Group, directHolding), p.UpTo)
}

// PeerProofPacket is 0x62/0x27 (extension, sent after a Peer Response):
// the latest signed message we hold from one of the members the response
// listed, in the NUMBER HINT layout. The receiver holds that member as a
// hint (the entry is unsigned by it); the message, once verified against
// the hint's key, makes it a member at once instead of at its next
// flooded message.
type PeerProofPacket struct {
	Group   uint16
	Message MessagePacket
}

func (*PeerProofPacket) wire()               {}
func (p *PeerProofPacket) group() uint16     { return p.Group }
func (p *PeerProofPacket) setGroup(g uint16) { p.Group = g }

// Encode returns the wire bytes (0x62/0x28 for a batch auth).
func (p *PeerProofPacket) Encode() []byte {
	return encodeCarried(p.Group, directPeerProof, directPeerProofBatch, &p.Message)
}

// encodeCarried encodes a direct packet that carries one flooded message:
// sub (or batchSub for a batch auth), then the message's data as in 0x64
// or 0x65 (sender(2) number(4) kind(1) data).
func encodeCarried(group uint16, sub, batchSub byte, m *MessagePacket) []byte {
	if m.Batched() {
		sub = batchSub
	}
	return append(directHeader(group, sub), m.Encode()[3:]...)
}

// decodeCarried decodes the message an encodeCarried packet carries.
func decodeCarried(body []byte, batched bool) (*MessagePacket, error) {
	id := PacketMessage
	if batched {
		id = PacketMessageBatch
	}
	return DecodeMessage(append([]byte{id, 0, 0}, body...))
}

func decodeSyncPacket(group uint16, sub byte, body []byte) (Wire, error) {
	switch sub {
	case directNumberHint, directNumberHintBatch:
		m, err := decodeCarried(body, sub == directNumberHintBatch)
		if err != nil {
			return nil, err
		}
		return &NumberHintPacket{Group: group, Message: *m}, nil
	case directPeerProof, directPeerProofBatch:
		m, err := decodeCarried(body, sub == directPeerProofBatch)
		if err != nil {
			return nil, err
		}
		return &PeerProofPacket{Group: group, Message: *m}, nil
	case directSummary:
		return decodeSummary(group, body)
	case directRequest:
		return decodeRequest(group, body)
	case directBatch:
		return decodeBatch(group, body)
	case directFloors:
		return decodeFloors(group, body)
	case directHolding:
		if len(body) != 4 {
			return nil, malformed("holding", "length")
		}
		return &HoldingPacket{Group: group, UpTo: newReader(body).u32()}, nil
	case directHistoryRequest:
		if len(body) != 2 {
			return nil, malformed("history request", "length")
		}
		return &HistoryRequestPacket{Group: group, Count: newReader(body).u16()}, nil
	}
	return nil, malformed("direct", "unknown sub-id")
}

func decodeSummary(group uint16, body []byte) (*SummaryPacket, error) {
	if len(body)%summaryEntrySize != 0 {
		return nil, malformed("summary", "length")
	}
	p := &SummaryPacket{Group: group}
	r := newReader(body)
	for len(r.b) > 0 {
		p.Entries = append(p.Entries, SummaryEntry{
			Origin: r.key(), Floor: r.u32(), HWM: r.u32(), Top: r.u32(), Fingerprint: r.u64(),
		})
	}
	return p, nil
}

func decodeRequest(group uint16, body []byte) (*RequestPacket, error) {
	if len(body)%40 != 0 {
		return nil, malformed("request", "length")
	}
	p := &RequestPacket{Group: group}
	r := newReader(body)
	for len(r.b) > 0 {
		e := RequestEntry{Origin: r.key(), From: r.u32(), To: r.u32()}
		if e.From > e.To {
			return nil, malformed("request", "empty range")
		}
		p.Entries = append(p.Entries, e)
	}
	return p, nil
}

func decodeBatch(group uint16, body []byte) (*BatchPacket, error) {
	p := &BatchPacket{Group: group}
	r := newReader(body)
	for len(r.b) > 0 {
		rec, err := readRecord(r)
		if err != nil {
			return nil, err
		}
		p.Records = append(p.Records, rec)
	}
	return p, nil
}

func decodeFloors(group uint16, body []byte) (*FloorsPacket, error) {
	if len(body) < 2 || (len(body)-2)%36 != 0 {
		return nil, malformed("floors", "length")
	}
	r := newReader(body)
	p := &FloorsPacket{Group: group, Batches: r.u16()}
	for len(r.b) > 0 {
		p.Entries = append(p.Entries, FloorEntry{Origin: r.key(), Floor: r.u32()})
	}
	return p, nil
}
