package conference

// ForceNextPeerNumber makes the next accepted joiner get number n (tests
// provoke peer-number collisions with it).
func (e *Engine) ForceNextPeerNumber(n uint16) { e.forcedNumber = &n }

// ConnReasons returns the reason bits of our connection to key.
func (e *Engine) ConnReasons(key [32]byte) (uint8, bool) {
	c := e.conn(key)
	if c == nil {
		return 0, false
	}
	return c.reasons, true
}

// Exported reason bits for tests.
const (
	ReasonClosest     = reasonClosest
	ReasonIntroducing = reasonIntroducing
	ReasonIntroducer  = reasonIntroducer
	ReasonLong        = reasonLong
)

// QueuedHistoryBytes is the size of every history packet queued for
// pacing, over all links.
func (e *Engine) QueuedHistoryBytes() int {
	n := 0
	for _, l := range e.sync.links {
		for _, b := range l.queue {
			n += len(b)
		}
	}
	return n
}

// RemoteOrigins is how many origins the engine remembers from the
// summaries of the link to key.
func (e *Engine) RemoteOrigins(key [32]byte) int {
	if l := e.sync.links[key]; l != nil {
		return len(l.remote)
	}
	return 0
}

// StoredCount is the number of messages in the store.
func (e *Engine) StoredCount() int { return e.store.count }

// SetStatusForTest drives the status transition function.
func (e *Engine) SetStatusForTest(s uint8) error { return e.setStatus(status(s)) }

// SignCount is the number of Ed25519 signatures the engine has made for
// its own messages (one per sealed run chunk).
func (e *Engine) SignCount() int { return e.signs }
