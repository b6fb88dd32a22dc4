package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"confchat/identity"
)

// Client defaults.
const (
	DefaultClientHandshakeTimeout = 10 * time.Second
	// DefaultCallTimeout bounds a Dial from TCP connect to CONNECTED: the
	// relay's join timeout plus a handshake.
	DefaultCallTimeout = DefaultJoinTimeout + DefaultClientHandshakeTimeout
	DefaultBackoffMin  = 250 * time.Millisecond
	DefaultBackoffMax  = 30 * time.Second
	// maxJoins bounds invitations a Listener answers at once; more are
	// declined.
	maxJoins = 8
	// acceptQueue is how many joined connections wait for Accept; more
	// are closed.
	acceptQueue = 16
)

// ContextDialer opens the TCP connection to a relay (net.Dialer does).
type ContextDialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// ClientConfig configures a Client. Zero fields take the defaults.
type ClientConfig struct {
	// Key is the profile key pair the client proves to relays. Required.
	Key *identity.KeyPair
	// HandshakeTimeout bounds the connect, the handshake and the answer to
	// REGISTER or JOIN.
	HandshakeTimeout time.Duration
	// CallTimeout bounds a Dial from connect to CONNECTED.
	CallTimeout time.Duration
	// Accept, when set, says which callers a Listener joins; others are
	// declined. It must be quick and safe to call from several goroutines.
	Accept func(caller identity.PublicKey) bool
	// BackoffMin and BackoffMax pace a Listener's reconnects: BackoffMin
	// doubling up to BackoffMax, with up to 50% jitter.
	BackoffMin, BackoffMax time.Duration
	// OnObserved, when set, is called with the address a relay saw our
	// registration come from (OBSERVED), each time a registration is
	// acknowledged. It runs on the listener's goroutine: it must be quick.
	OnObserved func(relay Addr, addr netip.AddrPort)
	// Dialer opens TCP connections; nil means a net.Dialer.
	Dialer ContextDialer
	// Clock drives the timers; nil means the system clock.
	Clock Clock
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
}

// Client reaches peers through relays and keeps registrations at relays.
// It is safe for concurrent use; it starts goroutines only in Listeners,
// which their Close stops.
type Client struct {
	cfg ClientConfig
}

// NewClient checks cfg and fills in its defaults.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.Key == nil {
		return nil, errors.New("relay: client config: Key is required")
	}
	setDur(&cfg.HandshakeTimeout, DefaultClientHandshakeTimeout)
	setDur(&cfg.CallTimeout, DefaultCallTimeout)
	setDur(&cfg.BackoffMin, DefaultBackoffMin)
	setDur(&cfg.BackoffMax, DefaultBackoffMax)
	cfg.BackoffMax = max(cfg.BackoffMax, cfg.BackoffMin)
	if cfg.Dialer == nil {
		cfg.Dialer = &net.Dialer{}
	}
	if cfg.Clock == nil {
		cfg.Clock = systemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Client{cfg: cfg}, nil
}

// Conn is a connection to a peer spliced through a relay. Its bytes are
// the two peers' own; the relay only copies them.
type Conn struct {
	net.Conn
	relay Addr
	peer  identity.PublicKey
}

// Relayed reports true: netlayer carries such a connection on RouteRelay
// (contract C5).
func (c *Conn) Relayed() bool { return true }

// CloseWrite half-closes the connection to the relay, which then ends the
// splice once it has forwarded what came before: the peer reads our last
// bytes, then EOF (netlayer half-closes after a graceful close's last
// record, so the peer need not wait out its linger).
func (c *Conn) CloseWrite() error {
	if hc, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return hc.CloseWrite()
	}
	return errors.ErrUnsupported
}

// Relay is the relay the connection runs through.
func (c *Conn) Relay() Addr { return c.relay }

// Peer is the key at the other end, as the relay authenticated it. The
// peers' own handshake on the connection is what to trust.
func (c *Conn) Peer() identity.PublicKey { return c.peer }

// Dial is the C5 transport method: addr must be a relay address
// (relay:KEY@host:port), and the connection reaches peer through it.
func (c *Client) Dial(ctx context.Context, peer identity.PublicKey, addr string) (net.Conn, error) {
	a, err := ParseAddr(addr)
	if err != nil {
		return nil, err
	}
	return c.DialRelay(ctx, a, peer)
}

// DialRelay asks the relay at a to splice us to peer, which must be
// registered there and join. Refusals are *RefusedError (errors.Is
// ErrRefused).
func (c *Client) DialRelay(ctx context.Context, a Addr, peer identity.PublicKey) (*Conn, error) {
	ch, g, err := c.open(ctx, a, c.cfg.CallTimeout)
	if err != nil {
		return nil, err
	}
	err = ch.write(message{Type: msgConnect, Key: peer})
	if err == nil {
		err = expectConnected(ch, peer)
	}
	if gerr := g.stop(); gerr != nil {
		err = gerr
	}
	if err != nil {
		ch.conn.Close()
		return nil, fmt.Errorf("relay %s: connect to %s: %w", a.HostPort, peer.Short(), err)
	}
	return &Conn{Conn: ch.conn, relay: a, peer: peer}, nil
}

// open connects to the relay and runs the handshake, under a guard that
// closes the connection at ctx's end or after limit; the caller stops it.
func (c *Client) open(ctx context.Context, a Addr, limit time.Duration) (*channel, *guard, error) {
	dctx, cancel := context.WithTimeout(ctx, c.cfg.HandshakeTimeout)
	conn, err := c.cfg.Dialer.DialContext(dctx, "tcp", a.HostPort)
	cancel()
	if err != nil {
		return nil, nil, fmt.Errorf("relay %s: %w", a.HostPort, err)
	}
	g := newGuard(ctx, c.cfg.Clock, conn, limit)
	ch, err := clientHandshake(conn, c.cfg.Key, a.Key)
	if err != nil {
		if gerr := g.stop(); gerr != nil {
			err = gerr
		}
		conn.Close()
		return nil, nil, fmt.Errorf("relay %s: %w", a.HostPort, err)
	}
	return ch, g, nil
}

// expectConnected reads the relay's answer to CONNECT or JOIN.
func expectConnected(ch *channel, peer identity.PublicKey) error {
	m, err := ch.read()
	if err != nil {
		return err
	}
	switch {
	case m.Type == msgRefused:
		return &RefusedError{Reason: m.Reason}
	case m.Type != msgConnected:
		return fmt.Errorf("relay answered %v: %w", m.Type, ErrMalformed)
	case m.Key != peer:
		return fmt.Errorf("relay connected us to %s, not %s: %w", m.Key.Short(), peer.Short(), ErrMalformed)
	}
	return nil
}

// ErrTimeout is a relay operation that ran out of time.
var ErrTimeout = errors.New("relay: timed out")

// guard closes conn when ctx ends or limit passes, so blocking reads and
// writes on it return; stop disarms it and says which happened, if any.
type guard struct {
	timer    Timer
	stopCtx  func() bool
	ctx      context.Context
	timedOut atomic.Bool
}

func newGuard(ctx context.Context, clock Clock, conn net.Conn, limit time.Duration) *guard {
	g := &guard{ctx: ctx}
	g.timer = clock.AfterFunc(limit, func() {
		g.timedOut.Store(true)
		conn.Close()
	})
	g.stopCtx = context.AfterFunc(ctx, func() { conn.Close() })
	return g
}

func (g *guard) stop() error {
	fired := !g.timer.Stop()
	ctxFired := !g.stopCtx()
	switch {
	case ctxFired:
		return g.ctx.Err()
	case fired && g.timedOut.Load():
		return ErrTimeout
	}
	return nil
}
