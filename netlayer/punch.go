package netlayer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"
)

// Reusable ports (issue 13). A node behind a NAT learns the public side of
// its listening port only from a connection that leaves from that port
// (its relay registration, OBSERVED), and hole punching is a TCP
// simultaneous open between the two listening ports. Both need sockets
// that share the listening port: SO_REUSEADDR and SO_REUSEPORT on the
// listener and on every connection dialed from its port.

// ErrNoReusePort is returned where the system has no SO_REUSEPORT.
var ErrNoReusePort = errors.New("netlayer: SO_REUSEPORT is not available here")

// ReusePortTransport is TCPTransport whose listener lets connections be
// dialed from its port (ReusePortDialer). Dials of peers still leave from
// an ephemeral port, as with TCPTransport.
type ReusePortTransport struct {
	TCPTransport
}

// Listen binds addr with SO_REUSEADDR and SO_REUSEPORT.
func (ReusePortTransport) Listen(addr string) (net.Listener, error) {
	return ListenReusePort(context.Background(), addr)
}

// ListenReusePort listens on TCP addr with SO_REUSEADDR and SO_REUSEPORT,
// so ReusePortDialer can dial from the same port.
//
// SO_REUSEPORT would also let a second process listen on a port that is
// in use, and the kernel would then spread inbound connections between
// the two (half of our peers would reach the wrong key). So the port is
// first proved free with an ordinary listen, which fails with "address
// already in use" while anyone listens there, and only then taken with
// SO_REUSEPORT.
func ListenReusePort(ctx context.Context, addr string) (net.Listener, error) {
	var plain net.ListenConfig
	probe, err := plain.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	bound := probe.Addr().String() // a port 0 is chosen here
	if err := probe.Close(); err != nil {
		return nil, err
	}
	lc := net.ListenConfig{Control: reuseControl}
	return lc.Listen(ctx, "tcp", bound)
}

// ReusePortDialer dials TCP from Local (the listening address of a
// ReusePortTransport), with SO_REUSEADDR and SO_REUSEPORT. A dial whose
// 4-tuple is taken (a second connection from the port to the same
// address, or one still in TIME_WAIT) falls back to an ephemeral port
// unless Strict is set. It has the shape of relay.ContextDialer.
type ReusePortDialer struct {
	Local  *net.TCPAddr
	Strict bool
}

// DialContext connects to addr from d.Local.
func (d ReusePortDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if d.Local == nil || d.Local.Port == 0 {
		var nd net.Dialer
		return nd.DialContext(ctx, network, addr)
	}
	local := d.Local
	if !sameScope(local.IP, addr) && !local.IP.IsUnspecified() && local.IP != nil {
		local = &net.TCPAddr{Port: local.Port}
	}
	nd := net.Dialer{LocalAddr: local, Control: reuseControl}
	c, err := nd.DialContext(ctx, network, addr)
	if err == nil || d.Strict || ctx.Err() != nil || !tupleTaken(err) {
		return c, err
	}
	var plain net.Dialer
	return plain.DialContext(ctx, network, addr)
}

// tupleTaken reports an error of a dial from a shared port whose 4-tuple
// is in use.
func tupleTaken(err error) bool {
	return errors.Is(err, syscall.EADDRINUSE) || errors.Is(err, syscall.EADDRNOTAVAIL)
}

// SimultaneousOpen dials remote from local (a ReusePortTransport's
// listening address) over and over until a connection is made, ctx ends,
// or attempts run out: the TCP simultaneous open of hole punching, started
// by both peers at an agreed moment. Each attempt waits at most
// attemptTimeout; a refused or reset attempt is retried after a short
// pause (the first SYNs may meet a NAT that has not seen ours yet).
func SimultaneousOpen(ctx context.Context, local *net.TCPAddr, remote string, attempts int, attemptTimeout time.Duration) (net.Conn, error) {
	if attempts <= 0 {
		attempts = 1
	}
	var last error
	for i := range attempts {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		c, err := ReusePortDialer{Local: local, Strict: true}.DialContext(actx, "tcp", remote)
		cancel()
		if err == nil {
			return c, nil
		}
		last = err
		if ctx.Err() != nil {
			break
		}
		if i+1 < attempts {
			t := time.NewTimer(attemptTimeout / 10)
			select {
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
		}
	}
	return nil, fmt.Errorf("simultaneous open %s -> %s: %w", local, remote, last)
}
