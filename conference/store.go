package conference

import (
	"bytes"
	"encoding/binary"
	"slices"
	"sort"
	"time"

	"confchat/identity"
)

// DefaultHotWindow is how many of the newest stored messages of a
// conference the engine keeps with their bodies (Config.HotWindow).
const DefaultHotWindow = 256

// stored is one kept message with its body ("hot").
type stored struct {
	rec      Record
	hash     [32]byte
	received time.Time
	late     bool // arrived through history sync
	shown    bool // its place in the origin's chain was reached (see order.go)
}

// slot is what the store keeps of every held message, hot or not (24
// bytes): enough
// for summaries, duplicate and fork checks, pruning and echo tracking.
// A chat message (MESSAGE, ACTION) older than the hot window keeps only
// its slot; its body stays in the embedder's database and is asked for
// with a Load when a neighbour's request needs it.
type slot struct {
	num, prev uint32
	fp        uint64 // the first 8 bytes of the record's hash (big-endian)
	meta      uint64 // kind << 56 | arrival in unix milliseconds (see newSlot)
}

// 24 bytes a message: the kind shares a word with the arrival time.
const slotTimeMask = 1<<56 - 1

func newSlot(num, prev uint32, fp uint64, received time.Time, kind byte) slot {
	ms := min(max(received.UnixMilli(), 0), slotTimeMask)
	return slot{num: num, prev: prev, fp: fp, meta: uint64(kind)<<56 | uint64(ms)}
}

func (s slot) kind() byte { return byte(s.meta >> 56) }

func (s slot) received() time.Time { return time.UnixMilli(int64(s.meta & slotTimeMask)) }

// originStore holds one origin's messages, its floor and its summary.
type originStore struct {
	key     identity.PublicKey
	idx     uint32             // position in store.list
	slots   []slot             // every held number, sorted
	hot     map[uint32]*stored // the records kept with their bodies
	special []uint32           // hot numbers of non-chat kinds (never evicted), sorted
	floor   uint32
	fixed   bool
	forked  bool
	// summary is kept up to date incrementally; dirty means it must be
	// rebuilt from the slots (after a rare change inside the chain).
	summary SummaryEntry
	dirty   bool
}

type msgRef struct {
	origin identity.PublicKey
	number uint32
}

// orderRef is a compact msgRef: the origin's position in store.list.
type orderRef struct{ o, n uint32 }

// store is the member's message store used for history sync.
type store struct {
	origins map[identity.PublicKey]*originStore
	list    []*originStore
	order   []orderRef // insertion order, for "last N" and pruning
	count   int
	window  int // hot window (messages)
	evicted int // order[:evicted] were considered for eviction
}

func newStore(window int) *store {
	return &store{origins: map[identity.PublicKey]*originStore{}, window: window}
}

func chatKind(k byte) bool { return k == KindMessage || k == KindAction }

func fingerprint(h [32]byte) uint64 { return binary.BigEndian.Uint64(h[:8]) }

func (s *store) origin(k identity.PublicKey) *originStore {
	o := s.origins[k]
	if o == nil {
		o = &originStore{key: k, idx: uint32(len(s.list)), hot: map[uint32]*stored{}, floor: 1}
		o.summary = SummaryEntry{Origin: k, Floor: 1}
		s.origins[k] = o
		s.list = append(s.list, o)
	}
	return o
}

func (o *originStore) find(n uint32) (int, bool) {
	return slices.BinarySearchFunc(o.slots, n, func(s slot, n uint32) int {
		switch {
		case s.num < n:
			return -1
		case s.num > n:
			return 1
		}
		return 0
	})
}

// get returns a hot record (nil if not held or held without its body).
func (s *store) get(k identity.PublicKey, n uint32) *stored {
	if o := s.origins[k]; o != nil {
		return o.hot[n]
	}
	return nil
}

// slotOf returns the slot of a held message.
func (s *store) slotOf(k identity.PublicKey, n uint32) (slot, bool) {
	o := s.origins[k]
	if o == nil {
		return slot{}, false
	}
	i, ok := o.find(n)
	if !ok {
		return slot{}, false
	}
	return o.slots[i], true
}

func (s *store) has(k identity.PublicKey, n uint32) bool {
	_, ok := s.slotOf(k, n)
	return ok
}

// shown reports whether a held message was shown (a message without its
// body in memory always was: only shown messages are evicted).
func (s *store) shown(k identity.PublicKey, n uint32) bool {
	if st := s.get(k, n); st != nil {
		return st.shown
	}
	return s.has(k, n)
}

func slotOfStored(st *stored) slot {
	return newSlot(st.rec.Number, st.rec.Prev(), fingerprint(st.hash), st.received, st.rec.Kind)
}

// insert adds (or replaces: the canonical side of a fork) a hot record.
func (s *store) insert(st *stored) {
	o := s.origin(st.rec.Origin)
	n := st.rec.Number
	sl := slotOfStored(st)
	i, ok := o.find(n)
	if ok {
		o.slots[i] = sl
		o.dirty = true // a replaced record may change the chain
	} else {
		o.slots = slices.Insert(o.slots, i, sl)
		s.order = append(s.order, orderRef{o.idx, n})
		s.count++
		o.added(i)
	}
	o.hot[n] = st
	if !chatKind(st.rec.Kind) {
		if j, found := slices.BinarySearch(o.special, n); !found {
			o.special = slices.Insert(o.special, j, n)
		}
	}
}

// attach gives a restored record its body: a record the Index listed
// becomes hot, any other is inserted.
func (s *store) attach(st *stored) {
	o := s.origin(st.rec.Origin)
	i, ok := o.find(st.rec.Number)
	if !ok {
		s.insert(st)
		return
	}
	o.slots[i] = slotOfStored(st)
	o.hot[st.rec.Number] = st
	if !chatKind(st.rec.Kind) {
		if j, found := slices.BinarySearch(o.special, st.rec.Number); !found {
			o.special = slices.Insert(o.special, j, st.rec.Number)
		}
	}
	o.dirty = true
}

// insertSlot adds a message held without its body (restore).
func (s *store) insertSlot(k identity.PublicKey, sl slot) {
	o := s.origin(k)
	i, ok := o.find(sl.num)
	if ok {
		o.slots[i] = sl
	} else {
		o.slots = slices.Insert(o.slots, i, sl)
		s.order = append(s.order, orderRef{o.idx, sl.num})
		s.count++
	}
	o.dirty = true
}

// added updates the summary for a new slot at position i.
func (o *originStore) added(i int) {
	if o.dirty {
		return
	}
	n := o.slots[i].num
	switch {
	case n < o.floor:
	case n <= o.summary.HWM:
		o.dirty = true // inside the chain: rare (a fork); rebuild
	default:
		o.summary.Top = max(o.summary.Top, n)
		o.extend()
	}
}

// extend grows the contiguous chain past HWM as far as the held slots
// link (each one's prev is the previous chain member; the first one after
// the floor may link to anything below it).
func (o *originStore) extend() {
	e := &o.summary
	if e.HWM == ^uint32(0) {
		return
	}
	i, _ := o.find(e.HWM + 1)
	for ; i < len(o.slots); i++ {
		sl := o.slots[i]
		if sl.num < o.floor {
			continue
		}
		if sl.prev != e.HWM && (e.HWM != o.floor-1 || sl.prev >= o.floor) {
			return
		}
		e.HWM = sl.num
		e.Fingerprint ^= sl.fp
	}
}

// rebuild computes the summary from the slots.
func (o *originStore) rebuild() {
	o.summary = SummaryEntry{Origin: o.key, Floor: o.floor, HWM: o.floor - 1, Top: o.floor - 1}
	if k := len(o.slots); k > 0 && o.slots[k-1].num >= o.floor {
		o.summary.Top = o.slots[k-1].num
	}
	o.extend()
	o.dirty = false
}

// setFloor sets an origin's floor. Raising it (pruning, a joiner's fixed
// floors) updates the summary in place; lowering it rebuilds it.
func (o *originStore) setFloor(f uint32, fixed bool) {
	f = max(f, 1)
	o.fixed = fixed
	if f == o.floor {
		return
	}
	if f < o.floor || o.dirty {
		o.floor, o.dirty = f, true
		return
	}
	e := &o.summary
	for i := 0; i < len(o.slots) && o.slots[i].num < f; i++ {
		if n := o.slots[i].num; n >= o.floor && n <= e.HWM {
			e.Fingerprint ^= o.slots[i].fp // chain members that fall below the floor
		}
	}
	o.floor = f
	e.Floor = f
	if e.HWM < f-1 {
		e.HWM, e.Fingerprint = f-1, 0
	}
	e.Top = max(e.Top, f-1)
	o.extend()
}

// removeUpTo removes the slots numbered up to n for which keep is false
// and returns their numbers. The caller raises the floor past n first, so
// the summary does not change.
func (s *store) removeUpTo(o *originStore, n uint32, keep func(uint32) bool) []uint32 {
	var removed []uint32
	out := o.slots[:0]
	for i, sl := range o.slots {
		if sl.num > n {
			out = append(out, o.slots[i:]...)
			break
		}
		if keep(sl.num) {
			out = append(out, sl)
			continue
		}
		removed = append(removed, sl.num)
		delete(o.hot, sl.num)
		if j, ok := slices.BinarySearch(o.special, sl.num); ok {
			o.special = slices.Delete(o.special, j, j+1)
		}
		s.count--
		if sl.num >= o.floor {
			o.dirty = true // not below the floor: the summary changes
		}
	}
	clear(o.slots[len(out):])
	o.slots = out
	return removed
}

// evict drops the bodies of chat messages older than the hot window once
// they were shown (their slots stay; a message held for a missing
// predecessor keeps its body until it is shown or pruned).
func (s *store) evict() {
	for len(s.order)-s.evicted > s.window {
		ref := s.order[s.evicted]
		s.evicted++
		o := s.list[ref.o]
		st := o.hot[ref.n]
		if st == nil || !chatKind(st.rec.Kind) || !st.shown {
			continue // kept until pruned: waiting to be shown, or a name/title
		}
		delete(o.hot, ref.n)
	}
}

// ref expands a compact order entry.
func (s *store) ref(r orderRef) msgRef { return msgRef{s.list[r.o].key, r.n} }

// dropOrder removes the first k entries of the arrival order.
func (s *store) dropOrder(k int) {
	s.order = s.order[k:]
	s.evicted = max(s.evicted-k, 0)
	if len(s.order) == 0 {
		s.order, s.evicted = nil, 0
	}
}

// keys returns the origins in key order (determinism).
func (s *store) keys() []identity.PublicKey {
	out := make([]identity.PublicKey, 0, len(s.origins))
	for k := range s.origins {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	return out
}

// entry returns the summary of origin k (kept incrementally).
func (s *store) entry(k identity.PublicKey) SummaryEntry {
	o := s.origins[k]
	if o == nil { // unknown origin: nothing held, default floor (not created)
		return SummaryEntry{Origin: k, Floor: 1}
	}
	if o.dirty {
		o.rebuild()
	}
	return o.summary
}

// summary returns every origin's entry.
func (s *store) summary() []SummaryEntry {
	var out []SummaryEntry
	for _, k := range s.keys() {
		out = append(out, s.entry(k))
	}
	return out
}

// rangeRecords returns origin k's records with from ≤ n ≤ to, at most
// maxCount records and maxBytes of encoding. cold reports that the range
// holds records whose bodies are not in memory; then nothing is returned
// and the embedder must be asked (a Load).
func (s *store) rangeRecords(k identity.PublicKey, from, to uint32, maxCount, maxBytes int) (out []Record, cold bool) {
	o := s.origins[k]
	if o == nil {
		return nil, false
	}
	size := 0
	i, _ := o.find(from)
	for ; i < len(o.slots) && o.slots[i].num <= to && len(out) < maxCount; i++ {
		st := o.hot[o.slots[i].num]
		if st == nil {
			return nil, true
		}
		size += st.rec.wireSize()
		if size > maxBytes && len(out) > 0 {
			break
		}
		out = append(out, st.rec)
	}
	return out, false
}

// limitRecords applies rangeRecords' limits to records loaded from the
// embedder, keeping only those held with the same fingerprint.
func (s *store) limitRecords(id ID, k identity.PublicKey, from, to uint32, recs []Record, maxCount, maxBytes int) []Record {
	var out []Record
	size := 0
	for _, rec := range recs {
		if len(out) >= maxCount {
			break
		}
		if rec.Origin != k || rec.Number < from || rec.Number > to {
			continue
		}
		sl, ok := s.slotOf(k, rec.Number)
		if !ok || sl.fp != fingerprint(rec.Hash(id)) {
			continue
		}
		size += rec.wireSize()
		if size > maxBytes && len(out) > 0 {
			break
		}
		out = append(out, rec)
	}
	return out
}

// recent returns the last n stored records in arrival order (the hot
// window holds at least JoinHistory of them).
func (s *store) recent(n int) []Record {
	var out []Record
	for i := len(s.order) - 1; i >= 0 && len(out) < n; i-- {
		if st := s.list[s.order[i].o].hot[s.order[i].n]; st != nil {
			out = append(out, st.rec)
		}
	}
	slices.Reverse(out)
	return out
}

// latest returns origin k's highest-numbered record of kind (a non-chat
// kind: those are always kept in memory).
func (s *store) latest(k identity.PublicKey, kind byte) (Record, bool) {
	o := s.origins[k]
	if o == nil {
		return Record{}, false
	}
	for i := len(o.special) - 1; i >= 0; i-- {
		if st := o.hot[o.special[i]]; st != nil && st.rec.Kind == kind {
			return st.rec, true
		}
	}
	return Record{}, false
}

func hashLess(a, b [32]byte) bool { return bytes.Compare(a[:], b[:]) < 0 }

// MessageSet returns the stored (origin, number, kind, fingerprint)
// tuples, sorted, for convergence checks in tests and tools.
func (e *Engine) MessageSet() []StoredMessage {
	var out []StoredMessage
	for _, k := range e.store.keys() {
		o := e.store.origins[k]
		for _, sl := range o.slots {
			out = append(out, StoredMessage{Origin: k, Number: sl.num, Kind: sl.kind(), Fingerprint: sl.fp})
		}
	}
	return out
}

// StoredMessage identifies one stored message. Fingerprint is the first
// 8 bytes of its hash.
type StoredMessage struct {
	Origin      identity.PublicKey
	Number      uint32
	Kind        byte
	Fingerprint uint64
}
