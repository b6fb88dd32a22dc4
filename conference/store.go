package conference

import (
	"bytes"
	"encoding/binary"
	"slices"
	"sort"
	"time"

	"confchat/identity"
)

// stored is one kept message.
type stored struct {
	rec      Record
	hash     [32]byte
	received time.Time
	late     bool // arrived through history sync
	shown    bool // its place in the origin's chain was reached (see order.go)
}

// originStore holds one origin's messages, its floor and a cached summary.
type originStore struct {
	msgs    map[uint32]*stored
	nums    []uint32 // sorted
	floor   uint32
	fixed   bool
	forked  bool
	dirty   bool
	summary SummaryEntry
}

type msgRef struct {
	origin identity.PublicKey
	number uint32
}

// store is the member's message store used for history sync.
type store struct {
	origins map[identity.PublicKey]*originStore
	order   []msgRef // insertion order, for "last N" and pruning
	count   int
}

func newStore() *store { return &store{origins: map[identity.PublicKey]*originStore{}} }

func (s *store) origin(k identity.PublicKey) *originStore {
	o := s.origins[k]
	if o == nil {
		o = &originStore{msgs: map[uint32]*stored{}, floor: 1, dirty: true}
		s.origins[k] = o
	}
	return o
}

func (s *store) get(k identity.PublicKey, n uint32) *stored {
	if o := s.origins[k]; o != nil {
		return o.msgs[n]
	}
	return nil
}

func (s *store) has(k identity.PublicKey, n uint32) bool { return s.get(k, n) != nil }

func (s *store) insert(st *stored) {
	o := s.origin(st.rec.Origin)
	n := st.rec.Number
	if _, ok := o.msgs[n]; !ok {
		i, _ := slices.BinarySearch(o.nums, n)
		o.nums = slices.Insert(o.nums, i, n)
		s.order = append(s.order, msgRef{st.rec.Origin, n})
		s.count++
	}
	o.msgs[n] = st
	o.dirty = true
}

func (s *store) remove(k identity.PublicKey, n uint32) {
	o := s.origins[k]
	if o == nil || o.msgs[n] == nil {
		return
	}
	delete(o.msgs, n)
	if i, ok := slices.BinarySearch(o.nums, n); ok {
		o.nums = slices.Delete(o.nums, i, i+1)
	}
	s.count--
	o.dirty = true
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

// entry computes (and caches) the summary of origin k.
func (s *store) entry(k identity.PublicKey) SummaryEntry {
	o := s.origins[k]
	if o == nil { // unknown origin: nothing held, default floor (not created)
		return SummaryEntry{Origin: k, Floor: 1}
	}
	if !o.dirty {
		return o.summary
	}
	e := SummaryEntry{Origin: k, Floor: o.floor, HWM: o.floor - 1, Top: o.floor - 1}
	chain := true
	for _, n := range o.nums {
		if n < o.floor {
			continue
		}
		st := o.msgs[n]
		prev := st.rec.Prev()
		if chain && (prev == e.HWM || (e.HWM == o.floor-1 && prev < o.floor)) {
			e.HWM = n
			e.Fingerprint ^= binary.BigEndian.Uint64(st.hash[:8])
		} else {
			chain = false
		}
		e.Top = n
	}
	o.summary, o.dirty = e, false
	return e
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
// maxCount records and maxBytes of encoding.
func (s *store) rangeRecords(k identity.PublicKey, from, to uint32, maxCount, maxBytes int) []Record {
	o := s.origins[k]
	if o == nil {
		return nil
	}
	var out []Record
	size := 0
	i, _ := slices.BinarySearch(o.nums, from)
	for ; i < len(o.nums) && o.nums[i] <= to && len(out) < maxCount; i++ {
		rec := o.msgs[o.nums[i]].rec
		size += 103 + len(rec.Body)
		if size > maxBytes && len(out) > 0 {
			break
		}
		out = append(out, rec)
	}
	return out
}

// recent returns the last n stored records in arrival order.
func (s *store) recent(n int) []Record {
	var out []Record
	for i := len(s.order) - 1; i >= 0 && len(out) < n; i-- {
		if st := s.get(s.order[i].origin, s.order[i].number); st != nil {
			out = append(out, st.rec)
		}
	}
	slices.Reverse(out)
	return out
}

// latest returns origin k's highest-numbered record of kind.
func (s *store) latest(k identity.PublicKey, kind byte) (Record, bool) {
	o := s.origins[k]
	if o == nil {
		return Record{}, false
	}
	for i := len(o.nums) - 1; i >= 0; i-- {
		if st := o.msgs[o.nums[i]]; st.rec.Kind == kind {
			return st.rec, true
		}
	}
	return Record{}, false
}

func hashLess(a, b [32]byte) bool { return bytes.Compare(a[:], b[:]) < 0 }

// MessageSet returns the stored (origin, number, hash) triples, sorted, for
// convergence checks in tests and tools.
func (e *Engine) MessageSet() []StoredMessage {
	var out []StoredMessage
	for _, k := range e.store.keys() {
		o := e.store.origins[k]
		for _, n := range o.nums {
			st := o.msgs[n]
			out = append(out, StoredMessage{Origin: k, Number: n, Kind: st.rec.Kind, Hash: st.hash})
		}
	}
	return out
}

// StoredMessage identifies one stored message.
type StoredMessage struct {
	Origin identity.PublicKey
	Number uint32
	Kind   byte
	Hash   [32]byte
}
