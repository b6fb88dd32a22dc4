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
