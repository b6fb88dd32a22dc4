package simnet

import (
	"sort"

	"confchat/conference"
	"confchat/identity"
)

// DB keeps one engine's persisted rows the way the node's database would:
// the latest row per key, deletions applied.
type DB struct {
	meta     conference.MetaRow
	peers    map[identity.PublicKey]conference.PeerRow
	messages map[msgKey]conference.MessageRow
	floors   map[identity.PublicKey]conference.FloorRow
	Writes   int
}

type msgKey struct {
	origin identity.PublicKey
	number uint32
}

// NewDB returns an empty database.
func NewDB() *DB {
	return &DB{
		peers:    map[identity.PublicKey]conference.PeerRow{},
		messages: map[msgKey]conference.MessageRow{},
		floors:   map[identity.PublicKey]conference.FloorRow{},
	}
}

// Apply persists one row.
func (d *DB) Apply(r conference.Row) {
	d.Writes++
	switch r := r.(type) {
	case conference.MetaRow:
		d.meta = r
	case conference.PeerRow:
		d.peers[r.Key] = r
	case conference.PeerDeletedRow:
		delete(d.peers, r.Key)
	case conference.MessageRow:
		d.messages[msgKey{r.Origin, r.Number}] = r
	case conference.MessageDeletedRow:
		delete(d.messages, msgKey{r.Origin, r.Number})
	case conference.FloorRow:
		d.floors[r.Origin] = r
	}
}

// Meta returns the stored meta row.
func (d *DB) Meta() conference.MetaRow { return d.meta }

// MessageCount returns the number of stored messages.
func (d *DB) MessageCount() int { return len(d.messages) }

// State returns what Restore needs, in a deterministic order.
func (d *DB) State() conference.State {
	st := conference.State{Meta: d.meta}
	for _, p := range d.peers {
		st.Peers = append(st.Peers, p)
	}
	sort.Slice(st.Peers, func(i, j int) bool { return st.Peers[i].Key.Less(st.Peers[j].Key) })
	for _, m := range d.messages {
		st.Messages = append(st.Messages, m)
	}
	sort.Slice(st.Messages, func(i, j int) bool {
		a, b := st.Messages[i], st.Messages[j]
		if a.Origin != b.Origin {
			return a.Origin.Less(b.Origin)
		}
		return a.Number < b.Number
	})
	for _, f := range d.floors {
		st.Floors = append(st.Floors, f)
	}
	sort.Slice(st.Floors, func(i, j int) bool { return st.Floors[i].Origin.Less(st.Floors[j].Origin) })
	return st
}

// Range returns origin's stored records numbered from..to in number
// order, at most max of them (what the node reads for a Load).
func (d *DB) Range(origin identity.PublicKey, from, to uint32, max int) []conference.Record {
	var out []conference.Record
	for k, m := range d.messages {
		if k.origin == origin && k.number >= from && k.number <= to {
			out = append(out, m.Record())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	if len(out) > max {
		out = out[:max]
	}
	return out
}

// IndexedState returns what the node's lazy restore hands Restore: every
// message as an Index row (arrival order) and, in Messages, only the
// records of other kinds and the newest hot chat messages.
func (d *DB) IndexedState(hot int) conference.State {
	st := d.State()
	msgs := st.Messages
	sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].Received.Before(msgs[j].Received) })
	st.Messages = nil
	chat := 0
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if !conference.Chat(m.Kind) || chat < hot {
			st.Messages = append(st.Messages, m)
			if conference.Chat(m.Kind) {
				chat++
			}
		}
	}
	for _, m := range msgs {
		st.Index = append(st.Index, conference.IndexRow{Origin: m.Origin, Number: m.Number, Prev: m.Prev,
			Kind: m.Kind, Fingerprint: m.ComputeFingerprint(d.meta.ID), Received: m.Received, Forked: m.Forked})
	}
	return st
}
