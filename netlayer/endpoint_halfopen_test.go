package netlayer

import (
	"net"
	"testing"
)

// fakeConn is a net.Conn whose only use here is its remote address.
type fakeConn struct {
	net.Conn
	remote net.Addr
}

func (c fakeConn) RemoteAddr() net.Addr { return c.remote }

func tcpFrom(ip string) net.Conn {
	return fakeConn{remote: &net.TCPAddr{IP: net.ParseIP(ip), Port: 4000}}
}

// The half-open table's rules: a source over its share displaces its own
// oldest; a full table displaces the heaviest source's oldest; within a
// source, one that has not sent message 1 goes first.
func TestHalfOpenTableEviction(t *testing.T) {
	tb := newHalfOpenTable(4, 2)
	a1, v := tb.admit(tcpFrom("10.0.0.1"))
	if v != nil {
		t.Fatal("displaced with room left")
	}
	a2, _ := tb.admit(tcpFrom("10.0.0.1"))
	tb.progressed(a1)
	_, v = tb.admit(tcpFrom("10.0.0.1"))
	if v != a2 {
		t.Fatalf("source over its share displaced %+v, want its oldest idle one", v)
	}
	tb.admit(tcpFrom("10.0.0.2"))
	tb.admit(tcpFrom("10.0.0.3"))
	if tb.len() != 4 {
		t.Fatalf("len %d, want 4", tb.len())
	}
	_, v = tb.admit(tcpFrom("10.0.0.4"))
	if v == nil || v.source != "10.0.0.1" || v == a1 {
		t.Fatalf("full table displaced %+v, want the heaviest source's idle one", v)
	}
	if tb.len() != 4 || !tb.release(v) || tb.release(a1) || tb.len() != 3 {
		t.Fatalf("release bookkeeping wrong: len %d", tb.len())
	}
	if got := sourceOf(&net.TCPAddr{IP: net.ParseIP("2001:db8::1:2:3:4")}); got != "2001:db8::/64" {
		t.Fatalf("IPv6 source %q", got)
	}
	if got := sourceOf(&net.TCPAddr{IP: net.ParseIP("::ffff:10.1.2.3")}); got != "10.1.2.3" {
		t.Fatalf("mapped IPv4 source %q", got)
	}
}
