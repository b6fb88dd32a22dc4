package node

import (
	"context"
	"fmt"
	"time"

	"confchat/conference"
	"confchat/identity"
	"confchat/peers"
	"confchat/storage"
)

// apply marks c's engine as having outputs to apply. They are applied
// at the end of the loop turn, together with every other engine's, in one
// transaction (flush); a request that touched c gets its answer then.
func (n *Node) apply(_ time.Time, c *conf) error {
	n.turn.touch(c)
	return nil
}

// perform hands out one committed batch in the engine's order: packets go
// out, then sessions are opened or released, then events are emitted.
func (n *Node) perform(now time.Time, c *conf, r conference.Ready) {
	for _, p := range r.Packets {
		n.send(p.To, p.Data)
	}
	want := peers.Want{Kind: peers.WantConference, Conference: c.id}
	for _, w := range r.Sessions {
		if w.Want {
			n.wants.Add(w.Peer, want, time.Time{})
			n.openSession(w.Peer, nonEmpty(w.Addresses))
			continue
		}
		if n.wants.Remove(w.Peer, want) {
			n.releaseSession(w.Peer)
		}
	}
	for _, ev := range r.Events {
		n.conferenceEvent(now, c, ev)
	}
	n.serveLoads(now, c, r.Loads)
}

func nonEmpty(a []string) []string {
	if len(a) == 0 {
		return nil
	}
	return a
}

// persist writes engine rows in order. Of several MetaRows only the last
// is written, and only if it differs from what is stored.
func (n *Node) persist(tx *storage.Tx, now time.Time, c *conf, rows []conference.Row) error {
	ctx := n.qctx
	id := c.id
	lastMeta := -1
	for i, row := range rows {
		if _, ok := row.(conference.MetaRow); ok {
			lastMeta = i
		}
	}
	for i, row := range rows {
		var err error
		switch row := row.(type) {
		case conference.MetaRow:
			if i == lastMeta {
				err = n.persistMeta(ctx, tx, now, c, row)
			}
		case conference.PeerRow:
			err = tx.PutPeer(ctx, storage.Peer{Conference: id, Key: row.Key, Number: row.Number,
				Name: row.Name, Addresses: row.Addresses, Frozen: true, LastActive: row.LastActive,
				HighestSeen: row.HighestSeen})
		case conference.PeerDeletedRow:
			err = tx.DeletePeer(ctx, id, row.Key)
		case conference.MessageRow:
			err = n.persistMessage(ctx, tx, c, row)
		case conference.MessageDeletedRow:
			err = tx.DeleteMessage(ctx, id, row.Origin, row.Number)
		case conference.FloorRow:
			err = tx.PutFloor(ctx, id, storage.Floor{Origin: row.Origin, Floor: row.Floor, Fixed: row.Fixed})
		default:
			err = fmt.Errorf("unknown row type %T", row)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// savedMeta is what the conference row last written holds of the engine;
// its meta.NextNumber is the number written there, which runs ahead of
// the engine's (numberReserve).
type savedMeta struct {
	meta  conference.MetaRow
	title string
	ok    bool
}

// numberReserve: our next message number is written to the conference row
// this far ahead of the engine's, and written again only once the engine
// passes it, so a run of sends writes the row once per numberReserve
// messages instead of once per message. The row still never lags: a
// number is on disk before a message carrying it is sent, so a restart
// (even after kill -9) never reuses one; it skips the rest of the block,
// a gap like a ping's number (prev links the stored messages across it).
const numberReserve = 128

func (n *Node) persistMeta(ctx context.Context, tx *storage.Tx, now time.Time, c *conf, row conference.MetaRow) error {
	saved := savedMeta{meta: row, title: c.engine.Title(), ok: true}
	if old := c.saved; old.ok && old.title == saved.title && sameMetaButNumbers(old.meta, row) {
		// Only the numbers moved: raise them, or nothing while the
		// engine is inside the reserved block.
		saved.meta.NextNumber = old.meta.NextNumber
		if row.NextNumber > old.meta.NextNumber {
			saved.meta.NextNumber = row.NextNumber + numberReserve
		}
		saved.meta.Delivered = max(old.meta.Delivered, row.Delivered)
		if saved.meta == old.meta {
			return nil
		}
		err := tx.RaiseNumbers(ctx, c.id, saved.meta.NextNumber, saved.meta.Delivered)
		if err == nil {
			c.pendingSaved = saved // becomes c.saved once the transaction commits
		}
		return err
	}
	saved.meta.NextNumber = row.NextNumber + numberReserve
	state := storage.ConferenceJoined
	if row.Left {
		state = storage.ConferenceLeft
	}
	err := tx.PutConference(ctx, storage.Conference{ID: c.id, Title: saved.title, State: state,
		NextNumber: saved.meta.NextNumber, SelfNumber: row.SelfNumber, Connected: row.Connected,
		MaxFrozen: row.MaxFrozen, CreatedAt: now, Hidden: c.hidden, LastRead: c.lastRead,
		Delivered: row.Delivered})
	if err == nil && row.Delivered > 0 {
		err = tx.RaiseDelivered(ctx, c.id, row.Delivered)
	}
	if err == nil {
		c.pendingSaved = saved // becomes c.saved once the transaction commits
	}
	return err
}

// sameMetaButNumbers reports whether a and b differ at most in NextNumber
// and Delivered.
func sameMetaButNumbers(a, b conference.MetaRow) bool {
	a.NextNumber, a.Delivered = b.NextNumber, b.Delivered
	return a == b
}

func (n *Node) persistMessage(ctx context.Context, tx *storage.Tx, c *conf, row conference.MessageRow) error {
	if row.Forked {
		// The canonical version may replace one we stored.
		if err := tx.DeleteMessage(ctx, c.id, row.Origin, row.Number); err != nil {
			return err
		}
	}
	seq, err := tx.InsertMessageSeq(ctx, storage.Message{Conference: c.id, Origin: row.Origin,
		Number: row.Number, Prev: row.Prev, Kind: row.Kind, Body: row.Body,
		Signature: row.Signature, ReceivedAt: row.Received, Forked: row.Forked, Fingerprint: row.Fingerprint})
	if seq > 0 {
		n.seqs[msgKey{c.id, row.Origin, row.Number}] = seq
	}
	return err
}

// conferenceEvent turns an engine event into a node event.
func (n *Node) conferenceEvent(now time.Time, c *conf, ev conference.Event) {
	switch ev := ev.(type) {
	case conference.MessageReceived:
		n.messageReceived(now, c, ev)
	case conference.PeerJoined:
		c.names[ev.Key] = ev.Name
		c.seen[ev.Key] = peerSeen{lastActive: now}
		n.emit(PeerJoined{Conference: c.id, Peer: ev.Key, Name: c.name(ev.Key)})
	case conference.PeerLeft:
		delete(c.seen, ev.Key)
		n.emit(PeerLeft{Conference: c.id, Peer: ev.Key, Name: c.name(ev.Key)})
	case conference.PeerFrozen:
		s := c.seen[ev.Key]
		s.frozenSince = now
		c.seen[ev.Key] = s
		n.emit(PeerFrozen{Conference: c.id, Peer: ev.Key, Name: c.name(ev.Key)})
	case conference.PeerUnfrozen:
		c.seen[ev.Key] = peerSeen{lastActive: now}
		n.emit(PeerUnfrozen{Conference: c.id, Peer: ev.Key, Name: c.name(ev.Key)})
	case conference.NameChanged:
		c.names[ev.Key] = ev.Name
		n.emit(NameChanged{Conference: c.id, Peer: ev.Key, Name: ev.Name})
	case conference.TitleChanged:
		n.emit(TitleChanged{Conference: c.id, Title: ev.Title, By: ev.By})
	case conference.Connected:
		n.emit(ConferenceJoined{Conference: c.id})
	case conference.Delivered:
		if ev.UpTo > c.delivered {
			c.delivered = ev.UpTo
			n.emit(MessageDelivered{Conference: c.id, UpTo: ev.UpTo})
		}
	case conference.PeerAddressesLearned:
		if n.wants.Wanted(ev.Key) {
			n.openSession(ev.Key, ev.Addresses)
		}
	case conference.ForkDetected:
		n.log.Warn("member signed two messages with one number", "conference", c.id.String()[:8],
			"origin", ev.Origin.Short(), "number", ev.Number)
	case conference.Renumbered:
		n.log.Info("our peer number collided and was replaced", "old", ev.Old, "new", ev.New)
	}
}

// messageReceived reports a chat message (ours or another member's): it
// carries its History position, counts as unread, and reopens a conference
// the user closed.
func (n *Node) messageReceived(now time.Time, c *conf, ev conference.MessageReceived) {
	seq := n.seqs[msgKey{c.id, ev.Origin, ev.Number}]
	if seq == 0 {
		// Stored in an earlier turn (the engine held it back, e.g. while
		// a join's history arrived): its place is in the database.
		if ms, err := n.db.MessagesFrom(n.qctx, c.id, ev.Origin, ev.Number, ev.Number); err == nil && len(ms) == 1 {
			seq = ms[0].Seq
		}
	}
	if !ev.Own {
		if s, ok := c.seen[ev.Origin]; ok || c.engine.Knows(ev.Origin) {
			s.lastActive = now
			c.seen[ev.Origin] = s
		}
		c.unread++
		if err := n.setHidden(c, false); err != nil {
			n.log.Warn("reopen closed conference", "conference", c.id.String()[:8], "err", err)
		}
	}
	n.emit(MessageReceived{Conference: c.id, Message: Message{Seq: seq, From: ev.Origin,
		Name: c.name(ev.Origin), Text: ev.Text, Action: ev.Action, Number: ev.Number,
		Time: now, Self: ev.Own}})
}

// msgKey names a stored message.
type msgKey struct {
	conf   ConferenceID
	origin identity.PublicKey
	number uint32
}

// name returns the best known name of key in c.
func (c *conf) name(key [32]byte) string {
	if c.engine == nil {
		return c.names[key]
	}
	if name := c.engine.Name(key); name != "" {
		return name
	}
	return c.names[key]
}
