package tui

import (
	"context"

	"confchat/identity"
	"confchat/node"
)

// Node is the part of the node API the TUI uses. *node.Node implements
// it; tests use a hand-written fake. Every call is bounded by its context.
type Node interface {
	Self(ctx context.Context) (node.SelfInfo, error)
	Status(ctx context.Context) (node.StatusInfo, error)
	Conferences(ctx context.Context) ([]node.ConferenceInfo, error)
	Peers(ctx context.Context, id node.ConferenceID) ([]node.PeerInfo, error)
	History(ctx context.Context, id node.ConferenceID, limit int, before int64) ([]node.HistoryEntry, error)
	Friends(ctx context.Context) ([]node.FriendInfo, error)
	FriendRequests(ctx context.Context) ([]node.RequestInfo, error)

	AddFriend(ctx context.Context, id identity.ID, address, message string) error
	AcceptFriend(ctx context.Context, key identity.PublicKey) error
	DeclineFriend(ctx context.Context, key identity.PublicKey) error

	CreateConference(ctx context.Context, title string) (node.ConferenceID, error)
	Invite(ctx context.Context, id node.ConferenceID, friend identity.PublicKey) error
	Join(ctx context.Context, id node.ConferenceID) error
	Leave(ctx context.Context, id node.ConferenceID) error
	SendMessage(ctx context.Context, id node.ConferenceID, text string, action bool) (node.SentMessage, error)
	SetTitle(ctx context.Context, id node.ConferenceID, title string) error
	SetName(ctx context.Context, name string) error

	SetHidden(ctx context.Context, id node.ConferenceID, hidden bool) error
	MarkRead(ctx context.Context, id node.ConferenceID, seq int64) error
	InputHistory(ctx context.Context, id node.ConferenceID) ([]string, error)
	AddInputHistory(ctx context.Context, id node.ConferenceID, line string) error
	Search(ctx context.Context, id *node.ConferenceID, text string, limit int) ([]node.SearchResult, error)
}

// Events is a stream of node events (*node.Subscription implements it).
// Next blocks until an event arrives; ok=false means the stream ended.
type Events interface {
	Next(ctx context.Context) (ev node.Event, ok bool)
}

var (
	_ Node   = (*node.Node)(nil)
	_ Events = (*node.Subscription)(nil)
)
