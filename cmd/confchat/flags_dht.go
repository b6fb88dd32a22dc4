package main

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"confchat/discovery"
	"confchat/node"
)

// dhtFlags are --dht, --no-dht, --dht-bootstrap, --dht-listen and
// --dht-lookup-interval (docs/protocol.md part 5).
type dhtFlags struct {
	on             bool
	off            bool
	bootstrap      string
	bootstrapSet   bool // given on the command line, even as ""
	listen         string
	lookupInterval time.Duration

	routers []string // parsed bootstrap
}

func defaultDHTFlags() dhtFlags {
	return dhtFlags{on: true, lookupInterval: discovery.DefaultMinInterval}
}

func (d *dhtFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&d.on, "dht", d.on,
		"find friends by ID on the BitTorrent Mainline DHT and publish our addresses there, bootstrapping from the well-known public routers")
	fs.BoolVar(&d.off, "no-dht", d.off, "turn the DHT off: no UDP socket, no packet (friends need an address)")
	fs.Var(setString{&d.bootstrap, &d.bootstrapSet}, "dht-bootstrap",
		"replace the public bootstrap routers with `HOST:PORT[,...]`")
	fs.StringVar(&d.listen, "dht-listen", d.listen,
		"UDP `ADDR` of the DHT node (default: the listen address's port)")
	fs.DurationVar(&d.lookupInterval, "dht-lookup-interval", d.lookupInterval,
		"least `DUR` between two background DHT lookups of one unreachable friend (doubles while nothing new is found)")
}

func (d *dhtFlags) validate() error {
	if d.off && d.bootstrapSet {
		return errors.New("--no-dht and --dht-bootstrap contradict each other")
	}
	if d.bootstrapSet && d.bootstrap == "" {
		// An empty variable in a script must not mean "the public routers".
		return errors.New("--dht-bootstrap: empty: give HOST:PORT[,...], or --no-dht to turn the DHT off")
	}
	if d.bootstrap != "" {
		r, err := discovery.ParseBootstrap(d.bootstrap)
		if err != nil {
			return fmt.Errorf("--dht-bootstrap: %w", err)
		}
		d.routers = r
	}
	if d.listen != "" {
		if err := checkAddr(d.listen, true); err != nil {
			return fmt.Errorf("--dht-listen: %w", err)
		}
	}
	if d.lookupInterval < 100*time.Millisecond || d.lookupInterval > 24*time.Hour {
		return fmt.Errorf("--dht-lookup-interval: %v is out of range (100ms to 24h)", d.lookupInterval)
	}
	return nil
}

// config is the node's DHT configuration; --no-dht or --dht=false is off.
func (d *dhtFlags) config() node.DHTConfig {
	if d.off || !d.on {
		return node.DHTConfig{}
	}
	return node.DHTConfig{Enabled: true, Bootstrap: d.routers, Listen: d.listen, LookupInterval: d.lookupInterval}
}

// setString is a string flag that remembers it was given, so an explicit
// empty value can be told from an absent flag.
type setString struct {
	v   *string
	set *bool
}

func (f setString) String() string {
	if f.v == nil {
		return ""
	}
	return *f.v
}

func (f setString) Set(s string) error {
	*f.v, *f.set = s, true
	return nil
}
