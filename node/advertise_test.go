package node

import (
	"net"
	"slices"
	"testing"
)

// A node bound to every interface announces the addresses other machines
// can reach, IPv4 first, and 127.0.0.1 last; never a loopback, link-local
// or multicast address, and no IPv6 one when bound to 0.0.0.0.
func TestUnspecifiedAddrs(t *testing.T) {
	ips := []net.IP{
		net.ParseIP("127.0.0.1"), net.ParseIP("::1"),
		net.ParseIP("fe80::1"), net.ParseIP("169.254.3.4"),
		net.ParseIP("fd00::2"), net.ParseIP("192.0.2.2"),
		net.ParseIP("ff02::1"), net.ParseIP("10.1.2.3"),
	}
	all := &net.TCPAddr{IP: net.IPv6unspecified, Port: 7400}
	if got, want := unspecifiedAddrs(all, ips), []string{"192.0.2.2:7400", "10.1.2.3:7400", "[fd00::2]:7400", "127.0.0.1:7400"}; !slices.Equal(got, want) {
		t.Errorf("[::]: %q, want %q", got, want)
	}
	v4 := &net.TCPAddr{IP: net.IPv4zero, Port: 7400}
	if got, want := unspecifiedAddrs(v4, ips), []string{"192.0.2.2:7400", "10.1.2.3:7400", "127.0.0.1:7400"}; !slices.Equal(got, want) {
		t.Errorf("0.0.0.0: %q, want %q", got, want)
	}
	if got, want := unspecifiedAddrs(all, nil), []string{"127.0.0.1:7400"}; !slices.Equal(got, want) {
		t.Errorf("no interfaces: %q, want %q", got, want)
	}
	many := []net.IP{net.ParseIP("10.0.0.1"), net.ParseIP("10.0.0.2"), net.ParseIP("10.0.0.3"), net.ParseIP("10.0.0.4")}
	if got := unspecifiedAddrs(all, many); len(got) != maxInterfaceAddrs+1 || got[len(got)-1] != "127.0.0.1:7400" {
		t.Errorf("bounded: %q", got)
	}
}
