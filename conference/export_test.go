package conference

// ForceNextPeerNumber makes the next accepted joiner get number n (tests
// provoke peer-number collisions with it).
func (e *Engine) ForceNextPeerNumber(n uint16) { e.forcedNumber = &n }
