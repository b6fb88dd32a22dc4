package conference

import (
	"encoding/binary"
	"sort"

	"confchat/identity"
)

// closestList is Tox's 4-slot closest-peer list with its exact, asymmetric
// update rule (§4.3): slots 0-1 hold peers below us on the ring, 2-3 above,
// but empty slots fill in arrival order.
type closestList struct {
	slots   [desiredClosest]closestSlot
	removed bool
}

type closestSlot struct {
	active bool
	key    identity.PublicKey
}

func ringValue(k identity.PublicKey) uint64 { return binary.BigEndian.Uint64(k[:8]) }

func down(self, x identity.PublicKey) uint64 { return ringValue(self) - ringValue(x) }
func up(self, x identity.PublicKey) uint64   { return ringValue(x) - ringValue(self) }

func (l *closestList) has(k identity.PublicKey) bool {
	for _, s := range l.slots {
		if s.active && s.key == k {
			return true
		}
	}
	return false
}

// add runs Tox's add_to_closest for candidate p.
func (l *closestList) add(self identity.PublicKey, p *peer) {
	l.addKey(self, p.key)
}

func (l *closestList) addKey(self, cand identity.PublicKey) {
	if cand == self || l.has(cand) {
		return
	}
	for i := range l.slots {
		if !l.slots[i].active {
			l.slots[i] = closestSlot{active: true, key: cand}
			return
		}
	}
	idx, best := -1, uint64(0)
	for i := range l.slots {
		dist, cdist := down(self, l.slots[i].key), down(self, cand)
		if i >= 2 {
			dist, cdist = up(self, l.slots[i].key), up(self, cand)
		}
		if dist > cdist && dist > best {
			idx, best = i, dist
		}
	}
	if idx < 0 {
		return
	}
	displaced := l.slots[idx].key
	l.slots[idx].key = cand
	l.addKey(self, displaced)
}

func (l *closestList) remove(k identity.PublicKey) {
	for i := range l.slots {
		if l.slots[i].active && l.slots[i].key == k {
			l.slots[i] = closestSlot{}
			l.removed = true
		}
	}
}

// maintainRing refreshes CLOSEST and LONG connection reasons (Tox's tick
// step 1, plus confchat's long links).
func (e *Engine) maintainRing() {
	if !e.ringDirty {
		return
	}
	e.ringDirty = false
	if e.closest.removed {
		e.closest.removed = false
		for _, p := range e.peers.active {
			e.closest.add(e.self, p)
		}
	}
	want := map[identity.PublicKey]uint8{}
	for _, s := range e.closest.slots {
		if s.active {
			want[s.key] |= reasonClosest
		}
	}
	if e.cfg.longLinks() {
		for _, k := range e.longLinkTargets() {
			want[k] |= reasonLong
		}
	}
	e.applyRingReasons(want)
}

func (e *Engine) applyRingReasons(want map[identity.PublicKey]uint8) {
	for _, c := range append([]*conn(nil), e.conns...) {
		drop := (reasonClosest | reasonLong) &^ want[c.key]
		if c.reasons&drop != 0 {
			e.removeReason(c.key, drop)
		}
	}
	keys := make([]identity.PublicKey, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Less(keys[j]) })
	for _, k := range keys {
		c := e.addConn(k, want[k])
		if !c.online && e.sessions[k] {
			e.sendOnline(c)
		}
	}
}

// longLinkTargets returns the chords: with the n members sorted by ring
// value and us at position i, the members at i±n/4 and i±n/2. Only used
// with more than 5 members (below that the closest set covers everyone).
// Both ends compute the same pairs, so the links are mutual.
func (e *Engine) longLinkTargets() []identity.PublicKey {
	n := len(e.peers.active) + 1
	if n <= desiredClosest+1 {
		return nil
	}
	keys := make([]identity.PublicKey, 0, n)
	keys = append(keys, e.self)
	for _, p := range e.peers.active {
		keys = append(keys, p.key)
	}
	sort.Slice(keys, func(i, j int) bool { return ringValue(keys[i]) < ringValue(keys[j]) })
	i := 0
	for j, k := range keys {
		if k == e.self {
			i = j
		}
	}
	var out []identity.PublicKey
	for _, off := range []int{n / 4, n - n/4, n / 2, n - n/2} {
		k := keys[(i+off)%n]
		if k != e.self {
			out = append(out, k)
		}
	}
	return out
}
