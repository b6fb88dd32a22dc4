package netlayer

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"testing/synctest"

	"confchat/identity"
)

// relayMark wraps connections as a relay client would: Relayed is true.
type relayMark struct{ net.Conn }

func (relayMark) Relayed() bool { return true }

// relayDialer is a Transport over a MemNetwork whose "relay-" addresses
// yield relayed connections.
type relayDialer struct{ *MemNetwork }

func (d relayDialer) Dial(ctx context.Context, peer identity.PublicKey, addr string) (net.Conn, error) {
	c, err := d.MemNetwork.Dial(ctx, peer, addr)
	if err != nil || !strings.HasPrefix(addr, "relay-") {
		return c, err
	}
	return relayMark{c}, nil
}

// relayListener marks every accepted connection relayed (a relay
// registration's stream of spliced inbound connections).
type relayListener struct{ net.Listener }

func (l relayListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return relayMark{c}, nil
}

// Contract C5: endpoints on the in-memory transport connect and exchange
// frames inside a synctest bubble (no sockets, no real time); a
// connection from a listener given to Serve, dialed as relayed, carries
// the session on RouteRelay on both sides; Serve returns ErrClosed when
// the endpoint closes.
func TestTransportSeam(t *testing.T) {
	leakCheck(t)
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNetwork()
		mem := func(c *Config) { c.Transport = relayDialer{mn} }
		a, b := newNode(t, newKey(t), mem), newNode(t, newKey(t), mem)
		if !strings.HasPrefix(b.addr(), "mem:") {
			t.Fatalf("listen address %q", b.addr())
		}
		s := a.open(b)
		sendN(t, s, 20, 100)
		waitFor(t, "frames over memnet", func() bool { return len(b.rec.frames(a.pub())) == 20 })
		checkStream(t, b.rec.frames(a.pub()), 20)
		if s.Route() != RouteDirect {
			t.Fatalf("route %v over a plain connection", s.Route())
		}

		ln, err := mn.Listen("relay-1")
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- b.ep.Serve(relayListener{ln}) }()
		c := newNode(t, newKey(t), mem)
		sc := c.open(b, "relay-1")
		sendN(t, sc, 5, 10)
		waitFor(t, "frames through the served listener", func() bool { return len(b.rec.frames(c.pub())) == 5 })
		if sc.Route() != RouteRelay || b.ep.Session(c.pub()).Route() != RouteRelay {
			t.Fatalf("routes %v and %v, want relay on both sides", sc.Route(), b.ep.Session(c.pub()).Route())
		}
		ev, _ := c.rec.first(toState(Connected))
		if ev.(SessionStateChanged).Route != RouteRelay {
			t.Fatalf("Connected event route %v", ev.(SessionStateChanged).Route)
		}
		mn.Cut()
		waitFor(t, "resumed after a cut", func() bool { return sc.State() == Connected && s.State() == Connected })
		a.close()
		b.close()
		c.close()
		if err := <-served; !errors.Is(err, ErrClosed) {
			t.Fatalf("Serve returned %v, want ErrClosed", err)
		}
	})
}
