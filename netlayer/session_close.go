package netlayer

import "time"

// closeState is the graceful close in progress. It owns the close timer.
//
// Our side is done when our marker (CLOSING if we started, CLOSED if the
// peer did) and everything before it are acknowledged: the buffer is
// empty. The peer's side is done when its marker arrived in sequence. The
// session is Closed when both are done, or when the timer fires.
type closeState struct {
	local    bool // we started the close
	peerDone bool // the peer's CLOSING or CLOSED arrived
	timer    Timer
}

// startClose enters Closing: no more Sends, and a marker frame after the
// ones already accepted. local is false when the peer's CLOSING started it.
func (s *Session) startClose(local bool) {
	if s.closing != nil || s.finished {
		return
	}
	if local && !s.established && (s.link == nil || len(s.buf) == 0 && s.sendQ.empty()) {
		// The peer never heard of this session, or nothing is left to
		// tell it: waiting for a connection (up to CloseTimeout) would
		// only hold up our own shutdown. What was queued is reported
		// unacknowledged with Closed; the conference layer's history
		// sync delivers it later.
		s.finish(nil)
		return
	}
	s.sendQ.stop()
	s.takeSends() // accepted before the close: they go before the marker
	from := s.public()
	s.closing = &closeState{local: local, timer: s.ep.cfg.Clock.NewTimer(s.ep.cfg.CloseTimeout)}
	s.report(from, nil, nil)
	marker := recClosing
	if !local {
		marker = recClosed
	}
	s.pushFrame(marker, nil, nil)
}

// onPeerClose handles the peer's CLOSING or CLOSED, which arrive after all
// of its frames.
func (s *Session) onPeerClose() {
	s.startClose(false)
	if s.closing == nil {
		return // finished meanwhile
	}
	s.closing.peerDone = true
	s.noteAckSent()
	s.sendControl(recAck)
	s.checkClosed()
}

// checkClosed finishes a close once both sides are done.
func (s *Session) checkClosed() {
	if s.closing != nil && s.closing.peerDone && len(s.buf) == 0 {
		s.finish(nil)
	}
}

func (s *Session) closeTimer() <-chan time.Time {
	if s.closing == nil {
		return nil
	}
	return s.closing.timer.C()
}

func (s *Session) stopCloseTimer() {
	if s.closing != nil {
		s.closing.timer.Stop()
	}
}
