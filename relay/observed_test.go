package relay

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"testing"
)

// fixedPortDialer dials from one local port, as a node that dials relays
// from its listening port does.
type fixedPortDialer struct{ local *net.TCPAddr }

func (d fixedPortDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return (&net.Dialer{LocalAddr: d.local}).DialContext(ctx, network, addr)
}

// The relay tells a registration the address it comes from (like STUN);
// the Listener keeps it and reports it through OnObserved.
func TestObservedAddress(t *testing.T) {
	r := startRelay(t, Config{})
	// A free local port to dial from.
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	local := probe.Addr().(*net.TCPAddr)
	probe.Close()
	var mu sync.Mutex
	var seen []netip.AddrPort
	c := newClient(t, newKey(t), ClientConfig{Dialer: fixedPortDialer{local}, OnObserved: func(a Addr, ap netip.AddrPort) {
		if a != r.addr {
			t.Errorf("OBSERVED reported for relay %v, want %v", a, r.addr)
		}
		mu.Lock()
		seen = append(seen, ap)
		mu.Unlock()
	}})
	l := register(t, c, r.addr)
	want := netip.MustParseAddrPort(local.String())
	waitFor(t, "OBSERVED", func() bool { return l.Observed().IsValid() })
	if got := l.Observed(); got != want {
		t.Fatalf("observed %v, want %v", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0] != want {
		t.Fatalf("OnObserved calls %v, want [%v]", seen, want)
	}
}

func TestObservedAddrOf(t *testing.T) {
	for _, c := range []struct {
		in   net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4(198, 51, 100, 2), Port: 40000}, "198.51.100.2:40000"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:198.51.100.2"), Port: 1}, "198.51.100.2:1"},
		{&net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 9, Zone: "eth0"}, "[fe80::1]:9"},
		{pipeAddr{}, ""},
		{nil, ""},
	} {
		got, ok := observedAddr(c.in)
		if (c.want == "") == ok || (ok && got.String() != c.want) {
			t.Errorf("observedAddr(%v) = %v %v, want %q", c.in, got, ok, c.want)
		}
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }
