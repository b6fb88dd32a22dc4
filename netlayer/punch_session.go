package netlayer

// ProbeNow starts a migration probe of the session's direct candidates at
// once, instead of at the next backoff step: hole punching calls it the
// moment a punched connection is ready to be dialed (the node's transport
// hands it out for its address). It reports whether a probe started; it
// does not when the session is not on a relay, has no direct candidate,
// the peer does not migrate, or a probe or switch is already running (try
// again shortly).
func (s *Session) ProbeNow() bool {
	var started bool
	done := make(chan struct{})
	if !s.request(loopFunc{fn: func() {
		if s.probe != nil || !s.canProbe() {
			return
		}
		stopTimer(&s.probeT)
		s.startProbe()
		started = s.probe != nil
	}, done: done}) {
		return false
	}
	select {
	case <-done:
		return started
	case <-s.done:
		return false
	}
}
