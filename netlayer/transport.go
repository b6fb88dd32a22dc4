package netlayer

import (
	"context"
	"fmt"
	"net"

	"confchat/identity"
)

// Transport makes the connections an Endpoint runs its handshakes on:
// TCP by default (TCPTransport), MemNetwork in tests, a relay client as a
// third. Dial is told the key of the peer it reaches so that a relay can
// ask for it; the Noise handshake on the returned connection still
// authenticates that key end to end, whatever the transport.
//
// A connection whose Relayed method reports true is carried on
// RouteRelay, any other on RouteDirect. A connection that can half-close
// (CloseWrite, as *net.TCPConn) is half-closed after a graceful close's
// last record.
type Transport interface {
	Dial(ctx context.Context, peer identity.PublicKey, addr string) (net.Conn, error)
	Listen(addr string) (net.Listener, error)
}

// relayedConn is implemented by connections spliced through a relay.
type relayedConn interface{ Relayed() bool }

// routeOf is the route a connection carries a session on.
func routeOf(c net.Conn) Route {
	if r, ok := c.(relayedConn); ok && r.Relayed() {
		return RouteRelay
	}
	return RouteDirect
}

// TCPTransport dials and listens on TCP. DialFrom, when set, is the local
// IP outgoing connections leave from where it fits the destination (same
// family, both loopback or neither).
type TCPTransport struct {
	DialFrom net.IP
}

// Dial connects to addr ("host:port") until ctx ends.
func (t TCPTransport) Dial(ctx context.Context, _ identity.PublicKey, addr string) (net.Conn, error) {
	var d net.Dialer
	if ip := t.DialFrom; ip != nil && sameScope(ip, addr) {
		d.LocalAddr = &net.TCPAddr{IP: ip}
	}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("tcp: %w", err)
	}
	return c, nil
}

// Listen binds addr.
func (TCPTransport) Listen(addr string) (net.Listener, error) {
	return net.Listen("tcp", addr)
}

// sameScope reports whether a connection from ip to addr can work: addr's
// host is an IP literal of the same family and both or neither are
// loopback. Otherwise the system picks the source.
func sameScope(ip net.IP, addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	dst := net.ParseIP(host)
	if dst == nil {
		return false
	}
	return (ip.To4() != nil) == (dst.To4() != nil) && ip.IsLoopback() == dst.IsLoopback()
}
