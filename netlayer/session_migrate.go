package netlayer

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Migration (docs/protocol.md part 1, "Migration"). While a session runs
// on a relay it probes the peer's direct candidates with capped backoff
// (Config.MigrateBackoff). A probe is a dial race over the direct
// candidates whose HELLO carries the migrate flag. The listener answers
// with a cut-over WELCOME, and from then on both sides do the same:
//
//  1. queue MARK{seq: the next seq we send} on the old path, and write
//     nothing more there;
//  2. write every later record on the new path, but hold its reader;
//  3. keep reading the old path, delivering frames as usual, until the
//     peer's MARK; its seq must be the next frame we expect;
//  4. release the new path's reader and let the old path go.
//
// Frames below a side's mark travel only on the old path and frames from
// it only on the new one, and the receiver reads the old path to the mark
// before the new, so nothing is lost, doubled or reordered. If either path
// fails before step 4 the switch has passed its point of no return (the
// marks are out): both paths are dropped and the session resumes by the
// ordinary reconnect, whose HELLO numbers resend what is missing.

var errCutTimeout = errors.New("netlayer: the cut-over did not complete in time")

// cutState is a cut-over in progress. s.link is the new path (its reader
// held); old is read up to the peer's MARK. It owns a timer bounding the
// whole cut-over.
type cutState struct {
	old   *link
	timer Timer
}

func (s *Session) cutTimer() <-chan time.Time {
	if s.cut == nil {
		return nil
	}
	return s.cut.timer.C()
}

// cutTimeout bounds a cut-over: the peer's MARK is one old-path delivery
// away, behind what is queued there.
func (s *Session) cutTimeout() time.Duration {
	return s.ep.cfg.HandshakeTimeout + s.ep.cfg.deadAfter()
}

// publishRoute reports the route status when it changed. A failed switch
// is forgotten once the session runs on the direct route.
func (s *Session) publishRoute(r Route) {
	if r == RouteDirect && s.sw.Phase == SwitchFailed {
		s.sw = Switch{}
	}
	st := RouteStatus{Route: r, Switch: s.sw}
	remote := ""
	if l := s.carrier(); l != nil {
		remote = l.sc.conn.RemoteAddr().String()
	}
	if st == s.routeSt && remote == s.routeAddr {
		return
	}
	s.routeSt, s.routeAddr = st, remote
	s.rs.Store(&st)
	s.ep.emit(s.ctx, SessionRouteChanged{Peer: s.peer, Route: r, Switch: s.sw, RemoteAddr: remote})
}

// carrier is the link frames arrive on now: the old path during a
// cut-over.
func (s *Session) carrier() *link {
	if s.cut != nil {
		return s.cut.old
	}
	return s.link
}

func (s *Session) setSwitch(sw Switch) {
	s.sw = sw
	s.publish()
}

func switchFailed(reason string, err error) Switch {
	msg := reason
	if err != nil {
		msg = fmt.Sprintf("%s: %v", reason, err)
	}
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return Switch{Phase: SwitchFailed, To: RouteDirect, Reason: msg}
}

// canProbe reports whether the session should look for a direct path:
// it runs on a relay, nothing else is switching or closing, the peer
// understands migration, and we know a direct candidate.
func (s *Session) canProbe() bool {
	if s.ep.cfg.NoMigration || s.finished || s.closing != nil || s.cut != nil ||
		s.link == nil || s.link.route != RouteRelay || s.link.sc.peerMinor < minorMigration {
		return false
	}
	direct, _ := SplitAddrs(s.addrs)
	return len(direct) > 0
}

// armProbe schedules the next probe: MigrateBackoff's delay for the
// number of probes that failed since the relay connection came up.
func (s *Session) armProbe() {
	if s.probeT != nil || s.probe != nil || !s.canProbe() {
		return
	}
	s.probeT = s.ep.cfg.Clock.NewTimer(s.ep.cfg.MigrateBackoff.jittered(s.probes + 1))
}

// startProbe dials the direct candidates with a migrate HELLO.
func (s *Session) startProbe() {
	if s.probe != nil || !s.canProbe() {
		return
	}
	s.attemptGen++
	ctx, cancel := context.WithCancel(s.ctx)
	s.probe = &dialAttempt{gen: s.attemptGen, cancel: cancel}
	hl := s.hello()
	hl.Resume, hl.Migrate = true, true
	direct, _ := SplitAddrs(s.addrs)
	gen := s.attemptGen
	s.wg.Go(func() { s.dialRace(ctx, gen, direct, hl, true) })
}

// stopProbing cancels a probe in flight and the next one.
func (s *Session) stopProbing() {
	stopTimer(&s.probeT)
	if s.probe != nil {
		s.probe.cancel()
		s.probe = nil
		s.abandonSwitch("probe canceled")
	}
}

// switchWaitOver ends the wait for a crossing probe of the peer's that
// never came.
func (s *Session) switchWaitOver() {
	s.swT = nil
	if s.cut == nil && s.probe == nil && s.sw.Phase == SwitchSwitching {
		s.setSwitch(Switch{})
	}
}

// abandonSwitch marks a switch in progress as failed: no status is ever
// left "switching" once nothing switches.
func (s *Session) abandonSwitch(reason string) {
	if s.sw.Phase == SwitchSwitching {
		s.sw = switchFailed(reason, nil)
	}
}

// handleProbe applies a probe's progress or result.
func (s *Session) handleProbe(res dialResult) {
	if res.progress {
		// The switch starts when the direct path authenticated.
		if res.authed && s.cut == nil && s.link != nil {
			s.setSwitch(Switch{Phase: SwitchSwitching, To: RouteDirect})
		}
		return
	}
	s.probe.cancel()
	s.probe = nil
	early := s.earlyMark
	s.earlyMark = nil
	if res.err != nil {
		s.probes++
		switch {
		case errors.Is(res.err, ErrMigrationDenied):
			s.probes = 64 // the longest backoff: do not ask again soon
			s.setSwitch(switchFailed("denied by the peer", nil))
		case errors.Is(res.err, ErrSwitchBusy) && !s.ep.self.Less(s.peer):
			// Our probe crossed the peer's, which wins: its migrate HELLO
			// is on its way, so the switch goes on. If it does not come
			// within the handshake timeout, nothing is switching.
			stopTimer(&s.swT)
			s.swT = s.ep.cfg.Clock.NewTimer(s.ep.cfg.HandshakeTimeout)
		case errors.Is(res.err, ErrSwitchBusy):
			s.setSwitch(Switch{})
		case res.authed:
			s.setSwitch(switchFailed("new path failed", res.err))
		}
		if early != nil {
			s.dropLink(errors.New("connection: the peer left this path (MARK) and our probe failed"))
			return
		}
		s.armProbe()
		return
	}
	switch {
	case !res.w.CutOver:
		// The peer had lost the old path and resumed the session on this
		// connection: the ordinary replacement, if the numbers fit. If not,
		// the ordinary reconnect sorts it out (never a reset from a probe).
		err := s.checkPeer(res.w.Ack, res.w.NextSent)
		if res.w.ID != s.id {
			err = fmt.Errorf("welcome for another session: %w", ErrSessionMismatch)
		}
		if err != nil {
			_ = res.sc.conn.Close()
			s.dropLink(fmt.Errorf("probe: %w", err))
			return
		}
		s.adopt(res.sc, res.w.Ack, nil)
	case s.link == nil || s.cut != nil:
		_ = res.sc.conn.Close() // the old path went meanwhile: the redial resumes
		s.setSwitch(switchFailed("old path lost before the cut-over", nil))
	default:
		if !s.startCut(res.sc, res.w.Ack, nil) {
			return
		}
		if early != nil {
			s.handleOldPath(linkEvent{gen: s.cut.old.gen, rec: *early})
		}
	}
}

// startCut moves the session onto sc: MARK on the old path, later records
// on sc, whose reader waits for the peer's MARK. first, when set, is
// written first on sc (the listener's WELCOME). False when the old path
// cannot take the MARK (its queue is full): sc is then closed and the old
// path dropped.
func (s *Session) startCut(sc *secureConn, peerAck uint64, first *record) bool {
	old := s.link
	if !old.send(record{Type: recMark, Seq: s.seq, Ack: s.ack}) {
		_ = sc.conn.Close()
		s.dropLink(errors.New("connection: write queue full"))
		return false
	}
	s.noteAckSent()
	s.stopProbing()
	stopTimer(&s.swT)
	s.cut = &cutState{old: old, timer: s.ep.cfg.Clock.NewTimer(s.cutTimeout())}
	s.link = s.newLink(sc, true)
	if first != nil {
		s.link.send(*first)
	}
	s.hb.start(s.ep.cfg, !sc.dialed)
	s.sw = Switch{Phase: SwitchSwitching, To: s.link.route}
	s.publish()
	if peerAck <= s.seq {
		_ = s.onAck(peerAck) // numbers of the HELLO or WELCOME; acks are cumulative
	}
	return true
}

// handleOldPath applies a record or error from the path a cut-over drains.
func (s *Session) handleOldPath(ev linkEvent) {
	if ev.err != nil {
		s.dropLink(fmt.Errorf("old path: %w", ev.err))
		return
	}
	r := ev.rec
	s.hb.lastInbound = s.ep.cfg.Clock.Now()
	err := s.onAck(r.Ack)
	if err == nil {
		switch r.Type {
		case recAck, recPong, recPing: // nothing more is written on a marked path
		case recData, recClosing, recClosed:
			err = s.onSequenced(r)
		case recMark:
			if r.Seq != s.ack {
				err = fmt.Errorf("connection: peer marked %d, we received up to %d: %w", r.Seq, s.ack, ErrSeqGap)
				break
			}
			s.completeCut()
		default:
			err = fmt.Errorf("connection: unexpected %v on the old path: %w", r.Type, ErrMalformed)
		}
	}
	if err != nil {
		s.dropLink(fmt.Errorf("old path: %w", err))
		return
	}
	if s.link != nil && len(s.inbox) == 0 {
		s.flushAck()
	}
}

// completeCut ends a cut-over: the peer's MARK arrived with every frame
// before it, so the new path's reader starts and the old path goes.
func (s *Session) completeCut() {
	old := s.cut.old
	s.cut.timer.Stop()
	s.cut = nil
	old.finish(s.lingerTime())
	s.link.release()
	s.sw = Switch{}
	s.probes = 0
	s.publish()
	s.ep.log.Debug("migrated", "peer", s.peer.Short(), "route", s.link.route)
}

// endCut abandons a cut-over in progress, killing the old path. It
// reports whether there was one.
func (s *Session) endCut() bool {
	if s.cut == nil {
		return false
	}
	s.cut.timer.Stop()
	s.cut.old.kill()
	s.cut = nil
	s.abandonSwitch("cut-over abandoned")
	return true
}

// offerMigrate answers a migrate HELLO for our session id.
func (s *Session) offerMigrate(o offerReq) error {
	h := o.h
	switch {
	case s.ep.cfg.NoMigration:
		return reject(rejectDenied, ErrMigrationDenied)
	case s.cut != nil:
		return reject(rejectBusy, fmt.Errorf("migrate: %w", ErrSwitchBusy))
	case s.probe != nil && s.ep.self.Less(s.peer):
		return reject(rejectBusy, fmt.Errorf("migrate: our own probe wins: %w", ErrSwitchBusy))
	case s.link == nil:
		// The old path is gone here: resume plainly on this connection if
		// the numbers fit; otherwise let the prober's redial sort it out.
		if err := s.checkPeer(h.Ack, h.NextSent); err != nil {
			return reject(rejectBusy, fmt.Errorf("migrate without a path: %w (%w)", ErrSwitchBusy, err))
		}
		w := record{Type: recWelcome, Payload: encodeWelcome(welcome{ID: s.id, Ack: s.ack, NextSent: s.oldestUnacked()})}
		s.adopt(o.sc, h.Ack, &w)
		return nil
	}
	s.stopProbing()
	w := record{Type: recWelcome, Payload: encodeWelcome(welcome{ID: s.id, Ack: s.ack, NextSent: s.oldestUnacked(), CutOver: true})}
	if !s.startCut(o.sc, h.Ack, &w) {
		return reject(rejectBusy, fmt.Errorf("migrate: old path full: %w", ErrSwitchBusy))
	}
	return nil
}
