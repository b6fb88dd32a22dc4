package netlayer

import (
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"time"

	"confchat/clock"
	"confchat/identity"
)

// Defaults used for zero Config fields. They detect a dead connection within
// 12.5 s (HeartbeatInterval × HeartbeatMisses plus half an interval).
const (
	DefaultHeartbeatInterval = 5 * time.Second
	DefaultHeartbeatMisses   = 2
	DefaultHandshakeTimeout  = 5 * time.Second
	DefaultHandshakeStep     = 2 * time.Second
	DefaultCloseTimeout      = 10 * time.Second
	DefaultMaxFrameSize      = 64 << 10
	DefaultSendBuffer        = 1024
	DefaultMaxHalfOpen       = 64
	DefaultMaxHalfOpenSource = 8
	DefaultEventBuffer       = 1024
	// DefaultRelayDelay is how long direct candidates have to complete
	// their handshake before relay candidates are dialed too.
	DefaultRelayDelay = 250 * time.Millisecond
)

// DefaultMigrateBackoff paces the direct probes of a session on a relay:
// 1 s, doubling, at most 30 s (with up to 50% jitter).
var DefaultMigrateBackoff = Backoff{Base: time.Second, Max: 30 * time.Second}

// Config configures an Endpoint. Zero fields take the defaults above.
type Config struct {
	// Key is the profile key pair. Required.
	Key *identity.KeyPair
	// ListenAddr is the TCP address Listen binds ("127.0.0.1:0" in tests).
	ListenAddr string

	// HeartbeatInterval is how often the accepting side of a connection
	// pings; the dialing side answers each ping.
	HeartbeatInterval time.Duration
	// HeartbeatMisses is how many intervals without any inbound record make
	// a connection dead, on either side.
	HeartbeatMisses int
	// HandshakeTimeout bounds a TCP connect and, separately, the whole
	// handshake (Noise plus HELLO/WELCOME) of one connection.
	HandshakeTimeout time.Duration
	// CloseTimeout bounds a graceful close; past it the session is closed
	// with ErrCloseUnacknowledged.
	CloseTimeout time.Duration
	// Grace, when positive, ends a session that has had no connection for
	// that long (ErrGraceExpired). Zero keeps reconnecting for ever.
	Grace time.Duration

	// MaxFrameSize is the largest payload Send accepts and the largest a
	// peer may send. Both sides must agree.
	MaxFrameSize int
	// SendBuffer is the number of frames a session holds until the peer
	// acknowledges them. Send blocks while it is full.
	SendBuffer int
	// HandshakeStepTimeout bounds how long an inbound connection may keep
	// us waiting for each of the dialer's handshake messages (Noise
	// message 1 right after connecting, HELLO one round trip after our
	// answer), within HandshakeTimeout. An idle or trickling connection
	// is cut after it.
	HandshakeStepTimeout time.Duration
	// MaxHalfOpen bounds inbound connections still in their handshake.
	// When all are taken, a new connection displaces the oldest one of
	// the source holding the most (see halfOpenTable).
	MaxHalfOpen int
	// MaxHalfOpenPerSource bounds the half-open connections of one source
	// (an IPv4 address or an IPv6 /64); its next connection displaces its
	// own oldest.
	MaxHalfOpenPerSource int
	// EventBuffer is the capacity of the Events channel.
	EventBuffer int

	// Transport makes connections; nil is TCPTransport{DialFrom: DialFrom}.
	// It dials a peer's direct candidates ("host:port") and binds
	// ListenAddr.
	Transport Transport
	// Relay dials a peer's relay candidates (IsRelayAddr: "relay:KEY@host:port"
	// or "KEY@host:port"), asking that relay for the peer; *relay.Client
	// is one. Its Listen is never called (serve relay registrations with
	// Endpoint.Serve). Nil: relay candidates are dialed through Transport
	// too, which must then tell them apart (IsRelayAddr).
	Relay Transport
	// RelayDelay is how long the direct candidates of a dial may take to
	// authenticate before the relay candidates are dialed in parallel
	// (happy eyeballs); relays are dialed at once when every direct
	// candidate failed or there is none. Default DefaultRelayDelay.
	RelayDelay time.Duration
	// MigrateBackoff paces the probes of the direct candidates while a
	// session runs on a relay (zero fields: DefaultMigrateBackoff's).
	MigrateBackoff Backoff
	// NoMigration turns migration off: no direct probes while on a relay,
	// and a peer's migrate HELLO is denied (ErrMigrationDenied).
	NoMigration bool
	// DialFrom, when set, is the local IP outgoing connections are made
	// from (a host with several addresses dials from the one it listens
	// on). Nil lets the system choose. Used by the default Transport only.
	DialFrom net.IP
	// Accept, when set, is asked before a peer gets a session: for inbound
	// connections before the handshake reply, and for Open. Returning false
	// refuses the peer with ReasonRefused. It is called from many
	// goroutines at once, must be quick, and must not call the Endpoint.
	Accept func(peer identity.PublicKey) bool

	// Backoff paces redials after a lost or failed connection.
	Backoff Backoff
	// Clock supplies the time and every timer of the layer: heartbeats
	// and the watchdog, dial backoff, grace, close and handshake timeouts.
	// Nil is the system clock. (Deadlines on a live connection's reads and
	// writes stay the connection's own.)
	Clock Clock
	// Logger receives debug and warning logs; nil discards them.
	Logger *slog.Logger
}

// Clock is the layer's time source.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that sends on C after d.
	NewTimer(d time.Duration) Timer
	// AfterFunc calls f in its own goroutine after d; its C is nil.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a Clock's timer (clock.Timer: time.Timer's Go 1.23
// semantics, Reset and Stop need no draining).
type Timer = clock.Timer

// SystemClock is the wall clock (what a nil Config.Clock means).
type SystemClock = clock.System

// Backoff is a capped, jittered exponential backoff: the n-th retry after a
// failure waits Base·2^(n-1), at most Max, plus up to Jitter of that delay at
// random. The first redial after a working connection is immediate.
type Backoff struct {
	Base   time.Duration // default 100 ms
	Max    time.Duration // default 10 s
	Jitter float64       // fraction of the delay, at most 1; zero means 0.5, negative means none
}

// Delay returns the wait before retry number n (n ≥ 1). r is a uniform
// number in [0,1) so tests can pin the jitter.
func (b Backoff) Delay(n int, r float64) time.Duration {
	if n < 1 {
		return 0
	}
	d := b.Base
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	return d + time.Duration(float64(d)*b.Jitter*r)
}

func (b Backoff) withDefaults() Backoff {
	if b.Base <= 0 {
		b.Base = 100 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 10 * time.Second
	}
	if b.Max < b.Base {
		b.Max = b.Base
	}
	switch {
	case b.Jitter == 0:
		b.Jitter = 0.5
	case b.Jitter < 0:
		b.Jitter = 0
	case b.Jitter > 1:
		b.Jitter = 1
	}
	return b
}

func (b Backoff) jittered(n int) time.Duration { return b.Delay(n, rand.Float64()) }

// withDefaults validates c and fills in zero fields.
func (c Config) withDefaults() (Config, error) {
	if c.Key == nil {
		return c, errors.New("netlayer: config: Key is required")
	}
	setDur(&c.HeartbeatInterval, DefaultHeartbeatInterval)
	setDur(&c.HandshakeTimeout, DefaultHandshakeTimeout)
	setDur(&c.HandshakeStepTimeout, min(DefaultHandshakeStep, c.HandshakeTimeout))
	setDur(&c.CloseTimeout, DefaultCloseTimeout)
	setInt(&c.HeartbeatMisses, DefaultHeartbeatMisses)
	setInt(&c.MaxFrameSize, DefaultMaxFrameSize)
	setInt(&c.SendBuffer, DefaultSendBuffer)
	setInt(&c.MaxHalfOpen, DefaultMaxHalfOpen)
	setInt(&c.MaxHalfOpenPerSource, DefaultMaxHalfOpenSource)
	setInt(&c.EventBuffer, DefaultEventBuffer)
	if c.MaxFrameSize > maxRecordCap {
		return c, errors.New("netlayer: config: MaxFrameSize over 16 MiB")
	}
	c.Backoff = c.Backoff.withDefaults()
	setDur(&c.RelayDelay, DefaultRelayDelay)
	setDur(&c.MigrateBackoff.Base, DefaultMigrateBackoff.Base)
	setDur(&c.MigrateBackoff.Max, DefaultMigrateBackoff.Max)
	c.MigrateBackoff = c.MigrateBackoff.withDefaults()
	if c.Transport == nil {
		c.Transport = TCPTransport{DialFrom: c.DialFrom}
	}
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

func setDur(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

func setInt(n *int, def int) {
	if *n <= 0 {
		*n = def
	}
}

// deadAfter is how long a connection may stay silent.
func (c *Config) deadAfter() time.Duration {
	return c.HeartbeatInterval * time.Duration(c.HeartbeatMisses)
}
