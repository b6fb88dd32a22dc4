package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"confchat/node"
	"confchat/relay"
	"confchat/storage"
)

// maxNameLen is the longest display name, in bytes (Tox's limit).
const maxNameLen = 128

// globalFlags are the flags every command accepts.
type globalFlags struct {
	profile     string
	listen      string
	advertise   string
	relays      relayFlag
	noPortmap   bool
	noPunch     bool
	name        string
	freezeAfter time.Duration
	logLevel    slog.Level
	pprof       pprofFlag
	dht         dhtFlags // flags_dht.go
}

func defaultGlobalFlags() *globalFlags {
	return &globalFlags{freezeAfter: 60 * time.Second, dht: defaultDHTFlags()}
}

func (g *globalFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&g.profile, "profile", g.profile,
		"profile `DIR` (default $XDG_DATA_HOME/confchat, else ~/.local/share/confchat)")
	fs.StringVar(&g.listen, "listen", g.listen,
		"listen on `ADDR` (host:port; default: the last port used, else a free one)")
	fs.StringVar(&g.advertise, "advertise", g.advertise,
		"tell peers to reach us at `ADDR[,ADDR]` (default: the listen address)")
	fs.Var(&g.relays, "relay",
		"register at, and announce, the relay at `KEY@host:port` (as `confchat relay` prints it; repeatable)")
	fs.BoolVar(&g.noPortmap, "no-portmap", g.noPortmap,
		"do not ask the router for a port mapping (UPnP IGD, NAT-PMP) of the listen port")
	fs.BoolVar(&g.noPunch, "no-hole-punch", g.noPunch,
		"do not punch a direct path through NATs for friends reached through a relay")
	fs.StringVar(&g.name, "name", g.name, "display `NAME` shown to peers")
	fs.DurationVar(&g.freezeAfter, "freeze-after", g.freezeAfter,
		"freeze a conference peer silent for `DUR` (pings every DUR/3)")
	fs.Var(&g.pprof, "pprof", "serve net/http/pprof on the loopback `ADDR` (host:port), for profiling")
	fs.TextVar(&g.logLevel, "log-level", &g.logLevel,
		"log `LEVEL` of the chat's confchat.log: debug, info, warn or error")
	g.dht.register(fs)
}

// validate checks every global flag and fills in the default profile.
func (g *globalFlags) validate() error {
	if g.profile == "" {
		dir, err := storage.DefaultProfileDir()
		if err != nil {
			return err
		}
		g.profile = dir
	}
	if g.listen != "" {
		if err := checkAddr(g.listen, true); err != nil {
			return fmt.Errorf("--listen: %w", err)
		}
	}
	for _, a := range g.advertiseAddrs() {
		if err := checkAddr(a, false); err != nil {
			return fmt.Errorf("--advertise: %w", err)
		}
	}
	if err := checkName(g.name); err != nil {
		return fmt.Errorf("--name: %w", err)
	}
	if g.freezeAfter < 300*time.Millisecond || g.freezeAfter > 24*time.Hour {
		return fmt.Errorf("--freeze-after: %v is out of range (300ms to 24h)", g.freezeAfter)
	}
	return g.dht.validate()
}

// nodeConfig turns the global flags into a node configuration.
func (g *globalFlags) nodeConfig(log *slog.Logger) node.Config {
	return node.Config{Profile: g.profile, Listen: g.listen, Advertise: g.advertiseAddrs(),
		Relays: g.relays.addrs(), NoPortmap: g.noPortmap, NoHolePunch: g.noPunch, Name: g.name, FreezeAfter: g.freezeAfter, Logger: log,
		DHT: g.dht.config()}
}

// advertiseAddrs splits --advertise on commas, dropping empty entries.
func (g *globalFlags) advertiseAddrs() []string {
	var out []string
	for _, a := range strings.Split(g.advertise, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// checkAddr accepts host:port. A listen address may leave the host empty
// (all interfaces) and use port 0 (any free port); an address peers dial
// may not.
func checkAddr(addr string, listen bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return fmt.Errorf("%q: port %q is not a number from 0 to 65535", addr, port)
	}
	if !listen {
		if host == "" {
			return fmt.Errorf("%q: a host is required", addr)
		}
		if p == 0 {
			return fmt.Errorf("%q: port 0 cannot be dialled", addr)
		}
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("%q: bad host %q", addr, host)
	}
	return nil
}

// checkName accepts a display name of valid UTF-8 without control
// characters, at most maxNameLen bytes. Empty means "keep the current".
func checkName(name string) error {
	switch {
	case !utf8.ValidString(name):
		return errors.New("not valid UTF-8")
	case len(name) > maxNameLen:
		return fmt.Errorf("%d bytes, the limit is %d", len(name), maxNameLen)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return errors.New("contains control characters")
	}
	return nil
}

// maxRelays bounds --relay: each is a registration kept open, and at most
// a few are announced.
const maxRelays = 8

// relayFlag collects --relay values, each checked when given: the
// relay's address as it prints it (KEY@host:port, 64 hex digits for the
// key), or the same with the relay: prefix peers announce. A repeat is
// ignored.
type relayFlag struct{ list []relay.Addr }

func (f *relayFlag) String() string {
	if f == nil {
		return ""
	}
	var out []string
	for _, a := range f.list {
		out = append(out, a.Bare())
	}
	return strings.Join(out, ",")
}

func (f *relayFlag) Set(s string) error {
	a, err := relay.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		// The flag package names the value already; say only what is wrong.
		msg := strings.TrimPrefix(err.Error(), strconv.Quote(strings.TrimSpace(s))+": ")
		return fmt.Errorf("%s (the line `confchat relay` prints)", msg)
	}
	for _, b := range f.list {
		if b == a {
			return nil
		}
	}
	if len(f.list) == maxRelays {
		return fmt.Errorf("at most %d relays", maxRelays)
	}
	f.list = append(f.list, a)
	return nil
}

func (f *relayFlag) addrs() []relay.Addr { return append([]relay.Addr(nil), f.list...) }
