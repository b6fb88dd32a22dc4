package conference

// Packet ids (the first byte of every conference packet; Tox values).
const (
	PacketInvite  byte = 0x60
	PacketOnline  byte = 0x61
	PacketDirect  byte = 0x62
	PacketMessage byte = 0x63
	PacketRejoin  byte = 0x64
	// PacketMessageBatch is confchat's 0x63 with a batch auth (auth.go).
	PacketMessageBatch byte = 0x65
)

// Invite sub-ids (second byte of 0x60 packets).
const (
	inviteSubInvite byte = 0x00
	inviteSubAccept byte = 0x01
	inviteSubMember byte = 0x02
)

// Direct (0x62) sub-ids. 0x01, 0x08, 0x09, 0x0A are Tox's; 0x20.. are
// confchat's history-sync extension.
const (
	directPeerIntroduced  byte = 0x01
	directPeerQuery       byte = 0x08
	directPeerResponse    byte = 0x09
	directTitleResponse   byte = 0x0A
	directSummary         byte = 0x20
	directRequest         byte = 0x21
	directBatch           byte = 0x22
	directFloors          byte = 0x23
	directHistoryRequest  byte = 0x24
	directNumberHint      byte = 0x25
	directNumberHintBatch byte = 0x26
	directPeerProof       byte = 0x27
	directPeerProofBatch  byte = 0x28
	directHolding         byte = 0x29
)

// Wire is a decoded conference packet. The set is closed: the types in this
// package are the only implementations.
type Wire interface {
	Encode() []byte
	wire()
}

// DecodePacket decodes any conference packet. It never panics; errors wrap
// ErrMalformed or ErrUnknownPacket.
func DecodePacket(data []byte) (Wire, error) {
	if len(data) == 0 {
		return nil, malformed("packet", "empty")
	}
	if len(data) > MaxPacketSize {
		return nil, malformed("packet", "larger than MaxPacketSize")
	}
	switch data[0] {
	case PacketInvite:
		return DecodeInviteFamily(data)
	case PacketOnline:
		return DecodeOnline(data)
	case PacketRejoin:
		return DecodeRejoin(data)
	case PacketDirect:
		return DecodeDirect(data)
	case PacketMessage, PacketMessageBatch:
		return DecodeMessage(data)
	}
	return nil, ErrUnknownPacket
}

// Route tells the node which engine a packet belongs to: by conference ID
// (Invite family, Online, Rejoin) or by the receiver's group number (Direct,
// Message, and the Invite accept / member response, which carry both).
type Route struct {
	ID             ID
	HasID          bool
	GroupNumber    uint16
	HasGroupNumber bool
	// Invite is true for a 0x60/0x00 Invite: if no engine holds ID, the node
	// turns it into an Invited event with InvitedFrom.
	Invite bool
}

// RouteOf inspects a packet's addressing fields without decoding the rest.
func RouteOf(data []byte) (Route, error) {
	w, err := DecodePacket(data)
	if err != nil {
		return Route{}, err
	}
	switch p := w.(type) {
	case *InvitePacket:
		return Route{ID: p.ID, HasID: true, Invite: true}, nil
	case *InviteAcceptPacket:
		return Route{ID: p.ID, HasID: true, GroupNumber: p.InviterGroup, HasGroupNumber: true}, nil
	case *OnlinePacket:
		return Route{ID: p.ID, HasID: true}, nil
	case *RejoinPacket:
		return Route{ID: p.ID, HasID: true}, nil
	case *MessagePacket:
		return Route{GroupNumber: p.Group, HasGroupNumber: true}, nil
	case directPacket:
		return Route{GroupNumber: p.group(), HasGroupNumber: true}, nil
	}
	return Route{}, ErrUnknownPacket
}
