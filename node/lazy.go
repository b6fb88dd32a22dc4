package node

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"confchat/conference"
	"confchat/identity"
	"confchat/storage"
)

// Lazy restore. Open reads only each conference's row and peers (a
// "shell"): enough for the conference list, peer lists and History, which
// the front ends read from storage. The engines are restored afterwards,
// one conference per loop turn while the loop is otherwise idle, or at
// once when the conference sees activity (a packet, a session of one of
// its members, a user action). A restored engine keeps the bodies of only
// its newest messages in memory (conference.Config.HotWindow); older ones
// stay on disk and are read when a neighbour's history request needs them
// (Ready.Loads, see serveLoads).
const (
	// lazyIdle: a background restore waits until no request came for
	// this long, so the front end's start-up queries come first...
	lazyIdle = 50 * time.Millisecond
	// lazyMaxWait: ...but never longer than this after the previous one.
	lazyMaxWait = time.Second
	// quickUnread caps the unread count a shell reports until its
	// restore counts it exactly.
	quickUnread = 100
	// maxRestoreTries bounds the background restores of one conference
	// that fail (a failing disk); activity still restores it later.
	maxRestoreTries = 3
)

// shell is a saved conference whose engine is not restored yet.
type shell struct {
	sc       storage.Conference
	peers    []storage.Peer
	failures int // background restores that failed (the disk)
}

// lazyState is the loop's queue of shells to restore.
type lazyState struct {
	queue       []*conf
	urgent      []*conf // shells a member's session came up for: next, without waiting
	lastRequest time.Time
	lastRestore time.Time
}

// addShell registers a saved conference without restoring its engine.
func (n *Node) addShell(ctx context.Context, now time.Time, sc storage.Conference) error {
	if !sc.Connected {
		return fmt.Errorf("restore joining conference: %w", conference.ErrNotConnected)
	}
	ps, err := n.db.Peers(ctx, sc.ID)
	if err != nil {
		return err
	}
	group, err := n.freeGroup()
	if err != nil {
		return err
	}
	c := &conf{id: sc.ID, group: group, names: map[identity.PublicKey]string{},
		seen: map[identity.PublicKey]peerSeen{}, shell: &shell{sc: sc, peers: ps}}
	c.hidden, c.lastRead, c.delivered = sc.Hidden, sc.LastRead, sc.Delivered
	for _, p := range ps {
		c.seen[p.Key] = peerSeen{lastActive: p.LastActive, frozenSince: p.LastActive}
		c.names[p.Key] = p.Name
	}
	if c.unread, err = n.db.UnreadCountUpTo(ctx, c.id, n.key.Public(), c.lastRead, quickUnread); err != nil {
		return err
	}
	n.confs[c.id] = c
	n.byGroup[group] = c
	n.lazy.queue = append(n.lazy.queue, c)
	n.lazy.lastRestore, n.lazy.lastRequest = now, now // the front end's first queries come first
	return nil
}

// ensureEngine restores c's engine now if it is still a shell.
func (n *Node) ensureEngine(now time.Time, c *conf) error {
	if c.shell == nil {
		return nil
	}
	st, unread, err := n.loadState(n.qctx, c.shell.sc, c.lastRead)
	if err != nil {
		return fmt.Errorf("restore conference %x: %w", c.id[:4], err)
	}
	e, err := conference.Restore(n.engineConfig(c.group), now, st)
	if err != nil {
		return fmt.Errorf("restore conference %x: %w", c.id[:4], err)
	}
	c.engine, c.shell, c.unread = e, nil, unread
	n.attachEngine(now, c)
	if e.Name(e.Self()) != n.name && n.name != "" {
		if err := e.SetName(now, n.name); err != nil {
			n.log.Warn("name of a restored conference", "conference", c.id.String()[:8], "err", err)
		}
	}
	n.lazy.lastRestore = n.clock.Now()
	n.apply(now, c)
	return nil
}

// noteRequest postpones background restores while the front end asks.
func (n *Node) noteRequest(now time.Time) {
	if len(n.lazy.queue) > 0 {
		n.lazy.lastRequest = now
	}
}

// restoreSoon puts a shell first in line: a member of it is online, so
// its engine should rejoin. One is restored per loop turn (a friend in
// many conferences does not stall the loop for all of them at once);
// a packet for one of them restores it at once.
func (n *Node) restoreSoon(c *conf) {
	if !slices.Contains(n.lazy.urgent, c) {
		n.lazy.urgent = append(n.lazy.urgent, c)
	}
}

// lazyDue is when the next background restore may run (zero: none left).
func (n *Node) lazyDue() time.Time {
	if len(n.lazy.urgent) > 0 {
		return n.clock.Now()
	}
	if len(n.lazy.queue) == 0 {
		return time.Time{}
	}
	idle := n.lazy.lastRequest.Add(lazyIdle)
	if starve := n.lazy.lastRestore.Add(lazyMaxWait); starve.Before(idle) {
		return starve
	}
	return idle
}

// restoreDue restores the next shell when one is due (from tick).
func (n *Node) restoreDue(now time.Time) {
	for len(n.lazy.urgent) > 0 {
		c := n.lazy.urgent[0]
		n.lazy.urgent = n.lazy.urgent[1:]
		if c.shell == nil || n.confs[c.id] != c {
			continue
		}
		if err := n.ensureEngine(now, c); err != nil {
			n.log.Error("restore conference", "err", err)
		}
		return
	}
	n.lazy.urgent = nil
	due := n.lazyDue()
	if due.IsZero() || now.Before(due) {
		return
	}
	for len(n.lazy.queue) > 0 {
		c := n.lazy.queue[0]
		n.lazy.queue = n.lazy.queue[1:]
		if c.shell == nil || n.confs[c.id] != c {
			continue // restored on activity, or left
		}
		if err := n.ensureEngine(now, c); err != nil {
			n.log.Error("restore conference", "err", err)
			if c.shell.failures++; c.shell.failures < maxRestoreTries {
				n.lazy.queue = append(n.lazy.queue, c) // try again after the others
			}
		}
		break
	}
	if len(n.lazy.queue) == 0 {
		n.lazy.queue = nil
	}
}

// loadState reads what Restore needs from the database: the peers and
// floors, every message as an index row and the bodies of the records the
// engine keeps in memory (every non-chat record, the newest chat
// messages). It also counts the unread messages after lastRead.
func (n *Node) loadState(ctx context.Context, sc storage.Conference, lastRead int64) (conference.State, int, error) {
	st := conference.State{Meta: conference.MetaRow{ID: conference.ID(sc.ID), SelfNumber: sc.SelfNumber,
		NextNumber: sc.NextNumber, Connected: sc.Connected, MaxFrozen: sc.MaxFrozen, Delivered: sc.Delivered}}
	ps, err := n.db.Peers(ctx, sc.ID)
	if err != nil {
		return st, 0, err
	}
	for _, p := range ps {
		st.Peers = append(st.Peers, conference.PeerRow{Key: p.Key, Number: p.Number, Addresses: p.Addresses,
			Name: p.Name, LastActive: p.LastActive, HighestSeen: p.HighestSeen})
	}
	self := n.key.Public()
	unread, chat := 0, 0
	hot := conference.DefaultHotWindow
	err = n.db.EachMessageNewestFirst(ctx, sc.ID, hot, func(m *storage.Message) error {
		row := conference.MessageRow{Origin: m.Origin, Number: m.Number, Prev: m.Prev, Kind: m.Kind,
			Body: m.Body, Signature: m.Signature, Received: m.ReceivedAt, Forked: m.Forked}
		fp := m.Fingerprint
		if fp == 0 { // stored before schema 5: the body came along
			fp = row.ComputeFingerprint(st.Meta.ID)
		}
		st.Index = append(st.Index, conference.IndexRow{Origin: m.Origin, Number: m.Number, Prev: m.Prev,
			Kind: m.Kind, Fingerprint: fp, Received: m.ReceivedAt, Forked: m.Forked})
		isChat := conference.Chat(m.Kind)
		if isChat && m.Seq > lastRead && m.Origin != self {
			unread++
		}
		if (!isChat || chat < hot) && m.Signature != nil {
			row.Body, row.Signature = bytes.Clone(m.Body), bytes.Clone(m.Signature) // kept in memory
			st.Messages = append(st.Messages, row)
			if isChat {
				chat++
			}
		}
		return nil
	})
	if err != nil {
		return st, 0, err
	}
	slices.Reverse(st.Index) // arrival order
	fs, err := n.db.Floors(ctx, sc.ID)
	if err != nil {
		return st, 0, err
	}
	for _, f := range fs {
		st.Floors = append(st.Floors, conference.FloorRow{Origin: f.Origin, Floor: f.Floor, Fixed: f.Fixed})
	}
	return st, unread, nil
}

// serveLoads answers the engine's Loads from the database (after the
// Rows of the same batch were committed).
func (n *Node) serveLoads(now time.Time, c *conf, loads []conference.Load) {
	for _, ld := range loads {
		ms, err := n.db.MessagesRange(n.qctx, c.id, ld.Origin, ld.From, ld.To, ld.Max)
		if err != nil {
			n.log.Warn("read history for a peer", "conference", c.id.String()[:8], "err", err)
		}
		recs := make([]conference.Record, 0, len(ms))
		for _, m := range ms {
			recs = append(recs, conference.Record{Origin: m.Origin, Number: m.Number, Kind: m.Kind,
				Body: m.Body, Signature: m.Signature})
		}
		c.engine.Loaded(now, ld, recs)
		n.counters.historyLoads.Add(1)
	}
	if len(loads) > 0 {
		n.apply(now, c)
	}
}

// Query helpers that work on shells too.

func (c *conf) title() string {
	if c.shell != nil {
		return c.shell.sc.Title
	}
	return c.engine.Title()
}

func (c *conf) knows(key identity.PublicKey) bool {
	if c.shell == nil {
		return c.engine.Knows(key)
	}
	for _, p := range c.shell.peers {
		if p.Key == key {
			return true
		}
	}
	return false
}

// enginePeers lists the members as the engine would: ourselves, the
// active, the frozen (a shell's peers are all frozen).
func (n *Node) enginePeers(c *conf) []conference.PeerInfo {
	if c.shell == nil {
		return c.engine.Peers()
	}
	out := []conference.PeerInfo{{Key: n.key.Public(), Number: c.shell.sc.SelfNumber, Name: n.name,
		Addresses: n.addrs, Self: true}}
	for _, p := range c.shell.peers {
		if p.Key == n.key.Public() {
			continue
		}
		out = append(out, conference.PeerInfo{Key: p.Key, Number: p.Number, Name: p.Name,
			Addresses: append([]string(nil), p.Addresses...), Frozen: true})
	}
	return out
}

func (n *Node) confInfo(c *conf) ConferenceInfo {
	info := ConferenceInfo{ID: c.id, Title: c.title(), Hidden: c.hidden, Unread: c.unread,
		LastRead: c.lastRead, Delivered: c.delivered}
	if c.shell != nil {
		info.PeerCount, info.Joined, info.Loading = 1, c.shell.sc.Connected, true
		for _, p := range c.shell.peers {
			if p.Key != n.key.Public() {
				info.FrozenCount++
			}
		}
		return info
	}
	info.PeerCount, info.FrozenCount, info.Joined = c.engine.ActiveCount(), c.engine.FrozenCount(), c.engine.IsConnected()
	return info
}
