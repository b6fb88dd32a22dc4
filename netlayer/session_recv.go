package netlayer

import (
	"fmt"
)

// ackEvery bounds how many frames we receive before acknowledging even
// when more are queued.
const ackEvery = 32

// handleLinkEvent processes one record or error from a link. Events of a
// replaced link are stale and ignored.
func (s *Session) handleLinkEvent(ev linkEvent) {
	if s.cut != nil && ev.gen == s.cut.old.gen {
		s.handleOldPath(ev)
		return
	}
	if s.link == nil || ev.gen != s.link.gen {
		return
	}
	if ev.err != nil {
		s.dropLink(ev.err)
		return
	}
	s.holdDelivery = true
	err := s.handleRecord(ev.rec)
	s.holdDelivery = false
	if err != nil {
		s.deliverHeld() // delivered is delivered, whatever the link does next
		s.dropLink(err)
		return
	}
	if s.link != nil && (len(s.inbox) == 0 || s.recvSinceAck >= ackEvery) {
		s.flushAck()
	}
	// The frame goes up after the ack is handed to the writer, so the
	// layer above is the last goroutine this one wakes and runs first.
	s.deliverHeld()
}

// deliverHeld emits the frame handleLinkEvent held back, if any.
func (s *Session) deliverHeld() {
	if !s.hasHeld {
		return
	}
	data := s.held
	s.held, s.hasHeld = nil, false
	s.ep.emit(s.ctx, FrameReceived{Peer: s.peer, Data: data})
}

// handleRecord applies one record from the current link.
func (s *Session) handleRecord(r record) error {
	s.hb.lastInbound = s.ep.cfg.Clock.Now()
	if err := s.onAck(r.Ack); err != nil {
		return err
	}
	switch r.Type {
	case recAck, recPong:
	case recPing:
		s.sendControl(recPong)
	case recData, recClosing, recClosed:
		return s.onSequenced(r)
	case recMark:
		// The peer moved to a path of our probe whose WELCOME we have not
		// seen yet: wait for it. Without a probe the path is over.
		if s.probe != nil && s.earlyMark == nil {
			s.earlyMark = &r
			return nil
		}
		return fmt.Errorf("connection: the peer left this path (MARK): %w", ErrSeqGap)
	default:
		return fatal(ReasonProtocol, fmt.Errorf("connection: unexpected %v: %w", r.Type, ErrMalformed))
	}
	return nil
}

// onAck drops acknowledged frames from the buffer and frees their credits.
func (s *Session) onAck(a uint64) error {
	if a > s.seq {
		return fmt.Errorf("connection: ack %d beyond next seq %d: %w", a, s.seq, ErrMalformed)
	}
	n := 0
	for n < len(s.buf) && s.buf[n].seq < a {
		if s.buf[n].typ == recData {
			<-s.credits
		}
		n++
	}
	if n > 0 {
		clear(s.buf[:n]) // release the payloads
		s.buf = s.buf[n:]
		s.checkClosed()
	}
	return nil
}

// onSequenced delivers a DATA, CLOSING or CLOSED record exactly once and
// in order: duplicates are dropped, a gap drops the connection, and
// repeated gaps reset the session.
func (s *Session) onSequenced(r record) error {
	switch {
	case r.Seq < s.ack:
		return nil
	case r.Seq > s.ack:
		s.gaps++
		if s.gaps >= maxGaps {
			s.reset(fmt.Errorf("%d sequence gaps: %w", s.gaps, ErrSeqGap))
		}
		return fmt.Errorf("connection: seq %d, expected %d: %w", r.Seq, s.ack, ErrSeqGap)
	}
	if s.closing != nil && s.closing.peerDone {
		return fatal(ReasonProtocol, fmt.Errorf("connection: %v after the peer's close: %w", r.Type, ErrMalformed))
	}
	s.ack++
	s.gaps = 0
	s.recvSinceAck++
	switch r.Type {
	case recData:
		if s.holdDelivery {
			s.held, s.hasHeld = r.Payload, true // handleLinkEvent emits it, after the ack
		} else {
			s.ep.emit(s.ctx, FrameReceived{Peer: s.peer, Data: r.Payload})
		}
		s.hb.lastInbound = s.ep.cfg.Clock.Now()
	case recClosing, recClosed:
		s.onPeerClose()
	}
	return nil
}

// writeFrame queues a buffered frame on the current link, if any.
func (s *Session) writeFrame(f outFrame) {
	if s.link == nil {
		return
	}
	if !s.link.send(record{Type: f.typ, Seq: f.seq, Ack: s.ack, Payload: f.data, room: f.room}) {
		s.dropLink(fmt.Errorf("connection: write queue full"))
		return
	}
	s.noteAckSent()
}

// sendControl queues an ACK, PING or PONG; a full queue drops it, which is
// harmless because acks are cumulative and heartbeats periodic.
func (s *Session) sendControl(t recordType) {
	if s.link != nil && s.link.send(record{Type: t, Ack: s.ack}) {
		s.noteAckSent()
	}
}

func (s *Session) noteAckSent() {
	s.ackSent = s.ack
	s.recvSinceAck = 0
}

// flushAck acknowledges what arrived since the last ack we sent.
func (s *Session) flushAck() {
	if s.ack > s.ackSent {
		s.sendControl(recAck)
	}
}

// dropLink ends the current connection and starts recovering.
func (s *Session) dropLink(reason error) {
	if s.link == nil {
		return
	}
	s.ep.log.Debug("connection lost", "peer", s.peer.Short(), "err", reason)
	if s.cut != nil {
		// Past the point of no return: both paths go, the reconnect resumes.
		s.sw = switchFailed("cut-over interrupted", reason)
		s.endCut()
	}
	s.abandonSwitch("old path lost during the switch")
	s.stopProbing()
	s.earlyMark = nil
	s.link.kill()
	s.link = nil
	s.hb.stop()
	s.publish()
	if IsFatal(reason) {
		s.finish(reason)
		return
	}
	s.connect(reason)
}
