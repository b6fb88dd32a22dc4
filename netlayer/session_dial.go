package netlayer

import (
	"context"
	"errors"
	"fmt"
)

// dialAttempt is an in-flight dial owned by the session; cancel ends it.
type dialAttempt struct {
	gen    uint64
	cancel context.CancelFunc
}

// dialResult is what a dial attempt reports: progress (TCP is up, the
// handshake runs) or its end, a secure connection or an error.
type dialResult struct {
	gen      uint64
	progress bool // a transport connection is up (authed: and authenticated)
	authed   bool // progress: a candidate completed Noise; end: one did
	sc       *secureConn
	w        welcome
	err      error
}

// connect decides what follows a lost or failed connection: wait for the
// peer (no addresses), redial at once (first retry), or back off.
func (s *Session) connect(reason error) {
	if s.finished || s.link != nil {
		return
	}
	s.armGrace()
	if len(s.addrs) == 0 {
		s.setPhase(NoConnection, reason)
		return
	}
	s.retries++
	d := s.ep.cfg.Backoff.jittered(s.retries - 1)
	if d <= 0 {
		s.startDial(reason)
		return
	}
	s.setPhase(BackingOff, reason)
	s.backoffT = s.ep.cfg.Clock.NewTimer(d)
}

// startDial launches one dial attempt through the current addresses.
func (s *Session) startDial(reason error) {
	if len(s.addrs) == 0 {
		s.setPhase(NoConnection, reason)
		return
	}
	s.cancelAttempt()
	s.attemptGen++
	ctx, cancel := context.WithCancel(s.ctx)
	s.attempt = &dialAttempt{gen: s.attemptGen, cancel: cancel}
	hl := s.hello()
	addrs := append([]string(nil), s.addrs...)
	gen := s.attemptGen
	s.setPhase(Connecting, reason)
	s.wg.Go(func() { s.dialRace(ctx, gen, addrs, hl, false) })
}

// hello snapshots our side of the session for a dial.
func (s *Session) hello() hello {
	h := hello{ID: s.id, Resume: s.established}
	if h.Resume {
		h.Ack = s.ack
		h.NextSent = s.oldestUnacked()
	}
	return h
}

func (s *Session) oldestUnacked() uint64 {
	if len(s.buf) > 0 {
		return s.buf[0].seq
	}
	return s.seq
}

func (s *Session) cancelAttempt() {
	if s.attempt != nil {
		s.attempt.cancel()
		s.attempt = nil
	}
}

// deliverDial hands a result to the owner; if the attempt was canceled the
// connection is closed instead.
func (s *Session) deliverDial(ctx context.Context, res dialResult) {
	select {
	case s.dialRes <- res:
	case <-ctx.Done():
		if res.sc != nil {
			_ = res.sc.conn.Close()
		}
	}
}

// handleDial applies a dial result. A result from a canceled or replaced
// attempt is stale: its connection is closed, never adopted.
func (s *Session) handleDial(res dialResult) {
	if s.probe != nil && res.gen == s.probe.gen {
		s.handleProbe(res)
		return
	}
	if s.attempt == nil || res.gen != s.attempt.gen {
		if res.sc != nil {
			_ = res.sc.conn.Close()
		}
		return
	}
	if res.progress {
		if !res.authed {
			s.setPhase(Handshaking, nil)
		}
		return
	}
	s.cancelAttempt()
	if res.err != nil {
		s.onDialError(res.err)
		return
	}
	s.onWelcome(res.sc, res.w)
}

func (s *Session) onDialError(err error) {
	s.ep.log.Debug("dial failed", "peer", s.peer.Short(), "err", err)
	switch {
	case IsFatal(err):
		s.finish(err)
	case errors.Is(err, ErrSessionMismatch):
		s.resetOrEnd(err)
		s.connect(err)
	default:
		s.connect(err)
	}
}

// resetOrEnd resets the session, or ends it if it was closing: a closing
// session whose peer lost its state has nothing left to deliver to.
func (s *Session) resetOrEnd(err error) {
	if s.closing != nil {
		s.reset(err)
		s.finish(fmt.Errorf("%w: %w", ErrPeerReset, err))
		return
	}
	s.reset(err)
}

// onWelcome checks the listener's numbers and adopts the connection.
func (s *Session) onWelcome(sc *secureConn, w welcome) {
	err := s.checkPeer(w.Ack, w.NextSent)
	if w.ID != s.id {
		err = fmt.Errorf("welcome for another session: %w", ErrSessionMismatch)
	}
	if err != nil {
		_ = sc.conn.Close()
		s.resetOrEnd(err)
		s.connect(err)
		return
	}
	s.adopt(sc, w.Ack, nil)
}

// checkPeer verifies that the peer's numbers fit ours: it may not
// acknowledge frames we never sent, nor lack frames we already dropped,
// and it must still hold every frame we have not received.
func (s *Session) checkPeer(peerAck, peerNextSent uint64) error {
	switch {
	case peerAck > s.seq:
		return fmt.Errorf("peer acknowledges %d, we sent up to %d: %w", peerAck, s.seq, ErrSessionMismatch)
	case peerAck < s.oldestUnacked():
		return fmt.Errorf("peer expects %d, we hold from %d: %w", peerAck, s.oldestUnacked(), ErrSessionMismatch)
	case peerNextSent > s.ack:
		return fmt.Errorf("peer resends from %d, we expect %d: %w", peerNextSent, s.ack, ErrSessionMismatch)
	}
	return nil
}

// adopt makes sc the session's connection: it replaces any other, trims
// the buffer to the peer's ack and resends the rest in order. first, when
// set, is written before the resent frames (the listener's WELCOME).
func (s *Session) adopt(sc *secureConn, peerAck uint64, first *record) {
	if s.link != nil {
		s.link.kill()
		s.link = nil
	}
	if s.sw.Phase == SwitchSwitching && s.cut == nil {
		s.sw = Switch{} // a probe's plain resume: the switch is done
	}
	s.endCut()
	s.stopProbing()
	s.earlyMark = nil
	s.probes = 0
	s.cancelAttempt()
	stopTimer(&s.backoffT)
	stopTimer(&s.graceT)
	s.link = s.newLink(sc, false)
	if first != nil {
		s.link.send(*first)
	}
	s.established = true
	if s.retries > 1 {
		s.ep.kickBackingOff(s) // we failed to reach the peer and now did
	}
	s.retries = 0
	_ = s.onAck(peerAck) // checked by checkPeer
	if s.finished {
		return // that ack completed a close; shutdown flushes the link
	}
	for _, f := range s.buf {
		s.writeFrame(f)
	}
	s.flushAck()
	s.hb.start(s.ep.cfg, !sc.dialed)
	s.setPhase(Connected, nil)
	s.publish()
	s.armProbe()
}

// handleAddrs replaces the dial addresses.
func (s *Session) handleAddrs(addrs []string) {
	s.addrs = addrs
	switch {
	case s.link != nil:
		s.armProbe()
	case s.finished:
	case len(addrs) == 0:
		s.cancelAttempt()
		stopTimer(&s.backoffT)
		s.setPhase(NoConnection, nil)
	case s.attempt == nil:
		stopTimer(&s.backoffT)
		s.startDial(nil)
	}
}

// armGrace starts the grace timer when the session loses its connection.
func (s *Session) armGrace() {
	if s.ep.cfg.Grace > 0 && s.graceT == nil {
		s.graceT = s.ep.cfg.Clock.NewTimer(s.ep.cfg.Grace)
	}
}
