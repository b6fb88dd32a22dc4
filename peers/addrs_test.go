package peers

import (
	"crypto/rand"
	"net"
	"slices"
	"strings"
	"testing"

	"confchat/identity"
	"confchat/relay"
)

func TestValidAddress(t *testing.T) {
	kp, err := identity.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	good := relay.Addr{Key: kp.Public(), HostPort: "r.example:7447"}
	if !ValidAddress(good.String()) || ValidAddress(good.Bare()) {
		t.Fatalf("%s must be valid, its bare form %s (no relay: prefix) not", good, good.Bare())
	}
	for _, a := range []string{"127.0.0.1:1", "[::1]:65535", "host.example:80"} {
		if !ValidAddress(a) {
			t.Errorf("%q refused", a)
		}
	}
	for _, a := range []string{"", "host", ":80", "h:0", "h:65536", "h:x", "a b:1", "k@h:1", "relay:", "relay:zz@h:1",
		"relay:" + strings.Repeat("0", 64) + "@h:1", strings.Repeat("h", 300) + ":1"} {
		if ValidAddress(a) {
			t.Errorf("%q accepted", a)
		}
	}
	got := ValidAddresses([]string{"h:0", "a:1", "a:1", "relay:x", "b:2"})
	if !slices.Equal(got, []string{"a:1", "b:2"}) {
		t.Fatalf("ValidAddresses = %q", got)
	}
}

// FuzzValidAddress: addresses come from peers' packets. Whatever the
// bytes, ValidAddress does not panic, and what it accepts dials: a relay
// address that relay.ParseAddr takes, or host:port with a host and a
// port from 1 to 65535.
func FuzzValidAddress(f *testing.F) {
	for _, s := range []string{"127.0.0.1:7001", "[::1]:1", "relay:" + strings.Repeat("ab", 32) + "@h:1", "relay:", "h:0", "@:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, a string) {
		if !ValidAddress(a) {
			return
		}
		if len(a) > MaxAddressLen {
			t.Fatalf("%q: too long but accepted", a)
		}
		if relay.IsAddr(a) {
			if _, err := relay.ParseAddr(a); err != nil {
				t.Fatalf("%q accepted, ParseAddr: %v", a, err)
			}
			return
		}
		host, port, err := net.SplitHostPort(a)
		if err != nil || host == "" || port == "0" || strings.Contains(host, "@") {
			t.Fatalf("%q accepted: host %q port %q err %v", a, host, port, err)
		}
	})
}
