package conference

import (
	"confchat/identity"
)

// MaxTitleStamp is the largest valid title Lamport stamp. TITLEs above it
// are refused, so stamp+1 never wraps (a member signing 2^64-1 cannot lock
// the title by wrapping our next stamp to 0).
const MaxTitleStamp = 1<<63 - 1

// titleState is the title register: the TITLE with the largest
// (Lamport stamp, origin key) wins.
type titleState struct {
	text   string
	stamp  uint64
	origin identity.PublicKey
	rec    Record
	has    bool
}

func (t *titleState) record() (Record, bool) { return t.rec, t.has }

// beats reports whether (stamp, origin) orders after the current title.
func (t *titleState) beats(stamp uint64, origin identity.PublicKey) bool {
	if !t.has || stamp != t.stamp {
		return !t.has || stamp > t.stamp
	}
	return t.origin.Less(origin)
}

// acceptRecord stores a verified stored-kind record and applies it. late
// marks records fetched by history sync (never relayed). It reports whether
// the record was new (or replaced a fork loser), i.e. worth relaying.
func (e *Engine) acceptRecord(rec Record, late bool) bool {
	o := e.store.origin(rec.Origin)
	if rec.Number < o.floor && !e.wantedBelowFloor(rec) {
		return false
	}
	h := e.hashRecord(rec)
	if old, ok := e.store.slotOf(rec.Origin, rec.Number); ok {
		return e.resolveFork(o, old, rec, h)
	}
	st := &stored{rec: rec, hash: h, received: e.now, late: late}
	e.store.insert(st)
	e.persistRecord(st, o.forked)
	e.applyRecord(rec)
	e.showInOrder(st)
	e.noteOwnNumber(rec)
	e.pruneByCount()
	e.store.evict()
	return true
}

// hashRecord is rec.Hash(e.id), its signed bytes built in the engine's
// scratch buffer (two per message otherwise: this and verifyMessage).
func (e *Engine) hashRecord(rec Record) [32]byte {
	e.signScratch = appendSigned(e.signScratch[:0], e.id, rec.Origin, rec.Number, rec.Kind, rec.Body)
	return hashOf(e.signScratch, rec.Signature)
}

// wantedBelowFloor: a joiner keeps an origin's latest NAME and the winning
// TITLE even when they are older than its floor.
func (e *Engine) wantedBelowFloor(rec Record) bool {
	switch rec.Kind {
	case KindName:
		if rec.Origin == e.self {
			return rec.Number > e.selfNameNumber
		}
		p := e.peers.byKey[rec.Origin]
		return p == nil || rec.Number > p.nameNumber
	case KindTitle:
		_, stamp, _ := titleBody(rec.Body)
		return stamp <= MaxTitleStamp && e.title.beats(stamp, rec.Origin)
	}
	return false
}

// resolveFork keeps the version with the smaller hash (Tox has no forks;
// confchat rule, docs §forks) and flags the origin. The comparison uses
// the first 8 bytes of the hashes (all the store keeps of a message whose
// body is not in memory): the same order as the whole hashes whenever
// they differ there.
func (e *Engine) resolveFork(o *originStore, old slot, rec Record, h [32]byte) bool {
	if old.fp == fingerprint(h) {
		return false
	}
	if !o.forked {
		o.forked = true
		e.emit(ForkDetected{Origin: rec.Origin, Number: rec.Number})
	}
	if rec.Origin == e.self && rec.Number >= e.nextNumber-1 {
		e.nextNumber = rec.Number + restartMargin
		e.persistMeta()
	}
	if fingerprint(h) > old.fp {
		return false
	}
	st := &stored{rec: rec, hash: h, received: e.now, late: true}
	e.store.insert(st)
	e.persistRecord(st, true)
	e.applyRecord(rec)
	e.showInOrder(st)
	return true
}

func (e *Engine) persistRecord(st *stored, forked bool) {
	e.persist(MessageRow{
		Origin: st.rec.Origin, Number: st.rec.Number, Prev: st.rec.Prev(), Kind: st.rec.Kind,
		Body: st.rec.Body, Signature: st.rec.Signature, Received: st.received, Forked: forked,
		Fingerprint: fingerprint(st.hash),
	})
}

// noteOwnNumber: a signed message of ours we did not know about (the
// database was lost) moves our numbering past it plus a margin.
func (e *Engine) noteOwnNumber(rec Record) {
	if rec.Origin != e.self {
		return
	}
	if rec.Number > e.lastStored {
		e.lastStored = rec.Number
	}
	if rec.Number >= e.nextNumber {
		e.nextNumber = rec.Number + restartMargin
		e.persistMeta()
	}
}

// applyRecord updates names and the title (messages are shown in order by
// showInOrder).
func (e *Engine) applyRecord(rec Record) {
	switch rec.Kind {
	case KindName:
		e.applyName(rec)
	case KindTitle:
		e.applyTitle(rec)
	}
}

// applyName: a member's name is its highest-numbered signed NAME.
func (e *Engine) applyName(rec Record) {
	name := textOf(rec.Body)
	if rec.Origin == e.self {
		if rec.Number >= e.selfNameNumber {
			e.selfNameNumber = rec.Number
			e.name = name
		}
		return
	}
	p := e.peers.byKey[rec.Origin]
	if p == nil || rec.Number <= p.nameNumber {
		return
	}
	p.nameNumber = rec.Number
	if p.name != name {
		p.name = name
		e.emit(NameChanged{Key: p.key, Name: name})
	}
	e.persistPeer(p)
}

func (e *Engine) applyTitle(rec Record) {
	_, stamp, title := titleBody(rec.Body)
	if stamp > MaxTitleStamp || !e.title.beats(stamp, rec.Origin) {
		return
	}
	changed := title != e.title.text
	e.title = titleState{text: title, stamp: stamp, origin: rec.Origin, rec: rec, has: true}
	if changed {
		e.emit(TitleChanged{Title: title, By: rec.Origin})
	}
}

// nameFromStore gives a newly created peer the name its stored NAMEs say.
func (e *Engine) nameFromStore(p *peer) {
	if rec, ok := e.store.latest(p.key, KindName); ok && rec.Number > p.nameNumber {
		p.nameNumber, p.name = rec.Number, textOf(rec.Body)
	}
}

// knownOrigin reports whether k's history is ours to keep and sync: we,
// a member, or an origin whose messages we already hold.
func (e *Engine) knownOrigin(k identity.PublicKey) bool {
	if k == e.self || e.peers.byKey[k] != nil {
		return true
	}
	o := e.store.origins[k]
	return o != nil && len(o.slots) > 0
}

// protected reports whether a record must survive pruning: the latest NAME
// of a member, a hint (bounded; it names the member it may become) or ours,
// or the winning TITLE. Names of keys that are not
// members (any more) age out like messages.
func (e *Engine) protected(ref msgRef) bool {
	st := e.store.get(ref.origin, ref.number)
	if st == nil {
		return false
	}
	switch st.rec.Kind {
	case KindName:
		if ref.origin != e.self && e.peers.byKey[ref.origin] == nil && !e.isHint(ref.origin) {
			return false
		}
		rec, _ := e.store.latest(ref.origin, KindName)
		return rec.Number == ref.number
	case KindTitle:
		return e.title.has && e.title.rec.Origin == ref.origin && e.title.rec.Number == ref.number
	}
	return false
}

func (e *Engine) pruneByCount() {
	for e.store.count > e.cfg.RetentionCount && len(e.store.order) > 0 {
		if !e.pruneOldest() {
			return
		}
	}
}

func (e *Engine) pruneByAge() {
	limit := e.now.Add(-e.cfg.Retention)
	for len(e.store.order) > 0 {
		ref := e.store.ref(e.store.order[0])
		if sl, ok := e.store.slotOf(ref.origin, ref.number); ok && sl.received().After(limit) {
			return
		}
		if !e.pruneOldest() {
			return
		}
	}
}

// pruneOldest removes the oldest stored message and everything of its
// origin below it, raising that origin's floor (no gaps are created).
func (e *Engine) pruneOldest() bool {
	for i, r := range e.store.order {
		ref := e.store.ref(r)
		if !e.store.has(ref.origin, ref.number) {
			continue
		}
		if e.protected(ref) {
			if i == len(e.store.order)-1 {
				return false
			}
			continue
		}
		e.store.dropOrder(i + 1)
		e.pruneUpTo(ref.origin, ref.number)
		return true
	}
	e.store.dropOrder(len(e.store.order))
	return false
}

func (e *Engine) pruneUpTo(k identity.PublicKey, n uint32) {
	o := e.store.origin(k)
	raised := n+1 > o.floor
	if raised {
		o.setFloor(n+1, true)
	}
	removed := e.store.removeUpTo(o, n, func(m uint32) bool { return e.protected(msgRef{k, m}) })
	for _, m := range removed {
		e.persist(MessageDeletedRow{Origin: k, Number: m})
	}
	if raised {
		e.persist(FloorRow{Origin: k, Floor: o.floor, Fixed: true})
	}
}
