package relay

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"confchat/identity"
)

// stableAfter is how long a registration must last for the backoff to
// start again from its minimum.
const stableAfter = time.Minute

// Listener keeps a registration at one relay and yields the connections
// callers open to us through it, for netlayer's Endpoint.Serve. It
// reconnects a lost registration with capped, jittered backoff until
// Close. One goroutine (run) owns the registration connection; join
// goroutines, at most maxJoins, each own one joining connection.
type Listener struct {
	c      *Client
	relay  Addr
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	conns  chan *Conn

	mu       sync.Mutex    // guards up, isUp, observed
	up       chan struct{} // closed while registered; replaced when lost
	isUp     bool
	observed netip.AddrPort // our address as the relay last saw it (OBSERVED)
	joins    chan struct{}  // semaphore of maxJoins
}

// Listen is the C5 transport method: addr is a relay address and the
// listener registers there.
func (c *Client) Listen(addr string) (net.Listener, error) {
	a, err := ParseAddr(addr)
	if err != nil {
		return nil, err
	}
	return c.Register(a), nil
}

// Register starts keeping a registration at the relay a. It returns at
// once; WaitRegistered tells when the relay has acknowledged it.
func (c *Client) Register(a Addr) *Listener {
	ctx, cancel := context.WithCancel(context.Background())
	l := &Listener{c: c, relay: a, ctx: ctx, cancel: cancel, conns: make(chan *Conn, acceptQueue),
		up: make(chan struct{}), joins: make(chan struct{}, maxJoins)}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		l.run()
	}()
	return l
}

// Accept returns the next connection a caller opened to us through the
// relay. After Close it returns an error wrapping net.ErrClosed.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.ctx.Done():
		return nil, fmt.Errorf("relay listener %s: %w", l.relay.HostPort, net.ErrClosed)
	}
}

// Close ends the registration and every join in progress, closes the
// connections not yet accepted, and waits for the listener's goroutines.
func (l *Listener) Close() error {
	l.cancel()
	l.wg.Wait()
	for {
		select {
		case c := <-l.conns:
			c.Close()
		default:
			return nil
		}
	}
}

// Addr is the relay address the listener is reachable at.
func (l *Listener) Addr() net.Addr { return netAddr(l.relay) }

// Relay is the relay the listener registers at.
func (l *Listener) Relay() Addr { return l.relay }

// Registered reports whether the relay has acknowledged the registration
// and it has not been lost since.
func (l *Listener) Registered() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.isUp
}

// Observed is our address as the relay saw it on the latest registration
// (its OBSERVED message): behind a NAT, the NAT's public side. Invalid
// before the first.
func (l *Listener) Observed() netip.AddrPort {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.observed
}

// WaitRegistered blocks until the registration is up or ctx ends.
func (l *Listener) WaitRegistered(ctx context.Context) error {
	l.mu.Lock()
	up := l.up
	l.mu.Unlock()
	select {
	case <-up:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-l.ctx.Done():
		return fmt.Errorf("relay listener: %w", net.ErrClosed)
	}
}

func (l *Listener) setUp(v bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if v == l.isUp {
		return
	}
	l.isUp = v
	if v {
		close(l.up)
	} else {
		l.up = make(chan struct{})
	}
}

// netAddr is a relay address as a net.Addr.
type netAddr Addr

func (a netAddr) Network() string { return "relay" }
func (a netAddr) String() string  { return Addr(a).String() }

// run keeps the registration until Close.
func (l *Listener) run() {
	clock := l.c.cfg.Clock
	fails := 0
	for l.ctx.Err() == nil {
		start := clock.Now()
		err := l.registerOnce()
		l.setUp(false)
		if l.ctx.Err() != nil {
			return
		}
		if clock.Now().Sub(start) >= stableAfter {
			fails = 0
		}
		fails++
		d := l.backoff(fails)
		l.c.cfg.Logger.Debug("relay: registration lost", "relay", l.relay.HostPort, "err", err, "retry_in", d)
		if !sleep(clock, d, l.ctx.Done()) {
			return
		}
	}
}

// backoff is the wait before reconnect attempt n (n ≥ 1).
func (l *Listener) backoff(n int) time.Duration {
	d := l.c.cfg.BackoffMin
	for i := 1; i < n && d < l.c.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, l.c.cfg.BackoffMax)
	return d + time.Duration(rand.Float64()*0.5*float64(d))
}

// registerOnce opens one registration and serves it until it fails.
func (l *Listener) registerOnce() error {
	ch, g, err := l.c.open(l.ctx, l.relay, l.c.cfg.HandshakeTimeout)
	if err != nil {
		return err
	}
	defer ch.conn.Close()
	idle, err := l.expectRegistered(ch)
	if gerr := g.stop(); gerr != nil {
		err = gerr
	}
	if err != nil {
		return err
	}
	l.setUp(true)
	return l.serve(ch, idle)
}

func (l *Listener) expectRegistered(ch *channel) (time.Duration, error) {
	if err := ch.write(message{Type: msgRegister}); err != nil {
		return 0, err
	}
	m, err := ch.read()
	switch {
	case err != nil:
		return 0, err
	case m.Type == msgRefused:
		return 0, &RefusedError{Reason: m.Reason}
	case m.Type != msgRegistered:
		return 0, fmt.Errorf("relay answered REGISTER with %v: %w", m.Type, ErrMalformed)
	}
	idle := time.Duration(m.Idle) * time.Second
	if idle < 3*time.Second {
		idle = 3 * time.Second
	}
	return idle, nil
}

// serve runs a registration: pings at a third of the relay's idle
// timeout, a watchdog that gives up on a silent relay, and invitations.
func (l *Listener) serve(ch *channel, idle time.Duration) error {
	msgs, readErr, stop := startReader(ch)
	defer stop()
	clock := l.c.cfg.Clock
	w := newWatchdog(clock, idle)
	defer w.stop()
	ping := make(chan struct{}, 1)
	pt := clock.AfterFunc(idle/3, func() {
		select {
		case ping <- struct{}{}:
		default:
		}
	})
	defer pt.Stop()
	for {
		select {
		case m := <-msgs:
			w.touch()
			if err := l.handle(ch, m); err != nil {
				return err
			}
		case err := <-readErr:
			return err
		case <-ping:
			if err := ch.write(message{Type: msgPing}); err != nil {
				return err
			}
			pt.Reset(idle / 3)
		case <-w.expired:
			return fmt.Errorf("relay silent for %v: %w", idle, ErrTimeout)
		case <-l.ctx.Done():
			return nil
		}
	}
}

func (l *Listener) handle(ch *channel, m message) error {
	switch m.Type {
	case msgPong:
		return nil
	case msgInvite:
		if !l.startJoin(m.Key, m.Token) {
			return ch.write(message{Type: msgDecline, Token: m.Token})
		}
		return nil
	case msgRefused:
		return &RefusedError{Reason: m.Reason}
	case msgObserved:
		l.mu.Lock()
		l.observed = m.Addr
		l.mu.Unlock()
		if f := l.c.cfg.OnObserved; f != nil {
			f(l.relay, m.Addr)
		}
		return nil
	}
	return fmt.Errorf("relay sent %v on a registration: %w", m.Type, ErrMalformed)
}

// startJoin answers an invitation on its own connection, unless the
// caller is not accepted or too many joins are in flight.
func (l *Listener) startJoin(caller identity.PublicKey, tok token) bool {
	if l.c.cfg.Accept != nil && !l.c.cfg.Accept(caller) {
		return false
	}
	select {
	case l.joins <- struct{}{}:
	default:
		return false
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer func() { <-l.joins }()
		if err := l.join(caller, tok); err != nil {
			l.c.cfg.Logger.Debug("relay: join failed", "relay", l.relay.HostPort, "caller", caller.Short(), "err", err)
		}
	}()
	return true
}

func (l *Listener) join(caller identity.PublicKey, tok token) error {
	ch, g, err := l.c.open(l.ctx, l.relay, l.c.cfg.HandshakeTimeout)
	if err != nil {
		return err
	}
	err = ch.write(message{Type: msgJoin, Token: tok})
	if err == nil {
		err = expectConnected(ch, caller)
	}
	if gerr := g.stop(); gerr != nil {
		err = gerr
	}
	if err != nil {
		ch.conn.Close()
		return err
	}
	c := &Conn{Conn: ch.conn, relay: l.relay, peer: caller}
	select {
	case l.conns <- c:
		return nil
	default:
		c.Close()
		return errors.New("accept queue full")
	}
}
