package conference

import (
	"slices"

	"confchat/identity"
)

// maxEchoes bounds the echoes of own messages kept while an earlier one is
// still unconfirmed.
const maxEchoes = 256

// noteDelivered raises the delivered mark to upTo (never past our own
// stored messages) and tells the node.
func (e *Engine) noteDelivered(upTo uint32) {
	upTo = min(upTo, e.lastStored)
	if upTo <= e.delivered {
		return
	}
	e.delivered = upTo
	for prev, n := range e.echoes {
		if n <= upTo {
			delete(e.echoes, prev)
		}
	}
	e.persistMeta()
	e.emit(Delivered{UpTo: upTo})
}

// noteHolding: we stored a message that came from its origin directly; the
// origin gets one HOLDING with our contiguous mark for it at Ready.
func (e *Engine) noteHolding(origin identity.PublicKey) {
	if !slices.Contains(e.holdingDue, origin) {
		e.holdingDue = append(e.holdingDue, origin) // at most one per connection
	}
}

// flushHolding sends the HOLDINGs due this turn (Ready: after the rows
// that store the messages, as every packet is).
func (e *Engine) flushHolding() {
	for _, k := range e.holdingDue {
		en := e.store.entry(k)
		if c := e.conn(k); c != nil && c.online && en.HWM >= en.Floor {
			e.sendDirect(c, &HoldingPacket{UpTo: en.HWM})
		}
	}
	clear(e.holdingDue)
	e.holdingDue = e.holdingDue[:0]
}

// noteEcho: another member flooded our stored message number (with prev)
// back to us, so it holds it. The mark moves only along our prev chain, so
// an echo of a later message does not vouch for a lost earlier one.
func (e *Engine) noteEcho(number, prev uint32) {
	if number <= e.delivered {
		return
	}
	if prev > e.delivered && prev >= e.store.origin(e.self).floor {
		if len(e.echoes) < maxEchoes {
			e.echoes[prev] = number
		}
		return
	}
	up := number
	for {
		next, ok := e.echoes[up]
		if !ok {
			break
		}
		delete(e.echoes, up)
		up = next
	}
	e.noteDelivered(up)
}

// noteSummaryOfSelf: a neighbour's summary says it holds our messages up to
// its contiguous high-water mark (if it holds any of our chain at all).
func (e *Engine) noteSummaryOfSelf(en SummaryEntry) {
	if en.Origin == e.self && en.HWM >= en.Floor {
		e.noteDelivered(en.HWM)
	}
}

// Delivered returns the delivered mark: another member holds our messages
// numbered up to it.
func (e *Engine) Delivered() uint32 { return e.delivered }
