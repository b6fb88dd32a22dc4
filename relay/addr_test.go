package relay

import (
	"errors"
	"strings"
	"testing"
)

func TestParseAddr(t *testing.T) {
	k := newKey(t).Public()
	for _, s := range []string{
		"relay:" + k.String() + "@relay.example.org:7447",
		k.String() + "@127.0.0.1:1",
		"relay:" + k.String() + "@[2001:db8::1]:65535",
	} {
		a, err := ParseAddr(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if a.Key != k || !strings.HasSuffix(s, "@"+a.HostPort) {
			t.Fatalf("%s: parsed %+v", s, a)
		}
		if !IsAddr(a.String()) || a.String() != AddrPrefix+a.Bare() {
			t.Fatalf("%s: formats as %s", s, a)
		}
	}
	for _, s := range []string{
		"", "relay:", k.String(), "relay:" + k.String() + "@", "relay:" + k.String() + "@host",
		"relay:" + k.String() + "@host:0", "relay:" + k.String() + "@:7447", "relay:" + k.String() + "@host:99999",
		"relay:" + k.String()[:63] + "@host:1", "relay:zz" + k.String()[2:] + "@host:1",
		"relay:" + strings.Repeat("0", 64) + "@host:1", // not a valid public key
	} {
		if _, err := ParseAddr(s); !errors.Is(err, ErrBadAddr) {
			t.Errorf("%q: err %v, want ErrBadAddr", s, err)
		}
	}
	if IsAddr("127.0.0.1:7447") {
		t.Fatal("a plain address is not a relay address")
	}
}
