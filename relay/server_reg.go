package relay

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// serveRegistration owns a registration connection: it forwards invites,
// answers pings, takes declines, and cuts the client off when it goes
// idle, floods, sends garbage or is replaced. A reader goroutine only
// reads records and hands them over; everything else happens here.
func (s *Server) serveRegistration(ch *channel) {
	reg := s.hub.register(ch.peer)
	if reg == nil {
		return
	}
	defer s.hub.unregister(reg)
	idleSecs := uint16(s.cfg.IdleTimeout / time.Second)
	if err := ch.write(message{Type: msgRegistered, Idle: idleSecs}); err != nil {
		return
	}
	if ap, ok := observedAddr(ch.conn.RemoteAddr()); ok {
		if err := ch.write(message{Type: msgObserved, Addr: ap}); err != nil {
			return
		}
	}
	msgs, readErr, stop := startReader(ch)
	defer stop()
	r, err := s.registrationLoop(ch, reg, msgs, readErr)
	if r != 0 {
		if r < ReasonFull {
			_ = ch.write(message{Type: msgRefused, Reason: r})
		}
		s.cut(ch.conn, ch.peer, r, err)
	}
}

// startReader runs readLoop on ch in its own goroutine. stop closes the
// connection and waits for that goroutine to end.
func startReader(ch *channel) (msgs <-chan message, readErr <-chan error, stop func()) {
	m := make(chan message)
	e := make(chan error, 1)
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		readLoop(ch, m, e, quit)
	}()
	return m, e, func() {
		close(quit)
		ch.conn.Close()
		<-done
	}
}

// readLoop reads control messages until an error, handing each to msgs.
func readLoop(ch *channel, msgs chan<- message, readErr chan<- error, quit <-chan struct{}) {
	for {
		m, err := ch.read()
		if err != nil {
			readErr <- err
			return
		}
		select {
		case msgs <- m:
		case <-quit:
			return
		}
	}
}

// registrationLoop runs until the registration ends; it returns the reason
// to cut the client off, or 0 when the client left or the relay stops.
func (s *Server) registrationLoop(ch *channel, reg *registration, msgs <-chan message, readErr <-chan error) (Reason, error) {
	clock := s.cfg.Clock
	flood := newBucket(controlRate, controlBurst, clock.Now())
	w := newWatchdog(clock, s.cfg.IdleTimeout)
	defer w.stop()
	for {
		select {
		case m := <-msgs:
			w.touch()
			if !flood.allow(clock.Now()) {
				return ReasonFlood, errors.New("too many control messages")
			}
			if r, err := s.handleRegMessage(ch, reg, m); r != 0 {
				return r, err
			}
		case err := <-readErr:
			return readReason(err)
		case inv := <-reg.invites:
			if err := ch.write(inv); err != nil {
				return 0, nil
			}
		case <-reg.kicked:
			return ReasonReplaced, errors.New("a newer registration of the key")
		case <-w.expired:
			return ReasonIdle, fmt.Errorf("silent for %v", s.cfg.IdleTimeout)
		case <-s.ctx.Done():
			_ = ch.write(message{Type: msgRefused, Reason: ReasonShutdown})
			return 0, nil
		}
	}
}

func (s *Server) handleRegMessage(ch *channel, reg *registration, m message) (Reason, error) {
	switch m.Type {
	case msgPing:
		if err := ch.write(message{Type: msgPong}); err != nil {
			return 0, nil
		}
	case msgDecline:
		s.hub.decline(reg, m.Token)
	default:
		return ReasonMalformed, fmt.Errorf("%v on a registration", m.Type)
	}
	return 0, nil
}

// readReason classifies a read error after the handshake: garbage and
// oversized records are cut-offs, anything else is the client leaving.
func readReason(err error) (Reason, error) {
	switch {
	case errors.Is(err, ErrTooLarge):
		return ReasonTooLarge, err
	case errors.Is(err, ErrMalformed):
		return ReasonMalformed, err
	}
	return 0, nil
}

// observedAddr is a client's TCP source address as OBSERVED carries it;
// false for a connection that has none (an in-memory pipe).
func observedAddr(a net.Addr) (netip.AddrPort, bool) {
	if a == nil {
		return netip.AddrPort{}, false
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil || !ap.Addr().IsValid() || ap.Port() == 0 {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port()), true
}
