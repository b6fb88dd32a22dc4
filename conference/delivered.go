package conference

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
