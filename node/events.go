package node

import (
	"time"

	"confchat/identity"
	"confchat/netlayer"
)

// Event is a fact the node reports to its front ends. The set is closed:
// the concrete types are below. Events carry copies, never node state.
type Event interface{ event() }

// Lagged says a subscriber fell so far behind that Missed events were
// dropped; it should re-read whatever state it shows.
type Lagged struct{ Missed int }

// FriendRequestReceived: someone asked to be our friend.
type FriendRequestReceived struct {
	From    identity.PublicKey
	Name    string
	Message string
}

// FriendOnline: a session to a confirmed friend came up.
type FriendOnline struct {
	Friend identity.PublicKey
	Route  netlayer.Route
}

// FriendOffline: the session to a friend went down.
type FriendOffline struct{ Friend identity.PublicKey }

// FriendAccepted: a friend we asked accepted, or a request became mutual.
type FriendAccepted struct {
	Friend identity.PublicKey
	Name   string
}

// RouteChanged: the path of the session to Peer changed, or a switch
// between paths started or ended.
type RouteChanged struct {
	Peer   identity.PublicKey
	Route  netlayer.Route
	Switch string
}

// ConferenceInvited: a friend invited us to a conference; Join accepts.
type ConferenceInvited struct {
	Conference ConferenceID
	From       identity.PublicKey
	Title      string
}

// ConferenceJoined: we are a member of Conference (after Join, Create or
// on restart).
type ConferenceJoined struct{ Conference ConferenceID }

// MessageReceived: a message from another member.
type MessageReceived struct {
	Conference ConferenceID
	Message    Message
}

// PeerEvent is the body of the peer membership events.
type PeerEvent struct {
	Conference ConferenceID
	Peer       identity.PublicKey
	Name       string
}

// PeerJoined: a member joined (or became known).
type PeerJoined PeerEvent

// PeerLeft: a member left, or was removed.
type PeerLeft PeerEvent

// PeerFrozen: a member fell silent.
type PeerFrozen PeerEvent

// PeerUnfrozen: a frozen member is active again.
type PeerUnfrozen PeerEvent

// TitleChanged: a conference's title changed; By set it.
type TitleChanged struct {
	Conference ConferenceID
	Title      string
	By         identity.PublicKey
}

// NameChanged: a member's display name changed.
type NameChanged struct {
	Conference ConferenceID
	Peer       identity.PublicKey
	Name       string
}

// MessageDelivered: another member holds our messages in Conference
// numbered up to UpTo (their HistoryEntry.Pending turns false).
type MessageDelivered struct {
	Conference ConferenceID
	UpTo       uint32
}

// ConferenceLeft: we left Conference for good (Leave); it is deleted.
type ConferenceLeft struct{ Conference ConferenceID }

// FriendRenamed: a friend told us a new display name over its session.
type FriendRenamed struct {
	Friend identity.PublicKey
	Name   string
}

// FriendRemoved: Friend is no longer a friend (we removed them, or they
// removed us).
type FriendRemoved struct{ Friend identity.PublicKey }

// StorageFailed: the database refused a write the node must make. Engine
// outputs are kept and the write is retried (Retrying) with backoff;
// nothing was sent that was not stored. Err keeps the cause.
type StorageFailed struct {
	Err      error
	Retrying bool
}

// Message is a conference message as the front ends show it. Seq is its
// History position (0 while it is not stored, e.g. queued during a
// self-sync).
type Message struct {
	Seq    int64
	From   identity.PublicKey
	Name   string
	Text   string
	Action bool
	Number uint32
	Time   time.Time
	Self   bool
}

func (Lagged) event()                {}
func (FriendRequestReceived) event() {}
func (FriendOnline) event()          {}
func (FriendOffline) event()         {}
func (FriendAccepted) event()        {}
func (RouteChanged) event()          {}
func (ConferenceInvited) event()     {}
func (ConferenceJoined) event()      {}
func (MessageReceived) event()       {}
func (PeerJoined) event()            {}
func (PeerLeft) event()              {}
func (PeerFrozen) event()            {}
func (PeerUnfrozen) event()          {}
func (TitleChanged) event()          {}
func (NameChanged) event()           {}
func (MessageDelivered) event()      {}
func (ConferenceLeft) event()        {}
func (FriendRemoved) event()         {}
func (FriendRenamed) event()         {}
func (StorageFailed) event()         {}
