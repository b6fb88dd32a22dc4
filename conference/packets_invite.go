package conference

// InvitePacket is Tox's 0x60/0x00 Invite: 37 bytes,
// 60 00 inviter-gnum(2) type(1) id(32).
type InvitePacket struct {
	InviterGroup uint16
	ID           ID
}

// InviteAcceptPacket is 0x60/0x01 (accept, 38-byte payload) or, with Member
// set, 0x60/0x02 (the "already a member" response, 40-byte payload with the
// responder's peer number).
type InviteAcceptPacket struct {
	JoinerGroup  uint16 // sender's group number
	InviterGroup uint16 // receiver's group number (from the cookie)
	ID           ID
	Member       bool
	PeerNumber   uint16 // only if Member
}

// OnlinePacket is 0x61: sender-gnum(2) type(1) id(32).
type OnlinePacket struct {
	SenderGroup uint16
	ID          ID
}

// RejoinPacket is 0x64: type(1) id(32). Longer payloads are accepted (Tox).
type RejoinPacket struct {
	ID ID
}

func (*InvitePacket) wire()       {}
func (*InviteAcceptPacket) wire() {}
func (*OnlinePacket) wire()       {}
func (*RejoinPacket) wire()       {}

// Encode returns the wire bytes.
func (p *InvitePacket) Encode() []byte {
	b := []byte{PacketInvite, inviteSubInvite}
	b = putU16(b, p.InviterGroup)
	return append(b, p.ID[:]...)
}

// Cookie returns the 35-byte join cookie (inviter gnum, type, id).
func (p *InvitePacket) Cookie() []byte { return p.Encode()[2:] }

// Encode returns the wire bytes.
func (p *InviteAcceptPacket) Encode() []byte {
	sub := inviteSubAccept
	if p.Member {
		sub = inviteSubMember
	}
	b := []byte{PacketInvite, sub}
	b = putU16(b, p.JoinerGroup)
	b = putU16(b, p.InviterGroup)
	b = append(b, p.ID[:]...)
	if p.Member {
		b = putU16(b, p.PeerNumber)
	}
	return b
}

// Encode returns the wire bytes.
func (p *OnlinePacket) Encode() []byte {
	b := putU16([]byte{PacketOnline}, p.SenderGroup)
	return append(b, p.ID[:]...)
}

// Encode returns the wire bytes.
func (p *RejoinPacket) Encode() []byte { return append([]byte{PacketRejoin}, p.ID[:]...) }

// DecodeInviteFamily decodes any 0x60 packet.
func DecodeInviteFamily(data []byte) (Wire, error) {
	if len(data) < 2 || data[0] != PacketInvite {
		return nil, malformed("invite", "short or wrong id")
	}
	switch data[1] {
	case inviteSubInvite:
		return decodeInvite(data)
	case inviteSubAccept:
		return decodeAccept(data, false)
	case inviteSubMember:
		return decodeAccept(data, true)
	}
	return nil, malformed("invite", "unknown sub-id")
}

func decodeInvite(data []byte) (*InvitePacket, error) {
	if len(data) != 37 {
		return nil, malformed("invite", "length")
	}
	r := newReader(data[2:])
	p := &InvitePacket{InviterGroup: r.u16(), ID: r.id()}
	return p, nil
}

func decodeAccept(data []byte, member bool) (*InviteAcceptPacket, error) {
	want := 39
	if member {
		want = 41
	}
	if len(data) != want {
		return nil, malformed("invite accept", "length")
	}
	r := newReader(data[2:])
	p := &InviteAcceptPacket{JoinerGroup: r.u16(), InviterGroup: r.u16(), ID: r.id(), Member: member}
	if member {
		p.PeerNumber = r.u16()
	}
	return p, nil
}

// DecodeCookie parses a 35-byte join cookie.
func DecodeCookie(cookie []byte) (*InvitePacket, error) {
	if len(cookie) != 35 {
		return nil, ErrBadCookie
	}
	return decodeInvite(append([]byte{PacketInvite, inviteSubInvite}, cookie...))
}

// DecodeOnline decodes a 0x61 packet (exactly 36 bytes).
func DecodeOnline(data []byte) (*OnlinePacket, error) {
	if len(data) != 36 || data[0] != PacketOnline {
		return nil, malformed("online", "length")
	}
	r := newReader(data[1:])
	return &OnlinePacket{SenderGroup: r.u16(), ID: r.id()}, nil
}

// DecodeRejoin decodes a 0x64 packet (at least 34 bytes).
func DecodeRejoin(data []byte) (*RejoinPacket, error) {
	if len(data) < 34 || data[0] != PacketRejoin {
		return nil, malformed("rejoin", "length")
	}
	return &RejoinPacket{ID: newReader(data[1:]).id()}, nil
}
