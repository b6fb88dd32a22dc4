package node

import (
	"log/slog"
	"time"

	"confchat/portmap"
	"confchat/relay"
)

// Config configures a Node. Zero fields take the defaults noted.
type Config struct {
	// Profile is the profile directory. Required.
	Profile string
	// Listen is the TCP address to listen on. Empty: the port used last
	// time on all interfaces, else any free port.
	Listen string
	// Advertise lists the addresses peers should dial; empty: the bound
	// listen address (with a loopback host if it listens on all
	// interfaces).
	Advertise []string
	// Relays are relays the node registers at and announces among its
	// addresses, so peers that cannot reach it directly reach it there
	// (relay.go). Registrations are kept with backoff; a relay that is
	// down is logged, never fatal.
	Relays []relay.Addr
	// NoPortmap turns off asking the router for a port mapping
	// (portmap.go); Portmap tunes the mapper (zero fields: defaults; Port,
	// OnChange and Logger are the node's).
	NoPortmap bool
	Portmap   portmap.Config
	// NoHolePunch turns off hole punching of relayed friend sessions
	// (punch.go).
	NoHolePunch bool
	// Name is our display name; empty keeps the stored one.
	Name string
	// FreezeAfter freezes a conference peer silent this long (default 60s).
	FreezeAfter time.Duration
	// Heartbeat tunes dead-connection detection (default: netlayer's).
	HeartbeatInterval time.Duration
	HeartbeatMisses   int
	// Logger receives logs; nil discards them. Never stdout in bot mode.
	Logger *slog.Logger
	// Clock is the loop's time source; nil is the wall clock.
	Clock Clock
	// DHT configures finding peers by ID on the Mainline DHT; the zero
	// value is off (node/dht.go).
	DHT DHTConfig
}

// dbTimeout bounds every database call the loop makes: a stuck or failing
// disk costs the loop at most this long per call, never a hang.
const dbTimeout = 2 * time.Second

// strangerGrace is how long a session nobody wants (an inbound connection
// from a stranger that sent nothing we keep) stays open.
const strangerGrace = 30 * time.Second

// maxStrangers bounds the sessions from keys nobody wants; past it the
// oldest is closed.
const maxStrangers = 64

// Redials of a wanted peer whose session closed for a fatal reason (an
// authenticated refusal, a protocol error): the first after
// minRedialBackoff, doubling up to maxRedialBackoff; addresses we did not
// have before retry at once.
const (
	minRedialBackoff = time.Minute
	maxRedialBackoff = 30 * time.Minute
)
