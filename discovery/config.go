package discovery

import (
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"confchat/clock"
	"confchat/identity"
)

// DefaultBootstrap is the list of well-known public Mainline DHT routers
// used when Config.Bootstrap is nil.
var DefaultBootstrap = []string{
	"router.bittorrent.com:6881",
	"router.utorrent.com:6881",
	"dht.transmissionbt.com:6881",
	"dht.libtorrent.org:25401",
	"dht.anacrolix.link:42069",
}

// Defaults of Config's durations.
const (
	DefaultRefresh       = 60 * time.Minute // items live about 2 h
	DefaultLookupTimeout = 30 * time.Second
	DefaultMinInterval   = time.Minute // between two background lookups of one ID
	DefaultMaxBackoff    = time.Hour
	DefaultSendRate      = 50 // packets per second
)

// Bounds on what the service keeps.
const (
	maxIDs         = 1024 // IDs with lookup state (seen seq, backoff)
	maxRunning     = 4    // lookups at once
	maxQueued      = 256  // lookups waiting for a slot
	maxEvents      = 256  // undelivered events; the oldest is dropped
	requestBacklog = 64
)

// Clock is the time source; NewTimer has time.Timer's Go 1.23 semantics.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer of a Clock (clock.Timer).
type Timer = clock.Timer

// Config configures a Service. Key and ID are required unless Disabled.
type Config struct {
	// Disabled is no-DHT mode: no socket is opened and no packet is sent;
	// publishing is a no-op and lookups fail with ErrDisabled.
	Disabled bool
	// Conn is the UDP socket; nil opens Listen ("udp", e.g. ":7000").
	Conn   net.PacketConn
	Listen string
	// Bootstrap routers as host:port; nil is DefaultBootstrap, empty is none.
	Bootstrap []string
	// RoutingTable is what RoutingTable returned in an earlier run.
	RoutingTable []byte

	Key Signer      // the profile key
	ID  identity.ID // the current ID (its nospam salts the item)
	// Addresses to publish; none publishes nothing until SetAddresses.
	Addresses []string
	// LastSeq is the highest sequence number this profile published;
	// SaveSeq persists a new one before an item carrying it is sent
	// (called from a worker goroutine of the service).
	LastSeq int64
	SaveSeq func(seq int64) error
	// Seen is the highest sequence number already seen per ID (kept by
	// the caller from earlier runs): a lower one is never accepted, and a
	// background lookup that finds no higher one brings no news.
	Seen map[identity.ID]int64

	Clock  Clock        // nil is the wall clock
	Rand   io.Reader    // nonces; nil is crypto/rand
	Logger *slog.Logger // nil discards

	Refresh       time.Duration // republish interval; 0 is DefaultRefresh
	LookupTimeout time.Duration // 0 is DefaultLookupTimeout
	MinInterval   time.Duration // 0 is DefaultMinInterval
	MaxBackoff    time.Duration // 0 is DefaultMaxBackoff
	SendRate      float64       // UDP packets per second; 0 is DefaultSendRate
}

func (c *Config) setDefaults() error {
	if c.Bootstrap == nil {
		c.Bootstrap = DefaultBootstrap
	}
	if c.Clock == nil {
		c.Clock = clock.System{}
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	setDur(&c.Refresh, DefaultRefresh)
	setDur(&c.LookupTimeout, DefaultLookupTimeout)
	setDur(&c.MinInterval, DefaultMinInterval)
	setDur(&c.MaxBackoff, DefaultMaxBackoff)
	if c.SendRate <= 0 {
		c.SendRate = DefaultSendRate
	}
	if c.Disabled {
		return nil
	}
	if c.Key == nil {
		return fmt.Errorf("discovery: no key")
	}
	if c.Key.Public() != c.ID.Key {
		return fmt.Errorf("discovery: ID is not the key's")
	}
	if c.LastSeq < 0 {
		return fmt.Errorf("discovery: negative sequence number %d", c.LastSeq)
	}
	return validateAddrs(c.Addresses)
}

func validateAddrs(addrs []string) error {
	_, err := Record{Addresses: addrs}.encode()
	return err
}

func setDur(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// ParseBootstrap parses a --dht-bootstrap value: host:port entries
// separated by commas.
func ParseBootstrap(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		host, port, err := net.SplitHostPort(f)
		if err != nil || host == "" {
			return nil, fmt.Errorf("%w: %q (want host:port)", ErrBadBootstrap, f)
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return nil, fmt.Errorf("%w: %q: port %q is not 1 to 65535", ErrBadBootstrap, f, port)
		}
		out = append(out, f)
	}
	return out, nil
}
