package node

import (
	"context"
	"time"

	"confchat/conference"
	"confchat/identity"
)

// SelfInfo describes this profile.
type SelfInfo struct {
	ID        identity.ID
	Key       identity.PublicKey
	Name      string
	Addresses []string
	DHT       DHTStatus // node/dht.go
}

// Self returns our ID, key, name and advertised addresses.
func (n *Node) Self(ctx context.Context) (SelfInfo, error) {
	var s SelfInfo
	err := n.do(ctx, func(time.Time) error {
		s = n.selfInfo()
		return nil
	})
	return s, err
}

// ConferenceInfo summarises a conference for lists.
type ConferenceInfo struct {
	ID          ConferenceID
	Title       string
	PeerCount   int // active members, ourselves included
	FrozenCount int
	Joined      bool               // false while joining or only invited
	Invited     bool               // a pending invite we have not accepted
	InvitedBy   identity.PublicKey // who invited us (pending invites)
	Hidden      bool               // closed in the UI (SetHidden); still a member
	Unread      int                // others' messages after LastRead
	LastRead    int64              // a History Seq (MarkRead); 0 for none
	Delivered   uint32             // another member holds our messages numbered up to this
	// Loading: the conference is not restored yet (the node restores
	// saved conferences in the background after it opens, or at their
	// first activity); its peers show frozen and Unread counts at most
	// 100 until then.
	Loading bool
}

// Conferences lists our conferences and pending invites.
func (n *Node) Conferences(ctx context.Context) ([]ConferenceInfo, error) {
	var out []ConferenceInfo
	err := n.do(ctx, func(time.Time) error {
		for _, c := range n.confs {
			out = append(out, n.confInfo(c))
		}
		for id, inv := range n.invites {
			out = append(out, ConferenceInfo{ID: id, Invited: true, InvitedBy: inv.from})
		}
		return nil
	})
	sortConferences(out)
	return out, err
}

// PeerInfo is one member of a conference.
type PeerInfo struct {
	Key         identity.PublicKey
	Name        string
	Frozen      bool
	Self        bool
	LastActive  time.Time // when we last heard from it (zero: never, or ourselves)
	FrozenSince time.Time // zero while active
	Addresses   []string
}

// Peers lists a conference's members: ourselves, the active, the frozen.
func (n *Node) Peers(ctx context.Context, id ConferenceID) ([]PeerInfo, error) {
	var out []PeerInfo
	err := n.do(ctx, func(time.Time) error {
		c, ok := n.confs[id]
		if !ok {
			return ErrUnknownConference
		}
		for _, p := range n.enginePeers(c) {
			info := PeerInfo{Key: p.Key, Name: p.Name, Frozen: p.Frozen, Self: p.Self,
				Addresses: append([]string(nil), p.Addresses...)}
			if t, ok := c.seen[p.Key]; ok {
				info.LastActive = t.lastActive
				if p.Frozen {
					info.FrozenSince = t.frozenSince
				}
			}
			out = append(out, info)
		}
		return nil
	})
	return out, err
}

// History returns up to limit chat messages and actions of a conference,
// oldest first, ending before the message numbered before-seq (0: the
// newest). Our own messages are included.
func (n *Node) History(ctx context.Context, id ConferenceID, limit int, before int64) ([]HistoryEntry, error) {
	var out []HistoryEntry
	err := n.do(ctx, func(time.Time) error {
		c, ok := n.confs[id]
		if !ok {
			return ErrUnknownConference
		}
		// Names and titles are stored too; page until limit texts are found.
		for len(out) < limit {
			ms, err := n.db.Messages(n.qctx, id, 4*limit, before)
			if err != nil {
				return err
			}
			var page []HistoryEntry
			for _, m := range ms {
				text, action, ok := conference.MessageText(m.Kind, m.Body)
				if !ok {
					continue
				}
				page = append(page, n.historyEntry(c, m, text, action))
			}
			out = append(page, out...)
			if len(ms) < 4*limit {
				break
			}
			before = ms[0].Seq
		}
		if len(out) > limit {
			out = out[len(out)-limit:]
		}
		return nil
	})
	return out, err
}

// HistoryEntry is a stored message. Its Seq (the local position) pages
// further back as History's before. Pending marks an own message no other
// member is known to hold yet.
type HistoryEntry struct {
	Message
	Pending bool
}
