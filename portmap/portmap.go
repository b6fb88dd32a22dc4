package portmap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sort"
	"sync"
	"time"
)

// Protocol names the way a mapping was obtained.
const (
	ProtoUPnP   = "upnp"
	ProtoNATPMP = "natpmp"
)

// Defaults of Config.
const (
	DefaultLease         = time.Hour
	DefaultCheckInterval = 30 * time.Second
	DefaultTimeout       = 2 * time.Second
	DefaultSSDPAddr      = "239.255.255.250:1900"
	minRetry             = 30 * time.Second
	maxRetry             = 10 * time.Minute
	minRenew             = 10 * time.Second
	deleteTimeout        = 2 * time.Second
)

// Mapping is a port mapping the router granted.
type Mapping struct {
	Protocol string         // ProtoUPnP or ProtoNATPMP
	External netip.AddrPort // where peers outside reach us
	Internal int            // our listening port
	Lease    time.Duration  // granted lifetime; 0: permanent (UPnP)
	Expires  time.Time      // zero for a permanent mapping
}

// Valid reports whether m is a mapping (the zero Mapping is "none").
func (m Mapping) Valid() bool { return m.External.IsValid() }

func (m Mapping) String() string {
	if !m.Valid() {
		return "none"
	}
	return fmt.Sprintf("%s %s -> :%d", m.Protocol, m.External, m.Internal)
}

// Config configures a Mapper. Zero fields take the defaults noted.
type Config struct {
	// Port is the TCP port we listen on. Required.
	Port int
	// Lease is the lifetime asked for (default 1 h); the mapping is
	// renewed at half the lifetime the router granted.
	Lease time.Duration
	// Description is the UPnP mapping description (default "confchat").
	Description string
	// OnChange is called, from Run's goroutine, with the new mapping
	// whenever the external address changes, and with the zero Mapping
	// when a mapping is lost or deleted. It must not block for long.
	OnChange func(Mapping)
	// Logger gets debug lines about failures; nil discards them.
	Logger *slog.Logger
	// Clock runs every timer; nil is the wall clock.
	Clock Clock
	// Timeout bounds one discovery or request to the router (default 2 s).
	Timeout time.Duration
	// CheckInterval is how often the host's addresses and gateway are
	// compared with the last ones seen, to notice a network change
	// (default 30 s).
	CheckInterval time.Duration

	// SSDPAddr is where UPnP searches are sent (default the SSDP
	// multicast group 239.255.255.250:1900); "off" disables UPnP.
	SSDPAddr string
	// Gateway returns the NAT-PMP server's address (default: the IPv4
	// default gateway of the host); an error disables NAT-PMP for this
	// attempt.
	Gateway func() (netip.Addr, error)
	// NAT-PMP always goes to port 5351 of the gateway (go-nat-pmp).

	// Fingerprint returns a value that changes when the network does
	// (default: the host's interface addresses and its default gateway).
	Fingerprint func() string
}

// Mapper keeps one port mapping. Create it with New, run it with Run.
type Mapper struct {
	cfg Config
	log *slog.Logger

	kick chan struct{} // Refresh

	mu      sync.Mutex // guards current for Mapping
	current Mapping
}

// New returns a Mapper for cfg; it does nothing until Run.
func New(cfg Config) *Mapper {
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Description == "" {
		cfg.Description = "confchat"
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.CheckInterval <= 0 {
		cfg.CheckInterval = DefaultCheckInterval
	}
	if cfg.SSDPAddr == "" {
		cfg.SSDPAddr = DefaultSSDPAddr
	}
	if cfg.Gateway == nil {
		cfg.Gateway = DefaultGateway
	}
	if cfg.Fingerprint == nil {
		cfg.Fingerprint = hostFingerprint
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Mapper{cfg: cfg, log: log, kick: make(chan struct{}, 1)}
}

// Mapping returns the mapping held now; ok is false when there is none.
func (m *Mapper) Mapping() (Mapping, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.current, m.current.Valid()
}

// Refresh tells the Mapper the network may have changed: it drops the
// mapping it holds and asks again at once. It never blocks.
func (m *Mapper) Refresh() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// backend is a router that maps ports, found by a prober.
type backend interface {
	proto() string
	// add maps internal to ext (0: the router picks; the same port is
	// asked first) for lease and returns the mapping granted.
	add(ctx context.Context, internal, ext int, lease time.Duration) (Mapping, error)
	// del deletes a mapping add returned.
	del(ctx context.Context, mp Mapping) error
}

// Run keeps the mapping until ctx ends, then deletes it (bounded by a
// short timeout) and returns. Every failure is logged at debug level and
// retried later with capped backoff.
func (m *Mapper) Run(ctx context.Context) {
	clock := m.cfg.Clock
	timer := clock.NewTimer(0)
	defer timer.Stop()
	check := clock.NewTimer(m.cfg.CheckInterval)
	defer check.Stop()
	var (
		be    backend
		fails int
		print = m.cfg.Fingerprint()
	)
	drop := func(why string) {
		if be != nil {
			cur, _ := m.Mapping()
			dctx, cancel := context.WithTimeout(context.Background(), deleteTimeout)
			if err := be.del(dctx, cur); err != nil {
				m.log.Debug("portmap: delete failed", "mapping", cur.String(), "err", err)
			} else {
				m.log.Debug("portmap: mapping deleted", "mapping", cur.String(), "why", why)
			}
			cancel()
		}
		be = nil
		m.set(Mapping{})
	}
	defer drop("exit")
	for {
		select {
		case <-ctx.Done():
			return
		case <-check.C():
			check.Reset(m.cfg.CheckInterval)
			if p := m.cfg.Fingerprint(); p != print {
				print = p
				m.log.Debug("portmap: network changed; mapping again")
				drop("network change")
				fails = 0
				timer.Reset(0)
			}
			continue
		case <-m.kick:
			drop("refresh")
			fails = 0
			timer.Reset(0)
			continue
		case <-timer.C():
		}
		// Map, or renew what we hold.
		var err error
		if be != nil {
			cur, _ := m.Mapping()
			var got Mapping
			got, err = m.request(ctx, be, int(cur.External.Port()))
			if err == nil {
				m.set(got)
				fails = 0
				timer.Reset(renewAfter(got))
				continue
			}
			if ctx.Err() != nil {
				// Stopped while renewing: the router may have renewed
				// without our seeing the answer, so the deferred drop still
				// deletes the mapping (be is kept for it).
				return
			}
			m.log.Debug("portmap: renewal failed", "mapping", cur.String(), "err", err)
			be = nil
			m.set(Mapping{})
		}
		if ctx.Err() != nil {
			return
		}
		var got Mapping
		be, got, err = m.discover(ctx)
		if err != nil {
			fails++
			d := retryAfter(fails)
			m.log.Debug("portmap: no mapping", "err", err, "retry_in", d)
			timer.Reset(d)
			continue
		}
		fails = 0
		m.log.Debug("portmap: mapped", "mapping", got.String(), "lease", got.Lease)
		m.set(got)
		timer.Reset(renewAfter(got))
	}
}

// set records cur and reports a change of the external address.
func (m *Mapper) set(cur Mapping) {
	m.mu.Lock()
	old := m.current
	m.current = cur
	m.mu.Unlock()
	if old.External != cur.External && m.cfg.OnChange != nil {
		m.cfg.OnChange(cur)
	}
}

// discover tries UPnP, then NAT-PMP, and maps the port with the first
// that answers.
func (m *Mapper) discover(ctx context.Context) (backend, Mapping, error) {
	var errs []error
	for _, probe := range []func(context.Context) (backend, error){m.probeUPnP, m.probeNATPMP} {
		if ctx.Err() != nil {
			return nil, Mapping{}, ctx.Err()
		}
		be, err := probe(ctx)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got, err := m.request(ctx, be, m.cfg.Port)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", be.proto(), err))
			continue
		}
		return be, got, nil
	}
	return nil, Mapping{}, errors.Join(errs...)
}

// request asks be for the mapping, preferring external port ext.
func (m *Mapper) request(ctx context.Context, be backend, ext int) (Mapping, error) {
	rctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	got, err := be.add(rctx, m.cfg.Port, ext, m.cfg.Lease)
	if err != nil {
		return Mapping{}, err
	}
	got.Protocol, got.Internal = be.proto(), m.cfg.Port
	if got.Lease > 0 {
		got.Expires = m.cfg.Clock.Now().Add(got.Lease)
	}
	return got, nil
}

// renewAfter is when a mapping is renewed: at half its lease, or every
// half default lease for a permanent one (which also notices a router
// that forgot it).
func renewAfter(mp Mapping) time.Duration {
	lease := mp.Lease
	if lease <= 0 {
		lease = DefaultLease
	}
	return max(lease/2, minRenew)
}

// retryAfter is the wait after the n-th failed attempt in a row.
func retryAfter(n int) time.Duration {
	d := minRetry
	for i := 1; i < n && d < maxRetry; i++ {
		d *= 2
	}
	return min(d, maxRetry)
}

// hostFingerprint is the host's unicast interface addresses and default
// gateway, sorted: it changes when the host moves to another network.
func hostFingerprint() string {
	var parts []string
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && !ipn.IP.IsLinkLocalUnicast() {
				parts = append(parts, ipn.String())
			}
		}
	}
	sort.Strings(parts)
	parts = slices.Compact(parts)
	if gw, err := DefaultGateway(); err == nil {
		parts = append(parts, "gw="+gw.String())
	}
	return fmt.Sprint(parts)
}
