package node

import (
	"context"
	"net"
	"slices"
	"time"

	"confchat/identity"
	"confchat/netlayer"
	"confchat/peers"
	"confchat/relay"
)

// Relays (issue 11). With Config.Relays the node keeps a registration at
// each relay (relay.Listener, which re-registers with capped backoff when
// it drops) and serves the connections callers open to us through it on
// the endpoint, so a peer that cannot reach our direct addresses reaches
// us there. The relays are announced among our addresses as
// relay:KEY@host:port (friend requests, hellos, conference peer
// announcements, DHT items). Dialing a peer offers netlayer its direct
// addresses first, then the relays it announced, then our own relays
// (through which we reach the peer if it registered there too).

// maxAnnouncedRelays bounds the relays among our announced addresses; the
// rest of peers.MaxAddresses is left to direct addresses.
const maxAnnouncedRelays = 3

// relayPoll is how often a registration's state is checked for the log;
// a registration not up relayWarnAfter after the start or a loss is
// logged as a warning, once per outage.
const (
	relayPoll      = time.Second
	relayWarnAfter = 10 * time.Second
)

// transport returns the endpoint's transport for direct candidates (its
// Listen lets relay registrations and hole punches dial from the
// listening port: SO_REUSEPORT; portmap.go, punch.go), and makes the
// relay client (netlayer's Config.Relay, which dials relay candidates) on
// first use.
func (n *Node) transport(dialFrom net.IP) (netlayer.Transport, error) {
	if n.relayClient == nil {
		c, err := relay.NewClient(relay.ClientConfig{Key: n.key, Logger: n.log.With("component", "relay"),
			Dialer: relayDialer{n}, OnObserved: n.nat.observe}) // portmap.go
		if err != nil {
			return nil, err
		}
		n.relayClient = c
	}
	return punchTransport{ReusePortTransport: netlayer.ReusePortTransport{TCPTransport: netlayer.TCPTransport{DialFrom: dialFrom}},
		punch: n.punch.table}, nil // punch.go
}

// announced returns the addresses we announce: direct ones first, then
// our relays, at most peers.MaxAddresses (and maxAnnouncedRelays relays).
func announced(direct []string, relays []relay.Addr) []string {
	nr := min(len(relays), maxAnnouncedRelays)
	out := make([]string, 0, peers.MaxAddresses)
	for _, a := range direct {
		if len(out) < peers.MaxAddresses-nr && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	for _, r := range relays[:nr] {
		if s := r.String(); !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// announcedAddrs is a copy of the addresses we announce (loop-owned).
func (n *Node) announcedAddrs() []string { return slices.Clone(n.addrs) }

// startRelays starts the registration at each configured relay: its
// connections are served on the endpoint until it closes, and a watcher
// logs when the registration comes up or drops (never fatal).
func (n *Node) startRelays() {
	var own []string
	for _, a := range n.cfg.Relays {
		own = append(own, a.String())
	}
	n.ep.SetRelays(own) // every dial also tries the peer through our relays
	for _, a := range n.cfg.Relays {
		l := n.relayClient.Register(a)
		n.relayListeners = append(n.relayListeners, l)
		n.wg.Add(2)
		go func() {
			defer n.wg.Done()
			if err := n.ep.Serve(l); err != nil && n.ctx.Err() == nil {
				n.log.Debug("relay listener ended", "relay", a.HostPort, "err", err)
			}
		}()
		go func() {
			defer n.wg.Done()
			n.watchRelay(l)
		}()
	}
}

// watchRelay logs a registration's ups and downs until the node stops.
func (n *Node) watchRelay(l *relay.Listener) {
	a := l.Relay()
	t := n.clock.NewTimer(relayPoll)
	defer t.Stop()
	for {
		wctx, cancel := context.WithTimeout(n.ctx, relayWarnAfter)
		err := l.WaitRegistered(wctx)
		cancel()
		if err != nil && n.ctx.Err() == nil {
			n.log.Warn("relay registration not up, still trying (the reason is logged with --verbose)",
				"relay", a.Bare(), "after", relayWarnAfter)
			err = l.WaitRegistered(n.ctx)
		}
		if err != nil {
			return
		}
		n.log.Info("registered with relay", "relay", a.Bare())
		for l.Registered() {
			t.Reset(relayPoll)
			select {
			case <-t.C():
			case <-n.ctx.Done():
				return
			}
		}
		if n.ctx.Err() != nil {
			return
		}
		n.log.Warn("relay registration lost, registering again", "relay", a.Bare())
	}
}

// RelayInfo is one of our relays and whether our registration there is up.
type RelayInfo struct {
	Address    relay.Addr
	Registered bool
}

// relayInfos lists our relays in configuration order.
func (n *Node) relayInfos() []RelayInfo {
	out := make([]RelayInfo, 0, len(n.relayListeners))
	for _, l := range n.relayListeners {
		out = append(out, RelayInfo{Address: l.Relay(), Registered: l.Registered()})
	}
	return out
}

// candidates is what netlayer dials for key: the given addresses and
// those we know for key, valid ones only, direct first, then the relays
// key announced, then our own relays.
func (n *Node) candidates(key identity.PublicKey, addrs []string) []string {
	all := appendNew(slices.Clone(addrs), n.knownAddrs(key)...)
	var direct, relayed []string
	for _, a := range all {
		switch {
		case !peers.ValidAddress(a):
		case relay.IsAddr(a):
			relayed = append(relayed, a)
		default:
			direct = append(direct, a)
		}
	}
	out := append(direct, relayed...)
	for _, r := range n.cfg.Relays {
		out = appendNew(out, r.String())
	}
	return out
}

// learnAddrs takes addresses found for key from outside its own
// announcements (a DHT lookup, say): malformed entries are dropped, a
// friend's stored addresses take them newest first (bounded), and a
// wanted session is re-opened with them.
func (n *Node) learnAddrs(key identity.PublicKey, addrs []string) {
	addrs = peers.ValidAddresses(addrs)
	if len(addrs) == 0 || key == n.key.Public() {
		return
	}
	if n.book.Learn(key, peers.Hello{Addresses: addrs}) {
		if err := n.saveFriend(key); err != nil {
			n.log.Warn("store learned addresses", "peer", key.Short(), "err", err)
		}
	}
	if n.wants.Wanted(key) {
		n.openSession(key, addrs)
	}
}

// ValidAddress reports whether a is an address a friend can be added at:
// host:port, or a relay address (relay:KEY@host:port) as Self and the
// welcome screen show it. Front ends use it to tell an address from the
// first word of a message.
func ValidAddress(a string) bool { return peers.ValidAddress(a) }

// friendAddrsChanged hands a friend's addresses, as they now stand (its
// hello or accept taught us new ones), to its live session: a session
// that runs through a relay then probes the new direct candidates and
// migrates when one answers.
func (n *Node) friendAddrsChanged(key identity.PublicKey) {
	f, ok := n.book.Friend(key)
	if _, live := n.sessions[key]; !ok || !live || !n.wants.Wanted(key) {
		return
	}
	n.openSession(key, f.Addresses)
}
