package conference

import (
	"slices"

	"confchat/identity"
)

// Backpressure bounds: while more un-advanced outputs than this are
// pending, HandlePacket refuses input with ErrBackpressure (history sync
// heals whatever the refused packets carried).
const (
	MaxPendingOutputs = 8192    // rows + packets + session wishes + events
	MaxPendingBytes   = 8 << 20 // bytes of pending packets
)

// outbox holds the outputs not yet acknowledged by Advance, in the order
// they were made. Each row, packet and event carries the tag of the own
// user action that made it (0: none), so Abort can take exactly those out.
type outbox struct {
	rows     []Row
	rowTags  []uint64
	packets  []Outgoing
	pktTags  []uint64
	sessions []SessionWish
	events   []Event
	evTags   []uint64
	loads    []Load
	bytes    int
	given    readyMark // what the last Ready returned
}

// readyMark is how many outputs of each list the last Ready returned, and
// the last action tag handed out by then.
type readyMark struct {
	rows, packets, sessions, events, loads int
	tag                                    uint64
}

func (o *outbox) count() int {
	return len(o.rows) + len(o.packets) + len(o.sessions) + len(o.events) + len(o.loads)
}

func (o *outbox) empty() bool { return o.count() == 0 }

func (o *outbox) full() bool {
	return o.count() > MaxPendingOutputs || o.bytes > MaxPendingBytes
}

// advance drops what the last Ready returned.
func (o *outbox) advance() {
	g := o.given
	o.rows, o.rowTags = dropFront(o.rows, g.rows), dropFront(o.rowTags, g.rows)
	for _, p := range o.packets[:g.packets] {
		o.bytes -= len(p.Data)
	}
	o.packets, o.pktTags = dropFront(o.packets, g.packets), dropFront(o.pktTags, g.packets)
	o.sessions = dropFront(o.sessions, g.sessions)
	o.events, o.evTags = dropFront(o.events, g.events), dropFront(o.evTags, g.events)
	o.loads = dropFront(o.loads, g.loads)
	o.given = readyMark{}
}

func dropFront[T any](s []T, n int) []T {
	if n >= len(s) {
		return nil
	}
	return s[n:]
}

// abort removes every output made by an un-advanced action (tag != 0).
// It builds new slices: a batch handed out earlier stays intact.
func (o *outbox) abort() {
	o.rows, o.rowTags = keepUntagged(o.rows, o.rowTags)
	o.packets, o.pktTags = keepUntagged(o.packets, o.pktTags)
	o.events, o.evTags = keepUntagged(o.events, o.evTags)
	o.bytes = 0
	for _, p := range o.packets {
		o.bytes += len(p.Data)
	}
	o.given = readyMark{}
}

func keepUntagged[T any](items []T, tags []uint64) ([]T, []uint64) {
	var outItems []T
	var outTags []uint64
	for i, t := range tags {
		if t == 0 {
			outItems = append(outItems, items[i])
			outTags = append(outTags, 0)
		}
	}
	return outItems, outTags
}

// staging tracks own user actions (SendMessage, SendAction, SetTitle,
// SetName) not yet acknowledged by Advance.
type staging struct {
	next    uint64 // last tag handed out
	active  uint64 // tag of the action running now (0: none)
	actions []stagedAction
	top     uint32 // number of the last staged stored record (0: none)
}

// stagedAction is one un-advanced user action: the state Abort restores
// and, for a stored kind, the record that enters the store on Advance.
type stagedAction struct {
	tag            uint64
	name           string
	selfNameNumber uint32
	title          string
	st             *stored
}

// beginAction starts an own user action; its outputs carry the returned
// tag until Advance. Call endAction when it returns.
func (e *Engine) beginAction() {
	e.stage.next++
	e.stage.active = e.stage.next
	e.stage.actions = append(e.stage.actions, stagedAction{
		tag: e.stage.next, name: e.name, selfNameNumber: e.selfNameNumber, title: e.title.text,
	})
}

func (e *Engine) endAction() { e.stage.active = 0 }

// staged reports whether an own user action awaits Advance.
func (e *Engine) staged() bool { return len(e.stage.actions) > 0 }

// stageRecord keeps an own stored record of the running action out of the
// store until Advance.
func (e *Engine) stageRecord(st *stored) {
	a := &e.stage.actions[len(e.stage.actions)-1]
	if a.tag != e.stage.active {
		// Queued during self-sync, originated now: find its entry.
		for i := range e.stage.actions {
			if e.stage.actions[i].tag == e.stage.active {
				a = &e.stage.actions[i]
			}
		}
	}
	a.st = st
	e.stage.top = st.rec.Number
}

// prevNumber is the prev of our next stored message: the last staged one,
// else the last stored one.
func (e *Engine) prevNumber() uint32 {
	if e.stage.top != 0 {
		return e.stage.top
	}
	return e.lastStored
}

// Ready returns every pending output (Rows, Packets, Sessions, Events)
// without clearing it: a second Ready before Advance returns the same
// outputs plus newer ones. The embedder persists Rows first, then sends
// Packets, then applies Sessions, then emits Events, then calls Advance.
func (e *Engine) Ready() Ready {
	e.flushHolding()
	e.seal()
	e.syncSessions()
	o := &e.out
	o.given = readyMark{rows: len(o.rows), packets: len(o.packets), sessions: len(o.sessions),
		events: len(o.events), loads: len(o.loads), tag: e.stage.next}
	return Ready{
		Rows:     slices.Clip(o.rows),
		Packets:  slices.Clip(o.packets),
		Sessions: slices.Clip(o.sessions),
		Events:   slices.Clip(o.events),
		Loads:    slices.Clip(o.loads),
	}
}

// Advance acknowledges the last Ready: everything it returned was applied
// (rows committed, packets queued, session wishes and events handled), so
// exactly those outputs are cleared. Own messages it carried enter the
// message store (history sync may serve them from now on). Advance may
// leave new outputs pending (pruning); check HasReady.
func (e *Engine) Advance() {
	e.seal()
	upTo := e.out.given.tag
	e.out.advance()
	committed := false
	kept := e.stage.actions[:0]
	for _, a := range e.stage.actions {
		if a.tag > upTo {
			kept = append(kept, a)
			continue
		}
		if a.st != nil {
			e.commitStaged(a.st)
			committed = true
		}
	}
	e.stage.actions = kept
	e.stage.top = 0
	for _, a := range kept {
		if a.st != nil {
			e.stage.top = a.st.rec.Number
		}
	}
	for i := range e.sync.queued {
		if e.sync.queued[i].tag <= upTo {
			e.sync.queued[i].tag = 0
		}
	}
	if committed {
		e.holdingsChanged()
		e.pruneByCount()
	}
}

func (e *Engine) commitStaged(st *stored) {
	e.store.insert(st)
	e.lastStored = max(e.lastStored, st.rec.Number)
	e.store.evict()
}

// Abort says persisting the last Ready's Rows failed. Own user actions
// made since the last Advance are undone: their rows, packets and events
// are taken out (no packet of them will ever be returned), the title and
// our name go back, and their message numbers stay burned (a MetaRow
// persisting the advanced counter is left pending). Every other output
// stays pending and comes back in the next Ready.
func (e *Engine) Abort() {
	e.seal()
	e.out.abort()
	if !e.staged() && len(e.sync.queued) == 0 {
		return
	}
	first := e.stage.actions
	hadTitle := false
	for _, a := range e.stage.actions {
		if a.st != nil && a.st.rec.Kind == KindTitle {
			hadTitle = true
		}
	}
	e.sync.queued = slices.DeleteFunc(e.sync.queued, func(q queuedOwn) bool { return q.tag != 0 })
	if len(first) > 0 {
		a := first[0]
		e.name, e.selfNameNumber = a.name, a.selfNameNumber
		if rec, ok := e.store.latest(e.self, KindName); ok && rec.Number > e.selfNameNumber {
			e.selfNameNumber, e.name = rec.Number, textOf(rec.Body)
		}
		if hadTitle {
			e.recomputeTitle(a.title)
		}
		e.persistMeta()
	}
	e.stage.actions, e.stage.top = nil, 0
}

// shareableName is our name as others may learn it: a SetName not yet
// advanced is not shared.
func (e *Engine) shareableName() string {
	if e.staged() {
		return e.stage.actions[0].name
	}
	return e.name
}

// shareableTitle is the winning title we may hand to others: a staged
// TITLE of ours is not shared before Advance.
func (e *Engine) shareableTitle() (Record, bool) {
	rec, ok := e.title.record()
	if !ok || rec.Origin != e.self || e.store.has(e.self, rec.Number) {
		return rec, ok
	}
	t := e.bestStoredTitle()
	return t.rec, t.has
}

func (e *Engine) bestStoredTitle() titleState {
	var t titleState
	for _, k := range e.store.keys() {
		o := e.store.origins[k]
		for _, n := range o.special {
			rec := o.hot[n].rec
			if rec.Kind != KindTitle {
				continue
			}
			if _, stamp, text := titleBody(rec.Body); t.beats(stamp, rec.Origin) {
				t = titleState{text: text, stamp: stamp, origin: rec.Origin, rec: rec, has: true}
			}
		}
	}
	return t
}

// recomputeTitle sets the title from the stored TITLE records and tells
// the front ends if it differs from what they last saw (before, or a
// pending TitleChanged).
func (e *Engine) recomputeTitle(before string) {
	e.title = e.bestStoredTitle()
	seen := before
	for _, ev := range e.out.events {
		if tc, ok := ev.(TitleChanged); ok {
			seen = tc.Title
		}
	}
	if e.title.text != seen {
		e.emit(TitleChanged{Title: e.title.text, By: e.title.origin})
	}
}

// HasReady reports whether outputs are pending.
func (e *Engine) HasReady() bool { return !e.out.empty() }

func (e *Engine) emit(ev Event) {
	e.out.events = append(e.out.events, ev)
	e.out.evTags = append(e.out.evTags, e.stage.active)
}

func (e *Engine) persist(r Row) {
	e.out.rows = append(e.out.rows, r)
	e.out.rowTags = append(e.out.rowTags, e.stage.active)
}

func (e *Engine) sendRaw(to identity.PublicKey, data []byte) {
	if !e.sessions[to] {
		return
	}
	e.out.packets = append(e.out.packets, Outgoing{To: to, Data: data})
	e.out.pktTags = append(e.out.pktTags, e.stage.active)
	e.out.bytes += len(data)
}
