package netlayer

import "fmt"

// offerReq hands an inbound connection that completed Noise and sent its
// HELLO to the session's owner, which accepts it (and writes WELCOME) or
// answers with a reject code for the handshake goroutine to send.
type offerReq struct {
	sc    *secureConn
	h     hello
	reply chan error // nil: adopted; *rejectError: send the code and close
}

// rejectError is a refusal of an offered connection.
type rejectError struct {
	code rejectCode
	err  error
}

func (e *rejectError) Error() string { return "inbound: " + e.err.Error() }
func (e *rejectError) Unwrap() error { return e.err }

func reject(code rejectCode, err error) error { return &rejectError{code: code, err: err} }

// offer asks the owner to take sc. It fails with ErrClosed if the session
// ended meanwhile.
func (s *Session) offer(sc *secureConn, h hello) error {
	req := offerReq{sc: sc, h: h, reply: make(chan error, 1)}
	if !s.request(req) {
		return ErrClosed
	}
	return <-req.reply
}

// handleOffer applies the session rules to an inbound HELLO:
//   - same session id: resume if the numbers fit, else mismatch;
//   - another id with Resume set: mismatch (we never welcomed it: river #405);
//   - another id, fresh, while our session is established: the peer lost
//     its state, so we reset and take the new session;
//   - another id, fresh, both sessions fresh: a simultaneous dial; adopt
//     the peer's id unless the tie-break keeps our own dial.
//
// The duplicate rule comes first: the connection dialed by the lower key
// wins. Checking it first also keeps a simultaneous dial's late HELLO
// (sent before the peer adopted our session id) from looking like a
// restarted peer.
func (s *Session) handleOffer(o offerReq) error {
	if s.finished {
		return ErrClosed
	}
	h := o.h
	if h.Migrate && h.ID == s.id {
		return s.offerMigrate(o)
	}
	if s.keepOwn() {
		return reject(rejectDuplicate, fmt.Errorf("keeping our own dial: %w", ErrDuplicate))
	}
	switch {
	case h.ID == s.id:
		if err := s.checkPeer(h.Ack, h.NextSent); err != nil {
			return reject(rejectMismatch, err)
		}
	case h.Resume:
		return reject(rejectMismatch, fmt.Errorf("resume of unknown session: %w", ErrSessionMismatch))
	case s.established:
		s.resetOrEnd(fmt.Errorf("peer started a new session: %w", ErrSessionMismatch))
		if s.finished {
			return reject(rejectMismatch, ErrPeerReset)
		}
		s.dropStaleLink()
	}
	if h.ID != s.id {
		s.id = h.ID
		s.cancelAttempt() // its hello names the old id
	}
	w := record{Type: recWelcome, Payload: encodeWelcome(welcome{ID: s.id, Ack: s.ack, NextSent: s.oldestUnacked()})}
	s.adopt(o.sc, h.Ack, &w)
	return nil
}

// keepOwn is the duplicate-connection rule seen from the listener: when we
// have the lower key, a connection we dialed (live or in flight) beats the
// peer's.
func (s *Session) keepOwn() bool {
	if !s.ep.self.Less(s.peer) {
		return false
	}
	return s.attempt != nil || (s.link != nil && s.link.sc.dialed)
}

// dropStaleLink kills the current connection without starting a redial:
// the caller is about to adopt another.
func (s *Session) dropStaleLink() {
	if s.link != nil {
		s.link.kill()
		s.link = nil
		s.hb.stop()
	}
	s.endCut()
	s.stopProbing()
}
