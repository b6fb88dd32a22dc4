package netlayer

import (
	"net"
	"testing"
	"time"
)

// With DialFrom set, outgoing connections come from that local IP.
func TestDialFrom(t *testing.T) {
	leakCheck(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	from := net.ParseIP("127.0.0.7")
	a := newNode(t, newKey(t), func(c *Config) { c.DialFrom = from })
	defer a.close()
	a.ep.Open(newKey(t).Public(), []string{ln.Addr().String()})

	ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
	c, err := ln.Accept()
	if err != nil {
		t.Fatalf("no dial arrived: %v", err)
	}
	defer c.Close()
	got := c.RemoteAddr().(*net.TCPAddr).IP
	if !got.Equal(from) {
		t.Fatalf("dial came from %v, want %v", got, from)
	}
}

func TestSameScope(t *testing.T) {
	lo4, lo6, lan := net.ParseIP("127.0.0.7"), net.ParseIP("::1"), net.ParseIP("192.0.2.1")
	cases := []struct {
		ip   net.IP
		addr string
		want bool
	}{
		{lo4, "127.0.0.1:1", true},
		{lo4, "[::1]:1", false},
		{lo6, "[::1]:1", true},
		{lo4, "192.0.2.9:1", false},
		{lan, "192.0.2.9:1", true},
		{lan, "example.org:1", false},
		{lan, "nonsense", false},
	}
	for _, c := range cases {
		if got := sameScope(c.ip, c.addr); got != c.want {
			t.Errorf("sameScope(%v, %q) = %v", c.ip, c.addr, got)
		}
	}
}
