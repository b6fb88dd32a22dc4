package node

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"confchat/netlayer"
	"confchat/portmap"
	"confchat/relay"
)

// NAT traversal, node side (issue 13; docs/protocol.md part 6). Two kinds
// of address join the ones we announce:
//
//   - the router's mapping of our listening port (portmap.Mapper, unless
//     Config.NoPortmap), while it is held;
//   - our observed address (what relays see our registrations come from,
//     OBSERVED), once it is stable: the same ip:port seen by two relays.
//
// The mapper and the relay listeners report on their own goroutines into
// natState (a mutex and a wake channel, never blocking them); one nat
// goroutine hands changes to the loop, which owns n.addrs.

// natStableSources is how many observers must agree on an address before
// it is announced.
const natStableSources = 2

// natState is what the NAT helpers report, guarded by mu.
type natState struct {
	mu       sync.Mutex
	mapping  portmap.Mapping
	observed map[relay.Addr]netip.AddrPort // per relay, the latest OBSERVED
	latest   netip.AddrPort                // the latest OBSERVED of any relay
	wake     chan struct{}
}

func newNATState() *natState {
	return &natState{observed: map[relay.Addr]netip.AddrPort{}, wake: make(chan struct{}, 1)}
}

func (s *natState) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// setMapping is portmap's OnChange.
func (s *natState) setMapping(m portmap.Mapping) {
	s.mu.Lock()
	s.mapping = m
	s.mu.Unlock()
	s.poke()
}

// observe is relay's OnObserved. Observations that cannot be a public
// address (loopback, private, link-local) are kept for nothing.
func (s *natState) observe(r relay.Addr, ap netip.AddrPort) {
	if !publicAddr(ap.Addr()) || ap.Port() == 0 {
		return
	}
	s.mu.Lock()
	if len(s.observed) < maxObservers || s.observed[r].IsValid() {
		s.observed[r] = ap
	}
	s.latest = ap
	s.mu.Unlock()
	s.poke()
}

// maxObservers bounds natState.observed (we register at few relays).
const maxObservers = 16

// Observed is our latest observed public address (any relay), for hole
// punching; invalid when no relay has told us one.
func (s *natState) Observed() netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latest
}

// Mapped is the router's mapping of our port, if one is held.
func (s *natState) Mapped() (portmap.Mapping, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mapping, s.mapping.Valid()
}

// announce returns the NAT addresses to announce: the mapping, then the
// stable observed addresses, sorted for a stable order.
func (s *natState) announce() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	if s.mapping.Valid() {
		out = append(out, s.mapping.External.String())
	}
	count := map[netip.AddrPort]int{}
	for _, ap := range s.observed {
		count[ap]++
	}
	var stable []string
	for ap, c := range count {
		if c >= natStableSources {
			stable = append(stable, ap.String())
		}
	}
	slices.Sort(stable)
	for _, a := range stable {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// publicAddr reports whether ip may be reached from the internet.
func publicAddr(ip netip.Addr) bool {
	return ip.IsValid() && ip.IsGlobalUnicast() && !ip.IsPrivate() && !cgnat.Contains(ip)
}

// cgnat is RFC 6598 shared address space (carrier-grade NAT).
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// startNAT starts the port mapper (unless disabled, or we listen on
// loopback only) and the goroutine that hands NAT address changes to the
// loop. Both stop with the node; the mapper deletes its mapping then.
func (n *Node) startNAT() {
	tcp, ok := n.ep.Addr().(*net.TCPAddr)
	if ok && !n.cfg.NoPortmap && !tcp.IP.IsLoopback() {
		cfg := n.cfg.Portmap
		cfg.Port = tcp.Port
		cfg.OnChange = n.nat.setMapping
		cfg.Logger = n.log.With("component", "portmap")
		if cfg.Clock == nil {
			cfg.Clock = portmapClock{n.clock}
		}
		m := portmap.New(cfg)
		n.wg.Go(func() { m.Run(n.ctx) })
	}
	n.wg.Go(n.runNAT)
	n.startPunch() // punch.go
}

// runNAT applies NAT address changes on the loop until the node stops.
func (n *Node) runNAT() {
	var last []string
	for {
		select {
		case <-n.nat.wake:
		case <-n.ctx.Done():
			return
		}
		addrs := n.nat.announce()
		if slices.Equal(addrs, last) {
			continue
		}
		last = addrs
		err := n.do(n.ctx, func(now time.Time) error {
			n.natAddrs = addrs
			return n.refreshAddrs(now)
		})
		if err != nil {
			return
		}
	}
}

// refreshAddrs recomputes the addresses we announce (configured or bound
// ones, then NAT ones, then relays) and, when they changed, tells
// connected friends and every conference. Loop only.
func (n *Node) refreshAddrs(now time.Time) error {
	direct := appendNew(advertised(n.cfg.Advertise, n.ep.Addr()), n.natAddrs...)
	addrs := announced(direct, n.cfg.Relays)
	if slices.Equal(addrs, n.addrs) {
		return nil
	}
	n.log.Info("announced addresses changed", "addresses", addrs)
	n.addrs = addrs
	n.dhtRepublish()
	n.helloFriends()
	for _, c := range n.confs {
		if c.engine == nil {
			continue // a shell (lazy.go) takes n.addrs when it is restored
		}
		c.engine.SetAddresses(now, slices.Clone(addrs))
		if err := n.apply(now, c); err != nil {
			return err
		}
	}
	return nil
}

// relayDialer dials relays from our listening port (netlayer's
// ReusePortDialer), so that OBSERVED reports the public side of that
// port; before the endpoint listens, or when the 4-tuple is taken, from
// an ephemeral port.
type relayDialer struct{ n *Node }

func (d relayDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var local *net.TCPAddr
	if ep := d.n.listenAddr.Load(); ep != nil {
		local = ep
	}
	return netlayer.ReusePortDialer{Local: local}.DialContext(ctx, network, addr)
}

// portmapClock adapts the node's clock to portmap's.
type portmapClock struct{ c Clock }

func (p portmapClock) Now() time.Time                         { return p.c.Now() }
func (p portmapClock) NewTimer(d time.Duration) portmap.Timer { return p.c.NewTimer(d) }
