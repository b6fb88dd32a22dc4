package conference

import (
	"fmt"
	"sort"
	"time"

	"confchat/identity"
)

// State is everything Restore needs: the rows the engine emitted, as the
// node's database holds them (latest row per key, deleted rows removed).
//
// Without Index, Messages holds every stored message. With Index (every
// stored message in arrival order, compactly), Messages needs to hold
// only the records kept in memory: at least the newest Config.HotWindow
// chat messages and every record of another kind (names, titles); the
// other chat messages are restored as slots and their bodies are asked
// for with Ready.Loads when a neighbour needs them.
type State struct {
	Meta     MetaRow
	Peers    []PeerRow
	Messages []MessageRow
	Floors   []FloorRow
	Index    []IndexRow
}

// IndexRow is what the engine keeps of a stored message whose body stays
// on disk. Fingerprint is MessageRow.Fingerprint.
type IndexRow struct {
	Origin       identity.PublicKey
	Number, Prev uint32
	Kind         byte
	Fingerprint  uint64
	Received     time.Time
	Forked       bool
}

// ComputeFingerprint returns the first 8 bytes of the hash of a stored message
// of conference id (big-endian), as IndexRow.Fingerprint wants it (MessageRow.Fingerprint when set).
func (m MessageRow) ComputeFingerprint(id ID) uint64 { return fingerprint(m.Record().Hash(id)) }

// Chat reports whether a stored kind is a chat message (MESSAGE or
// ACTION): the records State.Messages may leave to the Index.
func Chat(kind byte) bool { return chatKind(kind) }

// Restore rebuilds a conference from persisted rows: every peer frozen, no
// connections, numbering continuing after the persisted next number (and
// after any stored message of ours). The engine then asks for sessions to
// recently active frozen peers and rejoins as they come up.
func Restore(cfg Config, now time.Time, st State) (*Engine, error) {
	if cfg.Self == nil {
		return nil, fmt.Errorf("conference: restore: %w", ErrNotConnected)
	}
	if st.Meta.Left {
		return nil, fmt.Errorf("conference: restore: %w", ErrLeft)
	}
	if !st.Meta.Connected {
		return nil, fmt.Errorf("conference: restore joining conference: %w", ErrNotConnected)
	}
	if st.Meta.MaxFrozen > 0 {
		cfg.MaxFrozen = st.Meta.MaxFrozen
	}
	cfg.MaxFrozen = max(cfg.MaxFrozen, len(st.Peers))
	cfg.setDefaults()
	e := newEngine(cfg, st.Meta.ID, now)
	if err := e.setStatus(statusConnected); err != nil {
		return nil, err
	}
	e.selfNumber = st.Meta.SelfNumber
	e.delivered = st.Meta.Delivered
	e.nextNumber = max(st.Meta.NextNumber+restoreMargin, 1)
	e.restorePeers(st.Peers)
	e.selfSeen.highest = e.nextNumber - 1
	for i := range e.selfSeen.bits {
		e.selfSeen.bits[i] = ^uint64(0)
	}
	e.restoreMessages(st)
	e.out = outbox{}
	e.persistMeta()
	return e, nil
}

func (e *Engine) restorePeers(rows []PeerRow) {
	for _, r := range rows {
		if r.Key == e.self {
			continue
		}
		p := &peer{key: r.Key, number: r.Number, addrs: sanitizeAddresses(r.Addresses), name: r.Name,
			lastActive: r.LastActive, frozen: true}
		p.seen.highest = r.HighestSeen
		for i := range p.seen.bits {
			p.seen.bits[i] = ^uint64(0) // everything up to HighestSeen counts as seen
		}
		e.peers.insert(p)
	}
}

func (e *Engine) restoreMessages(st State) {
	for _, f := range st.Floors {
		o := e.store.origin(f.Origin)
		o.floor, o.fixed, o.dirty = max(f.Floor, 1), f.Fixed, true
	}
	own := func(n uint32) {
		e.lastStored = max(e.lastStored, n)
		e.nextNumber = max(e.nextNumber, n+1)
	}
	for _, ir := range st.Index {
		e.store.insertSlot(ir.Origin, newSlot(ir.Number, ir.Prev, ir.Fingerprint, ir.Received, ir.Kind))
		if ir.Forked {
			e.store.origin(ir.Origin).forked = true
		}
		if ir.Origin == e.self {
			own(ir.Number)
		}
	}
	msgs := append([]MessageRow(nil), st.Messages...)
	sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].Received.Before(msgs[j].Received) })
	for _, m := range msgs {
		rec := m.Record()
		st := &stored{rec: rec, hash: rec.Hash(e.id), received: m.Received, shown: true}
		e.store.attach(st)
		if m.Forked {
			e.store.origin(rec.Origin).forked = true
		}
		e.applyRecord(rec)
		if rec.Origin == e.self {
			own(rec.Number)
		}
	}
	for _, p := range e.peers.frozen {
		e.nameFromStore(p)
	}
	e.store.evict()
}
