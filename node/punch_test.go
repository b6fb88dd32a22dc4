package node

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"confchat/identity"
)

func TestPunchFrameRoundTrip(t *testing.T) {
	for _, m := range []punchMsg{
		{Kind: punchConnect, Nonce: 7, Addrs: []netip.AddrPort{netip.MustParseAddrPort("45.45.0.1:7400")}},
		{Kind: punchReply, Nonce: 1 << 60, Addrs: []netip.AddrPort{netip.MustParseAddrPort("[2001:db8::1]:9"),
			netip.MustParseAddrPort("45.45.0.2:1")}},
		{Kind: punchReply, Nonce: 3},
		{Kind: punchSync, Nonce: 9},
	} {
		got, err := decodePunch(encodePunch(m))
		if err != nil || got.Kind != m.Kind || got.Nonce != m.Nonce || len(got.Addrs) != len(m.Addrs) {
			t.Fatalf("round trip of %+v: %+v, %v", m, got, err)
		}
		for i := range m.Addrs {
			if got.Addrs[i] != m.Addrs[i] {
				t.Fatalf("address %d: %v, want %v", i, got.Addrs[i], m.Addrs[i])
			}
		}
	}
	for _, bad := range [][]byte{
		nil, {packetPunch}, {packetPunch, punchSync, 0, 0, 0, 0, 0, 0, 0, 0, 1},
		{packetPunch, 9, 0, 0, 0, 0, 0, 0, 0, 0}, {packetPunch, punchConnect, 0, 0, 0, 0, 0, 0, 0, 0, 5},
		append([]byte{packetPunch, punchConnect, 0, 0, 0, 0, 0, 0, 0, 0, 1}, make([]byte, 17)...),
	} {
		if _, err := decodePunch(bad); !errors.Is(err, errPunchMalformed) {
			t.Fatalf("decodePunch(%x) = %v, want malformed", bad, err)
		}
	}
}

// Punch frames come from peers: the decoder takes any bytes without
// panicking, and what it accepts encodes back to the same bytes.
func FuzzDecodePunch(f *testing.F) {
	f.Add(encodePunch(punchMsg{Kind: punchConnect, Nonce: 1, Addrs: []netip.AddrPort{netip.MustParseAddrPort("45.45.0.1:7400")}}))
	f.Add(encodePunch(punchMsg{Kind: punchSync, Nonce: 2}))
	f.Add([]byte{packetPunch, punchReply, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodePunch(b)
		if err != nil {
			return
		}
		if len(m.Addrs) > maxPunchAddrs {
			t.Fatalf("%d addresses accepted", len(m.Addrs))
		}
		if got := encodePunch(m); !bytes.Equal(got, b) {
			t.Fatalf("re-encoded %x from %x", got, b)
		}
	})
}

// A parked connection is handed out once, for its address only, and
// closed when nobody took it in time.
func TestPunchTable(t *testing.T) {
	tb := newPunchTable()
	k := identity.PublicKey{1}
	a, b := net.Pipe()
	defer b.Close()
	now := time.Now()
	tb.park(k, "45.45.0.2:7400", a, now.Add(time.Second))
	if c := tb.take(k, "45.45.0.3:7400"); c != nil {
		t.Fatal("handed out for another address")
	}
	if c := tb.take(identity.PublicKey{2}, "45.45.0.2:7400"); c != nil {
		t.Fatal("handed out for another peer")
	}
	if c := tb.take(k, "45.45.0.2:7400"); c != a {
		t.Fatal("not handed out")
	}
	if c := tb.take(k, "45.45.0.2:7400"); c != nil {
		t.Fatal("handed out twice")
	}
	c, d := net.Pipe()
	defer d.Close()
	tb.park(k, "45.45.0.2:7400", c, now.Add(time.Second))
	tb.expire(now.Add(2 * time.Second))
	if _, err := c.Write([]byte{1}); err == nil {
		t.Fatal("an expired parked connection is still open")
	}
	if tb.take(k, "45.45.0.2:7400") != nil {
		t.Fatal("an expired connection handed out")
	}
	var nilTable *punchTable
	if nilTable.take(k, "x") != nil {
		t.Fatal("nil table handed something out")
	}
}

func TestPunchListener(t *testing.T) {
	l := newPunchListener()
	a, b := net.Pipe()
	defer b.Close()
	if !l.deliver(a) {
		t.Fatal("deliver refused")
	}
	if c, err := l.Accept(); err != nil || c != a {
		t.Fatalf("accept: %v %v", c, err)
	}
	l.Close()
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("accept after close: %v", err)
	}
	c, d := net.Pipe()
	defer c.Close()
	defer d.Close()
	if l.deliver(c) {
		t.Fatal("delivered after close")
	}
}
