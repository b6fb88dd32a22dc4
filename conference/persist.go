package conference

import (
	"fmt"
	"sort"
	"time"
)

// State is everything Restore needs: the rows the engine emitted, as the
// node's database holds them (latest row per key, deleted rows removed).
type State struct {
	Meta     MetaRow
	Peers    []PeerRow
	Messages []MessageRow
	Floors   []FloorRow
}

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
	msgs := append([]MessageRow(nil), st.Messages...)
	sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].Received.Before(msgs[j].Received) })
	for _, m := range msgs {
		rec := m.Record()
		st := &stored{rec: rec, hash: rec.Hash(e.id), received: m.Received, shown: true}
		e.store.insert(st)
		if m.Forked {
			e.store.origin(rec.Origin).forked = true
		}
		e.applyRecord(rec)
		if rec.Origin == e.self {
			e.lastStored = max(e.lastStored, rec.Number)
			e.nextNumber = max(e.nextNumber, rec.Number+1)
		}
	}
	for _, p := range e.peers.frozen {
		e.nameFromStore(p)
	}
}
