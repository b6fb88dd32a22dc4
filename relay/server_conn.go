package relay

import (
	"context"
	"errors"
	"net"
	"sync/atomic"

	"confchat/identity"
)

// serveConn owns one accepted connection from accept to close: the
// handshake, the first request, then the registration, call or join it
// asked for.
func (s *Server) serveConn(conn net.Conn) {
	defer conn.Close()
	if r := s.hub.accept(); r != 0 {
		return
	}
	defer s.hub.closed()
	stop := context.AfterFunc(s.ctx, func() { conn.Close() })
	defer stop()

	ch, b, m, ok := s.handshake(conn)
	if !ok {
		return
	}
	defer s.hub.releaseKey(ch.peer)
	switch m.Type {
	case msgRegister:
		s.serveRegistration(ch)
	case msgConnect:
		s.serveCaller(ch, b, m.Key)
	case msgJoin:
		s.serveJoiner(ch, b, m.Token)
	default:
		s.cut(ch.conn, ch.peer, ReasonMalformed, errors.New("first request is "+m.Type.String()))
	}
}

// handshake runs the Noise handshake and reads the first request, all
// within the handshake timeout. On success the key is admitted (the
// caller releases it) and the half-open phase is over.
func (s *Server) handshake(conn net.Conn) (*channel, *bucket, message, bool) {
	var timedOut atomic.Bool
	t := s.cfg.Clock.AfterFunc(s.cfg.HandshakeTimeout, func() {
		timedOut.Store(true)
		conn.Close()
	})
	defer t.Stop()
	defer s.hub.handshakeDone()

	var b *bucket
	var admitted identity.PublicKey
	ch, err := serverHandshake(conn, s.cfg.Key, func(k identity.PublicKey) Reason {
		var r Reason
		b, r = s.hub.admitKey(k)
		admitted = k
		return r
	})
	if err != nil {
		if b != nil { // admitted, then the reply failed
			s.hub.releaseKey(admitted)
		}
		s.failHandshake(conn, err, timedOut.Load())
		return nil, nil, message{}, false
	}
	m, err := ch.read()
	if err != nil {
		s.hub.releaseKey(ch.peer)
		s.failHandshake(conn, err, timedOut.Load())
		return nil, nil, message{}, false
	}
	return ch, b, m, true
}

// failHandshake counts a connection that never got through its handshake
// and first request. Refusals already counted (version, key limit) are not
// counted again.
func (s *Server) failHandshake(conn net.Conn, err error, timedOut bool) {
	var re *RefusedError
	switch {
	case errors.As(err, &re):
		if re.Reason == ReasonVersion {
			s.hub.refuse(ReasonVersion)
		}
		return
	case timedOut:
		s.hub.refuse(ReasonHandshake)
	case errors.Is(err, ErrTooLarge):
		s.hub.refuse(ReasonTooLarge)
	case errors.Is(err, ErrMalformed):
		s.hub.refuse(ReasonMalformed)
	case s.ctx.Err() != nil:
		return
	default:
		s.hub.refuse(ReasonHandshake)
	}
	s.cfg.Logger.Debug("relay: handshake failed", "remote", conn.RemoteAddr().String(), "err", err)
}

// cut ends a connection the relay refuses after the handshake, counting
// the reason, and tells the client why when the reason has a code.
func (s *Server) cut(conn net.Conn, peer identity.PublicKey, r Reason, err error) {
	s.hub.refuse(r)
	s.cfg.Logger.Debug("relay: client cut off", "key", peer.Short(), "reason", r.String(), "err", err)
	conn.Close()
}

// refuseReq answers a request with REFUSED and closes the connection; the
// hub has already counted the reason.
func refuseReq(ch *channel, r Reason) {
	if r < ReasonFull {
		_ = ch.write(message{Type: msgRefused, Reason: r})
	}
	ch.conn.Close()
}

// serveCaller handles CONNECT: invite the target, wait for it to join
// (or decline, or time out), then splice.
func (s *Server) serveCaller(ch *channel, b *bucket, target identity.PublicKey) {
	c, r := s.hub.call(ch.peer, target)
	if r != 0 {
		refuseReq(ch, r)
		return
	}
	var out outcome
	select {
	case out = <-c.result:
	case <-s.ctx.Done():
		refuseReq(ch, ReasonShutdown)
		return
	}
	if out.reason != 0 {
		refuseReq(ch, out.reason)
		return
	}
	defer close(out.joiner.done)
	if err := ch.write(message{Type: msgConnected, Key: target}); err != nil {
		out.joiner.ch.conn.Close()
		return
	}
	s.splice(ch, b, out.joiner.ch, out.joiner.bucket)
}

// serveJoiner handles JOIN: claim the call, tell the joiner who it is
// talking to, and hand the connection to the caller's goroutine, which
// splices it. The joiner's goroutine waits for the pair to end so that
// its key and client counts are released only then.
func (s *Server) serveJoiner(ch *channel, b *bucket, tok token) {
	c, r := s.hub.join(ch.peer, tok)
	if r != 0 {
		refuseReq(ch, r)
		return
	}
	j := &joiner{ch: ch, bucket: b, done: make(chan struct{})}
	if err := ch.write(message{Type: msgConnected, Key: c.caller}); err != nil {
		ch.conn.Close() // the caller's splice ends at once
	}
	c.result <- outcome{joiner: j}
	select {
	case <-j.done:
	case <-s.ctx.Done():
	}
}
