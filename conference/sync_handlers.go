package conference

import (
	"fmt"
	"math"
	"slices"
	"time"

	"confchat/identity"
)

// handleSyncPacket dispatches the history-sync direct packets.
func (e *Engine) handleSyncPacket(c *conn, p directPacket) error {
	if e.status != statusConnected || !c.online {
		return nil // history is only for online connections to members
	}
	l := e.sync.links[c.key]
	if l == nil {
		e.sync.linkUp(e, c)
		l = e.sync.links[c.key]
		if l == nil {
			return nil
		}
	}
	switch p := p.(type) {
	case *SummaryPacket:
		var changed []identity.PublicKey
		for _, en := range p.Entries {
			e.noteSummaryOfSelf(en)
			if !e.knownOrigin(en.Origin) {
				continue // only members' (and our own) histories are synced
			}
			if _, known := l.remote[en.Origin]; known || len(l.remote) < maxRemoteOrigins {
				l.remote[en.Origin] = en
				changed = append(changed, en.Origin)
			}
		}
		slices.SortFunc(changed, keyCompare)
		e.evaluateOrigins(l, slices.Compact(changed))
	case *RequestPacket:
		e.serveRequest(l, p)
	case *BatchPacket:
		return e.handleBatch(l, p)
	case *FloorsPacket:
		e.handleFloors(p)
	case *HistoryRequestPacket:
		e.serveHistory(l, int(p.Count))
	case *NumberHintPacket:
		e.handleNumberHint(p)
	case *HoldingPacket:
		e.noteDelivered(p.UpTo) // capped at our highest stored number
	}
	return nil
}

func (e *Engine) serveRequest(l *syncLink, p *RequestPacket) {
	for _, en := range p.Entries {
		if len(l.queue)+l.loading >= maxQueuedBatches {
			return // the requester times out and asks again (or elsewhere)
		}
		recs, cold := e.store.rangeRecords(en.Origin, en.From, en.To, historySyncWindow, maxBatchBytes)
		if cold || l.loading > 0 {
			// Older bodies are on the embedder's disk; batches answer
			// requests in order, so later ones on this link wait too.
			l.loading++
			e.out.loads = append(e.out.loads, Load{Peer: l.key, Origin: en.Origin, From: en.From, To: en.To,
				Max: historySyncWindow})
			continue
		}
		e.enqueueBatch(l, &BatchPacket{Records: recs})
	}
}

// Loaded answers one Load of an earlier Ready with the records the
// embedder read (nil if reading failed): the batch it was for is queued
// for the neighbour. Records the store does not hold (with the same
// fingerprint) are left out.
func (e *Engine) Loaded(now time.Time, ld Load, recs []Record) {
	e.now = now
	l := e.sync.links[ld.Peer]
	if l == nil || l.loading == 0 {
		return // the link went down since: its requests died with it
	}
	l.loading--
	if e.status != statusConnected {
		return
	}
	out := e.store.limitRecords(e.id, ld.Origin, ld.From, ld.To, recs, historySyncWindow, maxBatchBytes)
	e.enqueueBatch(l, &BatchPacket{Records: out})
}

// handleBatch stores fetched records. They are verified, never relayed,
// and shown as Late. A record failing its signature is dropped. A batch
// answers our oldest request on the link and may only hold the requested
// origin's records; a joiner's history (from its introducer) may hold
// records of origins it does not know yet, a bounded number of them. A
// batch nobody asked for is dropped.
func (e *Engine) handleBatch(l *syncLink, p *BatchPacket) error {
	var want *identity.PublicKey // nil: the join history
	switch {
	case e.sync.selfSync && !e.sync.awaitFloor && l.key == e.joinInviter:
		defer e.historyBatchDone()
	case len(l.inflight) > 0:
		in := l.inflight[0]
		l.inflight = l.inflight[1:]
		if e.sync.pending[in.origin] == l.key {
			delete(e.sync.pending, in.origin)
		}
		want = &in.origin
	default:
		return fmt.Errorf("conference: batch: %w", ErrUnsolicited)
	}
	var bad int
	for _, rec := range p.Records {
		if want != nil && rec.Origin != *want {
			bad++
			continue
		}
		if want == nil && !e.knownOrigin(rec.Origin) {
			if e.sync.joinUnknown >= maxJoinUnknown {
				continue
			}
			e.sync.joinUnknown++
		}
		if !e.verifyRecord(rec) {
			bad++
			continue
		}
		if e.acceptRecord(rec, true) {
			e.holdingsChanged()
		}
	}
	e.evaluateAll()
	if bad > 0 {
		return fmt.Errorf("conference: batch: %d records: %w", bad, ErrBadSignature)
	}
	return nil
}

// handleFloors fixes a joiner's floors, once.
func (e *Engine) handleFloors(p *FloorsPacket) {
	if !e.sync.awaitFloor {
		return
	}
	e.sync.awaitFloor = false
	e.sync.batchesLeft = int(p.Batches)
	defer func() {
		if e.sync.batchesLeft == 0 {
			e.endSelfSync()
		}
	}()
	for _, en := range p.Entries {
		o := e.store.origin(en.Origin)
		o.setFloor(en.Floor, true)
		e.persist(FloorRow{Origin: en.Origin, Floor: o.floor, Fixed: true})
	}
	e.evaluateAll()
}

// serveHistory answers a joiner: the floors, then the last count messages
// plus every origin's latest NAME and the winning TITLE.
func (e *Engine) serveHistory(l *syncLink, count int) {
	if !l.served.IsZero() && e.now.Before(l.served.Add(historyServeInterval)) {
		return // one answer per joiner; a repeat within the interval is refused
	}
	l.served = e.now
	recs := e.store.recent(min(count, e.cfg.JoinHistory))
	floors := e.joinerFloors(recs) // from the recent messages only
	have := map[msgRef]bool{}
	for _, r := range recs {
		have[msgRef{r.Origin, r.Number}] = true
	}
	extra := func(r Record) {
		if !have[msgRef{r.Origin, r.Number}] {
			have[msgRef{r.Origin, r.Number}] = true
			recs = append(recs, r)
		}
	}
	for _, k := range e.store.keys() {
		if r, ok := e.store.latest(k, KindName); ok {
			extra(r)
		}
	}
	if r, ok := e.shareableTitle(); ok {
		extra(r)
	}
	batches := chunkRecords(recs)
	e.enqueueDirect(l, &FloorsPacket{Batches: uint16(len(batches)), Entries: floors})
	for _, b := range batches {
		e.enqueueBatch(l, &BatchPacket{Records: b})
	}
}

func (e *Engine) joinerFloors(recs []Record) []FloorEntry {
	low := map[identity.PublicKey]uint32{}
	for _, r := range recs {
		if v, ok := low[r.Origin]; !ok || r.Number < v {
			low[r.Origin] = r.Number
		}
	}
	var out []FloorEntry
	for _, k := range e.store.keys() {
		f, ok := low[k]
		if !ok {
			f = e.store.entry(k).Top + 1
		}
		out = append(out, FloorEntry{Origin: k, Floor: f})
	}
	return out
}

// chunkRecords sorts records by (origin, number) and splits them into
// BATCH-sized groups.
func chunkRecords(recs []Record) [][]Record {
	slices.SortStableFunc(recs, func(a, b Record) int {
		if a.Origin != b.Origin {
			if a.Origin.Less(b.Origin) {
				return -1
			}
			return 1
		}
		return int(int64(a.Number) - int64(b.Number))
	})
	var out [][]Record
	var cur []Record
	size := 0
	for _, r := range recs {
		if size+r.wireSize() > maxBatchBytes && len(cur) > 0 {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, r)
		size += r.wireSize()
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func (e *Engine) enqueueBatch(l *syncLink, b *BatchPacket) { e.enqueueDirect(l, b) }

// enqueueDirect queues one paced history packet; past maxQueuedBytes it is
// dropped (the requester times out and asks again, or elsewhere).
func (e *Engine) enqueueDirect(l *syncLink, w directWire) {
	c := e.conn(l.key)
	if c == nil {
		return
	}
	w.setGroup(c.remoteGroup)
	b := w.Encode()
	if l.queued+len(b) > maxQueuedBytes {
		return
	}
	l.queue = append(l.queue, b)
	l.queued += len(b)
	e.flushPaced(l)
}

// flushPaced sends queued history packets as the link's token bucket
// allows (HistoryRate bytes/s, HistoryBurst bytes).
func (e *Engine) flushPaced(l *syncLink) {
	e.refill(l)
	for len(l.queue) > 0 {
		n := float64(len(l.queue[0]))
		if l.tokens+1e-6 < min(n, float64(e.cfg.HistoryBurst)) {
			return
		}
		l.tokens -= n
		e.sendRaw(l.key, l.queue[0])
		l.queued -= len(l.queue[0])
		l.queue = l.queue[1:]
	}
}

func (e *Engine) refill(l *syncLink) {
	dt := e.now.Sub(l.refilled).Seconds()
	if dt > 0 {
		l.tokens = min(float64(e.cfg.HistoryBurst), l.tokens+dt*float64(e.cfg.HistoryRate))
		l.refilled = e.now
	}
}

// pacingReady is when the head of l's queue may go.
func (e *Engine) pacingReady(l *syncLink) time.Time {
	need := min(float64(len(l.queue[0])), float64(e.cfg.HistoryBurst)) - l.tokens
	if need <= 0 {
		return e.now
	}
	wait := time.Duration(math.Ceil(need / float64(e.cfg.HistoryRate) * float64(time.Second)))
	return l.refilled.Add(wait + time.Microsecond)
}

// queuedOwn is a user action held back during self-sync.
type queuedOwn struct {
	kind byte
	text string
	tag  uint64 // the user action's tag until Advance (0: advanced)
}

func (e *Engine) historyBatchDone() {
	e.sync.batchesLeft--
	if e.sync.batchesLeft <= 0 {
		e.endSelfSync()
	}
}

// endSelfSync releases what a new member held back: its self announcement,
// its NAME and any queued messages, numbered after everything of ours the
// history showed.
func (e *Engine) endSelfSync() {
	if !e.sync.selfSync {
		return
	}
	e.sync.selfSync = false
	e.announceListed = e.announceSelf // a joiner's first announcement
	e.flushNameAndAnnounce()
	for _, q := range e.sync.queued {
		e.stage.active = q.tag
		if q.kind != KindTitle {
			e.originate(q.kind, []byte(q.text))
		} else if q.text != e.title.text && e.title.stamp < MaxTitleStamp {
			e.originate(KindTitle, append(putU64(nil, e.title.stamp+1), q.text...))
		}
		e.stage.active = 0
	}
	e.sync.queued = nil
	e.maybePing()
	e.evaluateAll()
}
