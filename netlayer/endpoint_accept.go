package netlayer

import (
	"context"
	"errors"
	"fmt"
	"net"
)

// acceptLoop accepts connections until the listener fails, and returns
// why. Every connection gets a half-open slot, displacing another if need
// be (see halfOpenTable).
func (e *Endpoint) acceptLoop(ln net.Listener) error {
	for {
		conn, err := ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				e.log.Warn("accept", "err", err)
			}
			return err
		}
		if !e.goInbound(conn) {
			_ = conn.Close()
			return net.ErrClosed
		}
	}
}

// goInbound starts conn's handshake unless the endpoint is closed: the
// check and the start happen under the lock that terminate takes before
// it waits for the goroutines, so none starts after that wait began.
func (e *Endpoint) goInbound(conn net.Conn) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.mu.closed {
		return false
	}
	hc, victim := e.halfOpen.admit(conn)
	if victim != nil {
		_ = victim.conn.Close()
	}
	e.wg.Go(func() { e.serveInbound(hc) })
	return true
}

func (e *Endpoint) rejected(conn net.Conn, sc *secureConn, err error) {
	ev := InboundRejected{Addr: conn.RemoteAddr().String(), Err: err}
	if sc != nil {
		ev.Peer = sc.peer
	}
	e.log.Debug("inbound rejected", "addr", ev.Addr, "err", err)
	select { // diagnostics only: never let a port scanner stall the listener
	case e.events <- ev:
	default:
	}
}

// serveInbound runs the listener side of a handshake and hands the
// connection to the peer's session.
func (e *Endpoint) serveInbound(hc *halfConn) {
	conn := hc.conn
	stop := context.AfterFunc(e.ctx, func() { _ = conn.Close() })
	sc, h, err := e.hs.listen(conn, func() { e.halfOpen.progressed(hc) })
	if !stop() && err == nil {
		err = ErrClosed
	}
	if e.halfOpen.release(hc) {
		err = fmt.Errorf("inbound: displaced by a newer connection: %w", ErrTooManyHandshakes)
	}
	if err != nil {
		_ = conn.Close()
		e.rejected(conn, nil, err)
		return
	}
	if err := e.handOver(sc, h); err != nil {
		var rj *rejectError
		if errors.As(err, &rj) {
			dl := e.hs.deadline(conn, e.cfg.HandshakeTimeout)
			_ = sc.writeMsg(record{Type: recReject, Payload: []byte{byte(rj.code)}})
			_ = dl.end(nil)
		}
		_ = conn.Close()
		e.rejected(conn, sc, err)
	}
}

// handOver offers sc to the peer's session, creating it if needed. A
// session that ends during the offer is replaced once more at most.
func (e *Endpoint) handOver(sc *secureConn, h hello) error {
	for range 3 {
		s, _, err := e.session(sc.peer, nil, true)
		if err != nil {
			return fmt.Errorf("inbound: %w", err)
		}
		if err := s.offer(sc, h); !errors.Is(err, ErrClosed) {
			return err
		}
	}
	return fmt.Errorf("inbound: session kept closing: %w", ErrClosed)
}
