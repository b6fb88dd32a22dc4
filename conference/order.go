package conference

import (
	"slices"
	"time"

	"confchat/identity"
)

// holdTimeout bounds how long a message waits for a missing predecessor
// before it is shown anyway (the predecessor may be pruned everywhere).
const holdTimeout = 15 * time.Second

// showInOrder emits MessageReceived for st once every earlier stored message
// of its origin (following prev) has been shown, then for any successors it
// was holding up. So each origin's messages reach the front ends in number
// order, even when flooding reorders them or sync fills a gap. Our own
// messages are shown at once.
func (e *Engine) showInOrder(st *stored) {
	if st.shown {
		return
	}
	if st.rec.Origin != e.self && !e.predecessorShown(st) {
		e.held[msgRef{st.rec.Origin, st.rec.Number}] = e.now
		return
	}
	e.showChain(st)
}

func (e *Engine) predecessorShown(st *stored) bool {
	prev := st.rec.Prev()
	o := e.store.origin(st.rec.Origin)
	if prev == 0 || prev < o.floor {
		return true
	}
	return e.store.shown(st.rec.Origin, prev)
}

// showChain shows st and then every stored successor whose prev links to
// the one just shown.
func (e *Engine) showChain(st *stored) {
	for st != nil && !st.shown {
		e.show(st)
		st = e.successor(st)
	}
}

func (e *Engine) show(st *stored) {
	st.shown = true
	delete(e.held, msgRef{st.rec.Origin, st.rec.Number})
	if st.rec.Kind != KindMessage && st.rec.Kind != KindAction {
		return
	}
	e.emit(MessageReceived{
		Origin: st.rec.Origin, Number: st.rec.Number, Action: st.rec.Kind == KindAction,
		Text: textOf(st.rec.Body), Own: st.rec.Origin == e.self, Late: st.late,
	})
}

// successor is the next stored message of the origin if its prev is st.
func (e *Engine) successor(st *stored) *stored {
	o := e.store.origins[st.rec.Origin]
	i, ok := o.find(st.rec.Number)
	if !ok || i+1 >= len(o.slots) || o.slots[i+1].prev != st.rec.Number {
		return nil
	}
	return o.hot[o.slots[i+1].num] // nil without a body: then it was shown
}

// releaseHeld shows messages that waited holdTimeout for a predecessor.
func (e *Engine) releaseHeld() {
	if len(e.held) == 0 {
		return
	}
	var due []msgRef
	for ref, since := range e.held {
		if !e.now.Before(since.Add(holdTimeout)) {
			due = append(due, ref)
		}
	}
	slices.SortFunc(due, func(a, b msgRef) int {
		if a.origin != b.origin {
			return keyCompare(a.origin, b.origin)
		}
		return int(int64(a.number) - int64(b.number))
	})
	for _, ref := range due {
		if st := e.store.get(ref.origin, ref.number); st != nil {
			e.showChain(st)
		} else {
			delete(e.held, ref)
		}
	}
}

func (e *Engine) heldDeadline(d *deadline) {
	for _, since := range e.held {
		d.add(since.Add(holdTimeout))
	}
}

func keyCompare(a, b identity.PublicKey) int {
	switch {
	case a.Less(b):
		return -1
	case b.Less(a):
		return 1
	}
	return 0
}
