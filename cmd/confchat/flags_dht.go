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
	fs.StringVar(&d.bootstrap, "dht-bootstrap", d.bootstrap,
		"replace the public bootstrap routers with `HOST:PORT[,...]`")
	fs.StringVar(&d.listen, "dht-listen", d.listen,
		"UDP `ADDR` of the DHT node (default: the listen address's port)")
	fs.DurationVar(&d.lookupInterval, "dht-lookup-interval", d.lookupInterval,
		"least `DUR` between two background DHT lookups of one unreachable friend (doubles while nothing new is found)")
}

func (d *dhtFlags) validate() error {
	if d.off && d.bootstrap != "" {
		return errors.New("--no-dht and --dht-bootstrap contradict each other")
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
