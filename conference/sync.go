package conference

import (
	"slices"
	"time"

	"confchat/identity"
)

const (
	maxBatchBytes       = 14 * 1024
	maxSummaryEntries   = 256
	summaryCoalesce     = 100 * time.Millisecond
	joinFloorsTimeout   = 5 * time.Second
	periodicJitterRange = 0.3
	maxRemoteOrigins    = 4096 // origins remembered from one neighbour's summaries
	maxQueuedBatches    = 64   // history packets queued per link (≈ 900 KiB)
	// maxQueuedBytes caps the paced history bytes queued per link, whatever
	// a neighbour asks for (with at most maxConnections links).
	maxQueuedBytes = 1 << 20
	// historyServeInterval: one joiner history answer per link per interval.
	historyServeInterval = joinFloorsTimeout
	// maxJoinUnknown bounds the records of origins we do not know that a
	// joiner accepts from its introducer's history.
	maxJoinUnknown = 4 * DefaultJoinHistory
)

// syncState is history sync (docs: "History sync"): per-link summaries,
// one request in flight per origin, paced batches.
type syncState struct {
	links      map[identity.PublicKey]*syncLink
	pending    map[identity.PublicKey]identity.PublicKey // origin -> link fetching it
	gaps       map[identity.PublicKey]*gap
	awaitFloor bool
	floorsBy   time.Time
	reevaluate bool // a fetch was abandoned; retry from other links
	// selfSync: a new member holds back its own numbered messages until the
	// inviter's recent history (which may hold messages of ours from a lost
	// database) has arrived, then continues past them (docs: self-sync).
	selfSync    bool
	batchesLeft int
	joinUnknown int // records of unknown origins taken from the join history
	queued      []queuedOwn
}

type gap struct {
	upTo  uint32
	due   time.Time
	via   identity.PublicKey
	since time.Time // given up after holdTimeout (periodic summaries remain)
}

type syncLink struct {
	key         identity.PublicKey
	remote      map[identity.PublicKey]SummaryEntry
	inflight    []inflight // FIFO: one BATCH answers each request, in order
	queue       [][]byte   // paced outgoing batches
	queued      int        // bytes in queue
	loading     int        // Loads handed out for requests, not yet Loaded
	served      time.Time  // last joiner history answer on this link
	tokens      float64
	refilled    time.Time
	nextSummary time.Time
	lastSummary time.Time
	dirty       bool // our holdings changed by fetched records since the last summary
}

type inflight struct {
	origin identity.PublicKey
	sent   time.Time
}

func (s *syncState) init() {
	s.links = map[identity.PublicKey]*syncLink{}
	s.pending = map[identity.PublicKey]identity.PublicKey{}
	s.gaps = map[identity.PublicKey]*gap{}
}

// linkUp starts sync on a connection that just came online: full summary.
func (s *syncState) linkUp(e *Engine, c *conn) {
	if e.status != statusConnected {
		return
	}
	l := s.links[c.key]
	if l == nil {
		l = &syncLink{key: c.key, remote: map[identity.PublicKey]SummaryEntry{},
			tokens: float64(e.cfg.HistoryBurst), refilled: e.now}
		s.links[c.key] = l
	}
	e.sendSummary(c, l)
}

func (s *syncState) linkDown(key identity.PublicKey) {
	if s.links == nil {
		return
	}
	delete(s.links, key)
	for o, k := range s.pending {
		if k == key {
			delete(s.pending, o)
			s.reevaluate = true // fetch it from another link at the next tick
		}
	}
}

// joined: a new member asks its introducer for recent history and waits
// (bounded) for the floors before fetching anything else.
func (s *syncState) joined(e *Engine) {
	s.awaitFloor, s.selfSync = true, true
	s.floorsBy = e.now.Add(joinFloorsTimeout)
	if c := e.conn(e.joinInviter); c != nil {
		e.sendDirect(c, &HistoryRequestPacket{Count: uint16(min(e.cfg.JoinHistory, 65535))})
	}
}

// notePrev records that origin's message prev should exist; if we lack it
// a fetch is scheduled after a short wait for reordering.
func (s *syncState) notePrev(e *Engine, origin identity.PublicKey, prev uint32, via identity.PublicKey) {
	o := e.store.origin(origin)
	if prev == 0 || prev < o.floor || e.store.entry(origin).HWM >= prev {
		return
	}
	if g := s.gaps[origin]; g != nil {
		g.upTo = max(g.upTo, prev)
		return
	}
	s.gaps[origin] = &gap{upTo: prev, due: e.now.Add(defaultGapWait), via: via, since: e.now}
}

func (s *syncState) deadlines(e *Engine, d *deadline) {
	if s.awaitFloor || s.selfSync {
		d.add(s.floorsBy)
	}
	if s.reevaluate {
		d.add(e.now)
	}
	for _, g := range s.gaps {
		d.add(g.due)
	}
	for _, l := range s.links {
		if c := e.conn(l.key); c == nil || !c.online {
			continue
		}
		d.add(l.nextSummary)
		if len(l.inflight) > 0 {
			d.add(l.inflight[0].sent.Add(defaultRequestTimeout))
		}
		if len(l.queue) > 0 {
			d.add(e.pacingReady(l))
		}
		if l.dirty {
			d.add(l.lastSummary.Add(summaryCoalesce))
		}
	}
}

// syncTick runs due gap fetches, summaries, request timeouts and pacing.
func (e *Engine) syncTick() {
	s := &e.sync
	if (s.awaitFloor || s.selfSync) && !e.now.Before(s.floorsBy) {
		s.awaitFloor = false
		e.endSelfSync()
		e.evaluateAll()
	}
	if s.reevaluate {
		s.reevaluate = false
		e.evaluateAll()
	}
	e.fetchDueGaps()
	for _, k := range e.sortedLinks() {
		l := s.links[k]
		c := e.conn(k)
		if c == nil || !c.online {
			continue
		}
		e.expireRequests(l)
		due := !e.now.Before(l.nextSummary)
		if l.dirty && !e.now.Before(l.lastSummary.Add(summaryCoalesce)) {
			due = true
		}
		if due {
			e.sendSummary(c, l)
		}
		e.flushPaced(l)
	}
}

// holdingsChanged marks every link for a (coalesced) summary.
func (e *Engine) holdingsChanged() {
	for _, l := range e.sync.links {
		l.dirty = true
	}
}

func (e *Engine) sortedLinks() []identity.PublicKey {
	var out []identity.PublicKey
	for _, c := range e.conns {
		if e.sync.links[c.key] != nil {
			out = append(out, c.key)
		}
	}
	return out
}

func (e *Engine) fetchDueGaps() {
	for _, origin := range sortedKeys(e.sync.gaps) {
		g := e.sync.gaps[origin]
		if e.now.Before(g.due) {
			continue
		}
		ours := e.store.entry(origin)
		if ours.HWM >= g.upTo || e.store.origin(origin).floor > g.upTo || !e.now.Before(g.since.Add(holdTimeout)) {
			delete(e.sync.gaps, origin) // filled, or given up
			continue
		}
		g.due = e.now.Add(defaultRequestTimeout) // retry until filled
		l := e.sync.links[g.via]
		if l == nil || (!e.stableLink(g.via) && e.hasStableLink()) {
			l = e.anyLink()
		}
		if l != nil {
			e.request(l, origin, max(ours.HWM+1, ours.Floor), g.upTo)
		}
	}
}

func (e *Engine) anyLink() *syncLink {
	var fallback *syncLink
	for _, k := range e.sortedLinks() {
		if e.stableLink(k) {
			return e.sync.links[k]
		}
		if fallback == nil {
			fallback = e.sync.links[k]
		}
	}
	return fallback
}

// stableLink: history is fetched over ring connections (CLOSEST or LONG),
// which both ends keep; introducer connections are transient and may
// already be gone on the other side.
func (e *Engine) stableLink(key identity.PublicKey) bool {
	c := e.conn(key)
	return c != nil && c.online && c.reasons&(reasonClosest|reasonLong) != 0
}

func (e *Engine) hasStableLink() bool {
	for k := range e.sync.links {
		if e.stableLink(k) {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[identity.PublicKey]V) []identity.PublicKey {
	out := make([]identity.PublicKey, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, keyCompare)
	return out
}

func (e *Engine) expireRequests(l *syncLink) {
	if len(l.inflight) == 0 || e.now.Before(l.inflight[0].sent.Add(defaultRequestTimeout)) {
		return
	}
	for _, in := range l.inflight {
		if e.sync.pending[in.origin] == l.key {
			delete(e.sync.pending, in.origin)
		}
	}
	l.inflight = nil
	e.evaluateAll()
}

func (e *Engine) sendSummary(c *conn, l *syncLink) {
	entries := e.store.summary()
	for first := true; first || len(entries) > 0; first = false {
		n := min(len(entries), maxSummaryEntries)
		e.sendDirect(c, &SummaryPacket{Entries: entries[:n]})
		entries = entries[n:]
	}
	l.lastSummary, l.dirty = e.now, false
	jitter := 1 + periodicJitterRange*(2*e.cfg.Rand.Float64()-1)
	l.nextSummary = e.now.Add(time.Duration(float64(e.cfg.SyncInterval) * jitter))
}

// request asks link l for origin's messages in [from, to].
func (e *Engine) request(l *syncLink, origin identity.PublicKey, from, to uint32) {
	c := e.conn(l.key)
	if c == nil || !c.online || from > to {
		return
	}
	if _, busy := e.sync.pending[origin]; busy {
		return
	}
	e.sync.pending[origin] = l.key
	l.inflight = append(l.inflight, inflight{origin: origin, sent: e.now})
	e.sendDirect(c, &RequestPacket{Entries: []RequestEntry{{Origin: origin, From: from, To: to}}})
}

// evaluate compares link l's last summary with ours and requests what we
// miss, one origin at a time per conference.
func (e *Engine) evaluate(l *syncLink) { e.evaluateOrigins(l, sortedKeys(l.remote)) }

// evaluateOrigins is evaluate restricted to origins (in that order).
func (e *Engine) evaluateOrigins(l *syncLink, origins []identity.PublicKey) {
	if e.sync.awaitFloor || e.sync.selfSync || (!e.stableLink(l.key) && e.hasStableLink()) {
		return
	}
	for _, origin := range origins {
		r, ok := l.remote[origin]
		if !ok {
			continue
		}
		ours := e.store.entry(origin)
		if r.Top > ours.Top || r.HWM > ours.HWM {
			from := max(ours.HWM+1, ours.Floor, r.Floor)
			e.request(l, origin, from, r.Top)
			continue
		}
		if r.Floor == ours.Floor && r.HWM == ours.HWM && r.Top == ours.Top &&
			r.Fingerprint != ours.Fingerprint && ours.HWM >= ours.Floor {
			r.Fingerprint = ours.Fingerprint // ask once per summary
			l.remote[origin] = r
			e.request(l, origin, ours.Floor, ours.HWM)
		}
	}
}

func (e *Engine) evaluateAll() {
	for _, k := range e.sortedLinks() {
		e.evaluate(e.sync.links[k])
	}
}
