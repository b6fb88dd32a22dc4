package relay

import (
	"errors"
	"log/slog"
	"time"

	"confchat/identity"
)

// Server defaults (docs/protocol.md part 4, "Limits").
const (
	DefaultMaxClients       = 1024
	DefaultMaxHalfOpen      = 128
	DefaultMaxConnsPerKey   = 16
	DefaultRate             = 1 << 20 // bytes per second per key
	DefaultBurst            = 256 << 10
	DefaultIdleTimeout      = 120 * time.Second
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultJoinTimeout      = 10 * time.Second
	// MaxInvites is how many invitations a registration may have
	// outstanding; a further CONNECT is refused as busy.
	MaxInvites = 8
	// maxIdleTimeout fits REGISTERED's u16 seconds.
	maxIdleTimeout = 65535 * time.Second
	// Control messages on a registration: a burst, then one a second.
	controlBurst = 10
	controlRate  = 1
)

// Config configures a Server. Zero fields take the defaults.
type Config struct {
	// Key is the relay's key pair: its address is Key.Public()@host:port.
	Key *identity.KeyPair
	// MaxClients bounds TCP connections in all; more are closed at accept.
	MaxClients int
	// MaxHalfOpen bounds connections that have not finished their
	// handshake and first request.
	MaxHalfOpen int
	// MaxConnsPerKey bounds one key's connections, in every role.
	MaxConnsPerKey int
	// Rate is how many bytes per second a key may send through the relay,
	// all its connections together; Burst is how far it may run ahead.
	Rate, Burst int
	// IdleTimeout closes a registration or a spliced pair that has been
	// silent that long.
	IdleTimeout time.Duration
	// HandshakeTimeout bounds the time from accept to the first request.
	HandshakeTimeout time.Duration
	// JoinTimeout bounds how long a caller waits for the target to join.
	JoinTimeout time.Duration
	// Clock drives every timer; nil means the system clock.
	Clock Clock
	// Logger receives debug logs of cut-off clients; nil discards them.
	Logger *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.Key == nil {
		return c, errors.New("relay: config: Key is required")
	}
	setInt(&c.MaxClients, DefaultMaxClients)
	setInt(&c.MaxHalfOpen, DefaultMaxHalfOpen)
	setInt(&c.MaxConnsPerKey, DefaultMaxConnsPerKey)
	setInt(&c.Rate, DefaultRate)
	setInt(&c.Burst, max(DefaultBurst, c.Rate/4))
	setDur(&c.IdleTimeout, DefaultIdleTimeout)
	setDur(&c.HandshakeTimeout, DefaultHandshakeTimeout)
	setDur(&c.JoinTimeout, DefaultJoinTimeout)
	if c.IdleTimeout < 3*time.Second || c.IdleTimeout > maxIdleTimeout {
		return c, errors.New("relay: config: IdleTimeout must be from 3s to 65535s")
	}
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

func setInt(n *int, def int) {
	if *n <= 0 {
		*n = def
	}
}

func setDur(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}
