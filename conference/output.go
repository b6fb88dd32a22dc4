package conference

import (
	"time"

	"confchat/identity"
)

// Ready is one batch of pending engine outputs. The embedder persists Rows
// first, then sends Packets, then applies Sessions, then emits Events, then
// calls Engine.Advance (or Engine.Abort if persisting the Rows failed).
type Ready struct {
	Rows     []Row
	Packets  []Outgoing
	Sessions []SessionWish
	Events   []Event
	// Loads ask for stored records the engine keeps without their bodies
	// (older than Config.HotWindow). After the Rows are persisted, the
	// embedder reads each from its database and hands the records to
	// Engine.Loaded, in order, one call per Load (with nil records if
	// reading failed). Loads are cleared by Advance like everything else.
	Loads []Load
}

// Load asks for origin's stored records numbered From..To, in number
// order, at most Max of them (a neighbour's history request, Peer, needs
// them).
type Load struct {
	Peer     identity.PublicKey
	Origin   identity.PublicKey
	From, To uint32
	Max      int
}

// Empty reports whether the batch holds nothing.
func (r Ready) Empty() bool {
	return len(r.Rows) == 0 && len(r.Packets) == 0 && len(r.Sessions) == 0 && len(r.Events) == 0 &&
		len(r.Loads) == 0
}

// Outgoing is one packet for the session to To. Packets to the same key must
// be delivered in order; a packet whose session is down may be dropped.
type Outgoing struct {
	To   identity.PublicKey
	Data []byte
}

// SessionWish asks the node to open (Want) or release (!Want) a session to
// Peer, dialling Addresses if it has no better route. Tox's "group
// connection to a non-friend" becomes such a wish.
type SessionWish struct {
	Peer      identity.PublicKey
	Addresses []string
	Want      bool
}

// Row is one record to persist. The set is closed.
type Row interface{ row() }

// MetaRow is the conference's own state. NextNumber is the next message
// number this member will use; it is emitted before any packet carrying a
// number is returned, so a restart never reuses one.
type MetaRow struct {
	ID         ID
	SelfNumber uint16
	NextNumber uint32
	Connected  bool // false while joining
	Left       bool
	MaxFrozen  int
	// Delivered: another member holds our messages numbered <= Delivered
	// (monotonic; Restore takes it back).
	Delivered uint32
}

// PeerRow is one other member (active or frozen; on restore all are frozen).
// HighestSeen is the highest message number seen from it, so replays of old
// ephemeral messages are refused after a restart.
type PeerRow struct {
	Key         identity.PublicKey
	Number      uint16
	Addresses   []string
	Name        string
	LastActive  time.Time
	HighestSeen uint32
}

// PeerDeletedRow removes a member (it left with KILL, or was replaced).
type PeerDeletedRow struct{ Key identity.PublicKey }

// MessageRow is one stored signed message. Prev is the origin's previous
// stored number (also inside Body). Forked marks an origin whose number was
// signed twice; the stored version is the canonical one.
type MessageRow struct {
	Origin    identity.PublicKey
	Number    uint32
	Prev      uint32
	Kind      byte
	Body      []byte
	Signature []byte
	Received  time.Time
	Forked    bool
	// Fingerprint is the first 8 bytes of the record's hash (what
	// IndexRow.Fingerprint wants back on restore; store it to spare the
	// restore a read of the body).
	Fingerprint uint64
}

// MessageDeletedRow removes a stored message (pruned or replaced by the
// canonical side of a fork).
type MessageDeletedRow struct {
	Origin identity.PublicKey
	Number uint32
}

// FloorRow is the lowest number of Origin this member keeps; Fixed floors
// (set at join) are never lowered by peers' summaries.
type FloorRow struct {
	Origin identity.PublicKey
	Floor  uint32
	Fixed  bool
}

func (MetaRow) row()           {}
func (PeerRow) row()           {}
func (PeerDeletedRow) row()    {}
func (MessageRow) row()        {}
func (MessageDeletedRow) row() {}
func (FloorRow) row()          {}

// Record returns the signed record of the row.
func (m MessageRow) Record() Record {
	return Record{Origin: m.Origin, Number: m.Number, Kind: m.Kind, Body: m.Body, Signature: m.Signature}
}

// Event is something front ends show. The set is closed.
type Event interface{ event() }

// Connected: a joining member found itself in a Peer Response (Tox's
// "connected" callback).
type Connected struct{ SelfNumber uint16 }

// PeerJoined: a new member was added to the active list.
type PeerJoined struct {
	Key    identity.PublicKey
	Number uint16
	Name   string
}

// PeerFrozen: a member went quiet or announced a temporary leave.
type PeerFrozen struct{ Key identity.PublicKey }

// PeerUnfrozen: a frozen member is active again.
type PeerUnfrozen struct{ Key identity.PublicKey }

// PeerLeft: a member left for good (signed KILL).
type PeerLeft struct{ Key identity.PublicKey }

// MessageReceived: a MESSAGE or ACTION to show, exactly once per (Origin,
// Number) and, per origin, in number order (a message waits up to 15 s for
// a missing predecessor). Own is set for our own messages (shown at once),
// Late for messages fetched by history sync.
type MessageReceived struct {
	Origin identity.PublicKey
	Number uint32
	Action bool
	Text   string
	Own    bool
	Late   bool
}

// TitleChanged: the conference title changed; By is the signer.
type TitleChanged struct {
	Title string
	By    identity.PublicKey
}

// NameChanged: a member's display name changed.
type NameChanged struct {
	Key  identity.PublicKey
	Name string
}

// Invited: a friend invited us to a conference we are not in. Pass Cookie to
// Join. The node builds it with InvitedFrom; an engine never emits it for
// its own conference (it answers with a member response instead).
type Invited struct {
	From   identity.PublicKey
	ID     ID
	Cookie []byte
}

// PeerAddressesLearned: the node may dial Key at Addresses.
type PeerAddressesLearned struct {
	Key       identity.PublicKey
	Addresses []string
}

// ForkDetected: Origin signed two different messages with one number.
type ForkDetected struct {
	Origin identity.PublicKey
	Number uint32
}

// Delivered: another member holds our messages numbered <= UpTo (from a
// history-sync summary's contiguous high-water mark for our origin, a
// neighbour's HOLDING, or an older build's flood echo of our message).
// UpTo only grows.
type Delivered struct{ UpTo uint32 }

// Renumbered: our peer number collided with a smaller key's and was
// replaced.
type Renumbered struct{ Old, New uint16 }

func (Connected) event()            {}
func (PeerJoined) event()           {}
func (PeerFrozen) event()           {}
func (PeerUnfrozen) event()         {}
func (PeerLeft) event()             {}
func (MessageReceived) event()      {}
func (TitleChanged) event()         {}
func (NameChanged) event()          {}
func (Invited) event()              {}
func (PeerAddressesLearned) event() {}
func (ForkDetected) event()         {}
func (Renumbered) event()           {}
func (Delivered) event()            {}

// InvitedFrom turns a 0x60/0x00 Invite from a friend into an Invited event,
// for a conference the node holds no engine for.
func InvitedFrom(from identity.PublicKey, data []byte) (Invited, error) {
	w, err := DecodeInviteFamily(data)
	if err != nil {
		return Invited{}, err
	}
	p, ok := w.(*InvitePacket)
	if !ok {
		return Invited{}, malformed("invite", "not an invite")
	}
	return Invited{From: from, ID: p.ID, Cookie: p.Cookie()}, nil
}
