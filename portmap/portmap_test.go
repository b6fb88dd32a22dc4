package portmap

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// changes records what OnChange reported.
type changes struct {
	mu  sync.Mutex
	got []Mapping
}

func (c *changes) add(m Mapping) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, m)
}

func (c *changes) list() []Mapping {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Mapping(nil), c.got...)
}

// silentSSDP is a UDP socket that counts searches and never answers: a
// network without a UPnP gateway.
func silentSSDP(t *testing.T) (addr string, searches *atomic.Int32) {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	searches = &atomic.Int32{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, _, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if strings.HasPrefix(string(buf[:n]), "M-SEARCH") {
				searches.Add(1)
			}
		}
	}()
	t.Cleanup(func() {
		c.Close()
		<-done
	})
	return c.LocalAddr().String(), searches
}

func noGateway() (netip.Addr, error) { return netip.Addr{}, errors.New("test: no gateway") }

// run starts m.Run and returns a stop that cancels it and waits.
func run(t *testing.T, m *Mapper) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return within 10 s of its context ending")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// Stopping while a renewal waits for the router's answer still deletes
// the mapping: the router may have taken the renewal (CI once stopped
// between the two and left the mapping on the router).
func TestStopDuringRenewalDeletes(t *testing.T) {
	g := newFakeIGD(t)
	clock := newFakeClock()
	m := New(Config{Port: 7400, Clock: clock, SSDPAddr: g.addr(), Gateway: noGateway, Timeout: 2 * time.Second, // the stalled renewal must outlast the wait below
		Fingerprint: func() string { return "net" }})
	stop := run(t, m)
	waitFor(t, 10*time.Second, "a UPnP mapping", func() bool { _, ok := m.Mapping(); return ok })
	stall := make(chan struct{})
	g.mu.Lock()
	g.stallAdds = stall
	g.mu.Unlock()
	clock.Advance(31 * time.Minute)
	waitFor(t, 5*time.Second, "the renewal at the router", func() bool { adds, _, _, _ := g.snapshot(); return adds == 2 })
	stop()
	close(stall)
	if _, deletes, _, maps := g.snapshot(); deletes != 1 || len(maps) != 0 {
		t.Fatalf("stopped during a renewal: deletes %d, IGD still holds %v", deletes, maps)
	}
	if _, ok := m.Mapping(); ok {
		t.Fatal("Mapping still reported after exit")
	}
}

func TestUPnPMapRenewDelete(t *testing.T) {
	g := newFakeIGD(t)
	clock := newFakeClock()
	var ch changes
	m := New(Config{Port: 7400, Clock: clock, SSDPAddr: g.addr(), Gateway: noGateway, Timeout: 500 * time.Millisecond,
		Fingerprint: func() string { return "net" }, OnChange: ch.add})
	stop := run(t, m)
	waitFor(t, 10*time.Second, "a UPnP mapping", func() bool { _, ok := m.Mapping(); return ok })
	got, _ := m.Mapping()
	want := netip.MustParseAddrPort("203.0.113.7:7400")
	if got.Protocol != ProtoUPnP || got.External != want || got.Internal != 7400 || got.Lease != time.Hour {
		t.Fatalf("mapping %+v, want upnp %v for 1h", got, want)
	}
	if !got.Expires.Equal(clock.Now().Add(time.Hour)) {
		t.Fatalf("expires %v, want now+1h", got.Expires)
	}
	adds, _, searches, maps := g.snapshot()
	if adds != 1 || searches == 0 {
		t.Fatalf("adds %d searches %d, want 1 add after a search", adds, searches)
	}
	if mp := maps[7400]; mp.Internal != 7400 || mp.Client != "127.0.0.1" || mp.Lease != 3600 || mp.Desc != "confchat" {
		t.Fatalf("IGD holds %+v", maps)
	}

	// Renewal at half the lease, not before.
	clock.Advance(29 * time.Minute)
	time.Sleep(50 * time.Millisecond)
	if adds, _, _, _ := g.snapshot(); adds != 1 {
		t.Fatalf("renewed after 29 min of a 1 h lease (adds %d)", adds)
	}
	clock.Advance(2 * time.Minute)
	waitFor(t, 5*time.Second, "the renewal", func() bool { adds, _, _, _ := g.snapshot(); return adds == 2 })
	if c := ch.list(); len(c) != 1 || c[0].External != want {
		t.Fatalf("OnChange calls %v, want one with %v (a renewal is no change)", c, want)
	}

	stop()
	_, deletes, _, maps := g.snapshot()
	if deletes != 1 || len(maps) != 0 {
		t.Fatalf("after exit: deletes %d, IGD still holds %v", deletes, maps)
	}
	if _, ok := m.Mapping(); ok {
		t.Fatal("Mapping still reported after exit")
	}
	if c := ch.list(); len(c) != 2 || c[1].Valid() {
		t.Fatalf("OnChange calls %v, want the mapping then none", c)
	}
}

func TestUPnPConflictAndPermanentOnly(t *testing.T) {
	g := newFakeIGD(t)
	g.conflict[7401] = true
	g.permOnly = true
	m := New(Config{Port: 7401, Clock: newFakeClock(), SSDPAddr: g.addr(), Gateway: noGateway,
		Timeout: 500 * time.Millisecond, Fingerprint: func() string { return "net" }})
	stop := run(t, m)
	waitFor(t, 10*time.Second, "a UPnP mapping", func() bool { _, ok := m.Mapping(); return ok })
	got, _ := m.Mapping()
	if got.External.Port() == 7401 || got.Lease != 0 || !got.Expires.IsZero() {
		t.Fatalf("mapping %+v: want another external port, permanent", got)
	}
	_, _, _, maps := g.snapshot()
	if mp, ok := maps[got.External.Port()]; !ok || mp.Internal != 7401 || mp.Lease != 0 {
		t.Fatalf("IGD holds %v, want a permanent mapping of :%d to 7401", maps, got.External.Port())
	}
	stop()
	if _, _, _, maps := g.snapshot(); len(maps) != 0 {
		t.Fatalf("permanent mapping not deleted on exit: %v", maps)
	}
}

func TestNATPMPFallbackRenewDelete(t *testing.T) {
	p := newFakePMP(t, 120)
	ssdpAddr, searches := silentSSDP(t)
	clock := newFakeClock()
	gw, _ := netip.AddrFromSlice(p.ip.To4())
	var ch changes
	m := New(Config{Port: 7402, Clock: clock, SSDPAddr: ssdpAddr, Timeout: 500 * time.Millisecond,
		Gateway: func() (netip.Addr, error) { return gw, nil }, Fingerprint: func() string { return "net" }, OnChange: ch.add})
	stop := run(t, m)
	waitFor(t, 10*time.Second, "a NAT-PMP mapping", func() bool { _, ok := m.Mapping(); return ok })
	got, _ := m.Mapping()
	if got.Protocol != ProtoNATPMP || got.External != netip.MustParseAddrPort("198.51.100.9:7402") || got.Lease != 2*time.Minute {
		t.Fatalf("mapping %+v", got)
	}
	if searches.Load() == 0 {
		t.Fatal("NAT-PMP used without trying UPnP first")
	}
	clock.Advance(61 * time.Second)
	waitFor(t, 5*time.Second, "the renewal at half the granted lifetime", func() bool {
		adds, _, _ := p.snapshot()
		return adds == 2
	})
	stop()
	_, deletes, maps := p.snapshot()
	if deletes != 1 || len(maps) != 0 {
		t.Fatalf("after exit: deletes %d, gateway holds %v", deletes, maps)
	}
	if c := ch.list(); len(c) != 2 || !c[0].Valid() || c[1].Valid() {
		t.Fatalf("OnChange calls %v", c)
	}
}

// No router at all: Run never fails, reports nothing, and retries with
// backoff on the clock.
func TestNoRouterIsQuiet(t *testing.T) {
	ssdpAddr, searches := silentSSDP(t)
	clock := newFakeClock()
	var gwCalls atomic.Int32
	m := New(Config{Port: 7403, Clock: clock, SSDPAddr: ssdpAddr, Timeout: 200 * time.Millisecond,
		Gateway: func() (netip.Addr, error) {
			gwCalls.Add(1)
			return noGateway()
		}, Fingerprint: func() string { return "net" }})
	stop := run(t, m)
	waitFor(t, 10*time.Second, "the first attempt", func() bool { return gwCalls.Load() == 1 })
	first := searches.Load()
	time.Sleep(50 * time.Millisecond)
	if gwCalls.Load() != 1 {
		t.Fatal("retried before any clock time passed")
	}
	clock.Advance(minRetry)
	waitFor(t, 10*time.Second, "the retry after 30 s", func() bool { return gwCalls.Load() == 2 })
	if searches.Load() <= first {
		t.Fatal("the retry sent no UPnP search")
	}
	clock.Advance(minRetry) // the backoff doubled: 60 s now
	time.Sleep(50 * time.Millisecond)
	if gwCalls.Load() != 2 {
		t.Fatal("backoff did not double")
	}
	if _, ok := m.Mapping(); ok {
		t.Fatal("a mapping without a router")
	}
	stop()
}

// A change of the host's network deletes the mapping and maps again;
// so does Refresh.
func TestNetworkChangeRemaps(t *testing.T) {
	g := newFakeIGD(t)
	clock := newFakeClock()
	var print atomic.Value
	print.Store("net-a")
	m := New(Config{Port: 7404, Clock: clock, SSDPAddr: g.addr(), Gateway: noGateway, Timeout: 500 * time.Millisecond,
		Fingerprint: func() string { return print.Load().(string) }})
	stop := run(t, m)
	waitFor(t, 10*time.Second, "a mapping", func() bool { _, ok := m.Mapping(); return ok })
	clock.Advance(DefaultCheckInterval)
	time.Sleep(50 * time.Millisecond)
	if adds, deletes, _, _ := g.snapshot(); adds != 1 || deletes != 0 {
		t.Fatalf("no change, yet adds %d deletes %d", adds, deletes)
	}
	print.Store("net-b")
	clock.Advance(DefaultCheckInterval)
	waitFor(t, 10*time.Second, "delete and map again", func() bool {
		adds, deletes, _, maps := g.snapshot()
		return adds == 2 && deletes == 1 && len(maps) == 1
	})
	waitFor(t, 10*time.Second, "the new mapping", func() bool { _, ok := m.Mapping(); return ok })
	m.Refresh()
	waitFor(t, 10*time.Second, "Refresh maps again", func() bool {
		adds, deletes, _, maps := g.snapshot()
		return adds == 3 && deletes == 2 && len(maps) == 1
	})
	stop()
}

// A router that stops granting: the renewal fails, the mapping is
// reported lost, and discovery retries.
func TestRenewalFailureReportsLoss(t *testing.T) {
	g := newFakeIGD(t)
	clock := newFakeClock()
	var ch changes
	m := New(Config{Port: 7405, Clock: clock, SSDPAddr: g.addr(), Gateway: noGateway, Timeout: 500 * time.Millisecond,
		Fingerprint: func() string { return "net" }, OnChange: ch.add})
	stop := run(t, m)
	waitFor(t, 10*time.Second, "a mapping", func() bool { _, ok := m.Mapping(); return ok })
	g.mu.Lock()
	g.failAdds = true
	g.mu.Unlock()
	clock.Advance(31 * time.Minute)
	waitFor(t, 10*time.Second, "the loss", func() bool { _, ok := m.Mapping(); return !ok })
	if c := ch.list(); len(c) != 2 || c[1].Valid() {
		t.Fatalf("OnChange calls %v, want the mapping then none", c)
	}
	g.mu.Lock()
	g.failAdds = false
	g.mu.Unlock()
	clock.Advance(maxRetry)
	waitFor(t, 10*time.Second, "the mapping again", func() bool { _, ok := m.Mapping(); return ok })
	stop()
}

func TestParseRoutes(t *testing.T) {
	const table = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
		"eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n" +
		"eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
	gw, err := parseRoutes(bufio.NewScanner(strings.NewReader(table)))
	if err != nil || gw != netip.MustParseAddr("192.168.1.1") {
		t.Fatalf("gateway %v, %v", gw, err)
	}
	if _, err := parseRoutes(bufio.NewScanner(strings.NewReader("Iface\tDestination\tGateway\neth0\t0000A8C0\t00000000\n"))); err == nil {
		t.Fatal("a table without a default route gave a gateway")
	}
}
