package node

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"confchat/conference"
	"confchat/identity"
	"confchat/peers"
	"confchat/storage"
)

// Errors of the conference API.
var (
	ErrUnknownConference = errors.New("unknown conference")
	ErrNoInvite          = errors.New("no pending invite to that conference")
	ErrFriendOffline     = errors.New("friend is not online")
	ErrNotMember         = errors.New("not yet a member of that conference")
)

// conf is one conference the node runs.
type conf struct {
	id     ConferenceID
	group  uint16
	engine *conference.Engine              // nil while shell is set
	shell  *shell                          // a saved conference not restored yet (lazy.go)
	names  map[identity.PublicKey]string   // last known names, for events after a peer is gone
	seen   map[identity.PublicKey]peerSeen // activity times of members, for PeerInfo

	dirty        bool      // in the turn's list of engines to apply
	saved        savedMeta // the engine state the conference row holds
	pendingSaved savedMeta // what the running commit writes there

	// Front-end state, persisted in the conference row.
	hidden    bool
	lastRead  int64
	unread    int
	delivered uint32
}

// peerSeen is when a member was last heard from and since when it is
// frozen.
type peerSeen struct {
	lastActive, frozenSince time.Time
}

// invite is a pending invitation from a friend.
type invite struct {
	from   identity.PublicKey
	cookie []byte
}

func (n *Node) engineConfig(group uint16) conference.Config {
	var seed [32]byte
	crand.Read(seed[:])
	return conference.Config{
		Self: n.key, GroupNumber: group, Name: n.name, Addresses: n.addrs,
		FreezeAfter: n.cfg.FreezeAfter,
		Rand:        rand.New(rand.NewChaCha8(seed)),
	}
}

// freeGroup returns the lowest unused local group number.
func (n *Node) freeGroup() (uint16, error) {
	for g := range uint16(65535) {
		if _, ok := n.byGroup[g]; !ok {
			return g, nil
		}
	}
	return 0, errors.New("too many conferences")
}

// addConf registers an engine and tells it which sessions are already up.
func (n *Node) addConf(now time.Time, e *conference.Engine, group uint16) *conf {
	c := &conf{id: e.ID(), group: group, engine: e, names: map[identity.PublicKey]string{},
		seen: map[identity.PublicKey]peerSeen{}}
	n.confs[c.id] = c
	n.byGroup[group] = c
	n.attachEngine(now, c)
	return c
}

// attachEngine tells a new or restored engine which sessions are up and
// who our friends are.
func (n *Node) attachEngine(now time.Time, c *conf) {
	for key, s := range n.sessions {
		if s.connected {
			c.engine.SessionUp(now, key)
		}
	}
	for _, f := range n.book.Friends() {
		c.engine.SetFriend(f.Key, f.Confirmed)
	}
}

// friendChanged tells every engine whether key is a confirmed friend
// (friends are kept first when a frozen list is pruned).
func (n *Node) friendChanged(key identity.PublicKey) {
	f, ok := n.book.Friend(key)
	for _, c := range n.confs {
		if c.engine != nil {
			c.engine.SetFriend(key, ok && f.Confirmed)
		}
	}
}

// loadConferences registers every stored conference (as a shell, restored
// lazily: lazy.go) and every pending invite.
func (n *Node) loadConferences(ctx context.Context, now time.Time) error {
	stored, err := n.db.Conferences(ctx)
	if err != nil {
		return err
	}
	for _, sc := range stored {
		switch sc.State {
		case storage.ConferenceInvited:
			n.invites[sc.ID] = &invite{from: sc.InvitedBy, cookie: sc.InviteCookie}
		case storage.ConferenceLeft:
			if err := n.db.DeleteConference(ctx, sc.ID); err != nil {
				return err
			}
		default:
			if err := n.addShell(ctx, now, sc); err != nil {
				return fmt.Errorf("restore conference %x: %w", sc.ID[:4], err)
			}
		}
	}
	return nil
}

// Create starts a new conference with us as its only member.
func (n *Node) CreateConference(ctx context.Context, title string) (ConferenceID, error) {
	var id ConferenceID
	err := n.do(ctx, func(now time.Time) error {
		group, err := n.freeGroup()
		if err != nil {
			return err
		}
		e, err := conference.Create(n.engineConfig(group), now)
		if err != nil {
			return err
		}
		if title != "" {
			if err := e.SetTitle(now, title); err != nil {
				return err
			}
		}
		c := n.addConf(now, e, group)
		id = c.id
		if err := n.commitNew(now, c); err != nil {
			return err
		}
		n.emit(ConferenceJoined{Conference: id})
		return nil
	})
	return id, err
}

// Invite invites a friend (whose session must be up) to a conference.
func (n *Node) Invite(ctx context.Context, id ConferenceID, friend identity.PublicKey) error {
	return n.withConf(ctx, id, func(now time.Time, c *conf) error {
		if friend == n.key.Public() {
			return ErrSelf
		}
		f, ok := n.book.Friend(friend)
		if !ok || !f.Confirmed {
			return ErrNotFriend
		}
		if !n.connected(friend) {
			return ErrFriendOffline
		}
		if !c.engine.IsConnected() {
			return ErrNotMember
		}
		return c.engine.Invite(now, friend)
	})
}

// Join accepts a pending invite. The inviting friend must be online.
func (n *Node) Join(ctx context.Context, id ConferenceID) error {
	return n.do(ctx, func(now time.Time) error {
		if _, ok := n.confs[id]; ok {
			return nil // already a member: joining again changes nothing
		}
		inv, ok := n.invites[id]
		if !ok {
			return ErrNoInvite
		}
		if !n.connected(inv.from) {
			return ErrFriendOffline
		}
		group, err := n.freeGroup()
		if err != nil {
			return err
		}
		e, err := conference.Join(n.engineConfig(group), now, inv.from, inv.cookie)
		if err != nil {
			return err
		}
		c := n.addConf(now, e, group)
		if err := n.commitNew(now, c); err != nil {
			return err
		}
		delete(n.invites, id)
		return nil
	})
}

// commitNew stores a conference just created or joined before anything
// of it goes out; if that fails the conference is forgotten again.
func (n *Node) commitNew(now time.Time, c *conf) error {
	n.apply(now, c)
	if err := n.flush(now); err != nil {
		n.dropConf(c)
		return fmt.Errorf("%w: %w", ErrStorage, err)
	}
	return nil
}

// dropConf forgets a conference the node no longer runs.
func (n *Node) dropConf(c *conf) {
	delete(n.confs, c.id)
	delete(n.byGroup, c.group)
	n.turn.dirty = slices.DeleteFunc(n.turn.dirty, func(d *conf) bool { return d == c })
	for _, key := range n.wants.RemoveConference(c.id) {
		n.releaseSession(key)
	}
}

// Send sends a message (or an action, "/me") and returns its number. The
// message is stored before it goes out.
func (n *Node) Send(ctx context.Context, id ConferenceID, text string, action bool) (uint32, error) {
	m, err := n.SendMessage(ctx, id, text, action)
	return m.Number, err
}

// SentMessage is what SendMessage reports of an own message: its number,
// its History position and when it was stored. Number and Seq are 0 when
// the message was queued (the profile is re-syncing its own history after
// losing its database); it goes out once that ends.
type SentMessage struct {
	Number uint32
	Seq    int64
	Time   time.Time
}

// SendMessage sends a message (or an action, "/me"). It is stored before
// it goes out; on an error nothing was sent.
func (n *Node) SendMessage(ctx context.Context, id ConferenceID, text string, action bool) (SentMessage, error) {
	wait, err := n.StartSendMessage(ctx, id, text, action)
	if err != nil {
		return SentMessage{}, err
	}
	return wait()
}

// sendMessageFn is SendMessage's loop body; sent is filled in once the
// message is stored.
func (n *Node) sendMessageFn(text string, action bool, sent *SentMessage) func(now time.Time, c *conf) error {
	return func(now time.Time, c *conf) error {
		send := c.engine.SendMessage
		if action {
			send = c.engine.SendAction
		}
		before := c.engine.NextNumber()
		if err := send(now, text); err != nil {
			return err
		}
		n.apply(now, c)
		numbered := c.engine.NextNumber() != before
		n.afterCommit(func(err error) error {
			if err == nil && numbered {
				*sent = SentMessage{Number: before, Seq: n.seqs[msgKey{c.id, n.key.Public(), before}], Time: now}
			} else if err == nil {
				sent.Time = now // queued until our own history is re-synced
			}
			return err
		})
		return nil
	}
}

// SetTitle changes a conference's title.
func (n *Node) SetTitle(ctx context.Context, id ConferenceID, title string) error {
	return n.withConf(ctx, id, func(now time.Time, c *conf) error {
		return c.engine.SetTitle(now, title)
	})
}

// SetName changes our display name everywhere.
func (n *Node) SetName(ctx context.Context, name string) error {
	if len(name) > peers.MaxNameLen {
		return fmt.Errorf("name is %d bytes, the limit is %d", len(name), peers.MaxNameLen)
	}
	return n.do(ctx, func(now time.Time) error {
		n.name = name
		if err := n.db.SetSetting(n.qctx, "name", name); err != nil {
			return err
		}
		n.helloFriends()
		for _, c := range n.confs {
			if c.engine == nil {
				continue // a shell takes the name when it is restored
			}
			if err := c.engine.SetName(now, name); err != nil {
				return err
			}
			if err := n.apply(now, c); err != nil {
				return err
			}
		}
		return nil
	})
}

// Leave leaves a conference for good and deletes it.
func (n *Node) Leave(ctx context.Context, id ConferenceID) error {
	return n.do(ctx, func(now time.Time) error {
		if _, ok := n.invites[id]; ok {
			delete(n.invites, id)
			if err := n.db.DeleteConference(n.qctx, id); err != nil {
				return err
			}
			n.emit(ConferenceLeft{Conference: id})
			return nil
		}
		c, ok := n.confs[id]
		if !ok {
			return ErrUnknownConference
		}
		if err := n.ensureEngine(now, c); err != nil {
			return err
		}
		c.engine.Leave(now)
		n.apply(now, c)
		err := n.flush(now) // the leave goes out before the conference is gone
		n.dropConf(c)
		if derr := n.db.DeleteConference(n.qctx, id); err == nil {
			err = derr
		}
		n.emit(ConferenceLeft{Conference: id})
		return err
	})
}

// withConf runs fn on the loop with conference id, then applies its
// outputs.
func (n *Node) withConf(ctx context.Context, id ConferenceID, fn func(now time.Time, c *conf) error) error {
	return n.do(ctx, n.inConf(id, fn))
}

// handleConferencePacket routes a packet to its engine, or turns an
// invite to an unknown conference into a pending invite.
func (n *Node) handleConferencePacket(now time.Time, from identity.PublicKey, data []byte) {
	route, err := conference.RouteOf(data)
	if err != nil {
		n.log.Debug("conference packet dropped", "peer", from.Short(), "err", err)
		return
	}
	var c *conf
	if route.HasGroupNumber {
		c = n.byGroup[route.GroupNumber]
	}
	if c == nil && route.HasID {
		c = n.confs[route.ID]
	}
	if c == nil {
		if route.Invite && route.HasID {
			n.invited(now, from, data)
		}
		return
	}
	if err := n.ensureEngine(now, c); err != nil {
		n.log.Error("conference packet dropped", "peer", from.Short(), "err", err)
		return
	}
	if data[0] == conference.PacketInvite && !n.isFriend(from) && !c.engine.Knows(from) {
		// Invites and their answers pass only between friends: a stranger's
		// Invite would link it to the live flood without it being listed,
		// and its accept would make it a member nobody invited.
		n.log.Debug("invite packet from a non-member ignored", "peer", from.Short())
		return
	}
	if err := c.engine.HandlePacket(now, from, data); err != nil {
		n.log.Debug("conference packet dropped", "peer", from.Short(), "err", err)
	}
	if err := n.apply(now, c); err != nil {
		n.log.Error("apply conference outputs", "err", err)
	}
}

// isFriend reports whether key is a confirmed friend.
func (n *Node) isFriend(key identity.PublicKey) bool {
	f, ok := n.book.Friend(key)
	return ok && f.Confirmed
}

// invited records an invite from a confirmed friend.
func (n *Node) invited(now time.Time, from identity.PublicKey, data []byte) {
	if !n.isFriend(from) {
		n.log.Debug("invite from a stranger ignored", "peer", from.Short())
		return
	}
	inv, err := conference.InvitedFrom(from, data)
	if err != nil {
		n.log.Debug("bad invite", "peer", from.Short(), "err", err)
		return
	}
	id := inv.ID
	n.invites[id] = &invite{from: from, cookie: inv.Cookie}
	err = n.db.PutConference(n.qctx, storage.Conference{ID: id,
		State: storage.ConferenceInvited, InvitedBy: from, InviteCookie: inv.Cookie, CreatedAt: now})
	if err != nil {
		n.log.Error("store invite", "err", err)
	}
	n.emit(ConferenceInvited{Conference: id, From: from})
}
