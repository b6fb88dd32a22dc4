package conference

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"confchat/identity"
)

func deliveredIn(r Ready) []uint32 {
	var out []uint32
	for _, ev := range r.Events {
		if d, ok := ev.(Delivered); ok {
			out = append(out, d.UpTo)
		}
	}
	return out
}

// sentMessage sends text and returns its number and the packet flooded
// to other.
func sentMessage(t *testing.T, e *Engine, now time.Time, text string) (uint32, []byte) {
	t.Helper()
	if err := e.SendMessage(now, text); err != nil {
		t.Fatal(err)
	}
	r := e.Ready()
	e.Advance()
	for _, o := range r.Packets {
		if m, err := DecodeMessage(o.Data); err == nil && m.Kind == KindMessage {
			return m.Number, o.Data
		}
	}
	t.Fatal("the message was not flooded")
	return 0, nil
}

func TestHoldingMovesDeliveredMark(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e, other, _ := proofEngine(t, now)
	n1, _ := sentMessage(t, e, now, "one")
	n2, _ := sentMessage(t, e, now, "two")
	if err := e.HandlePacket(now, other, (&HoldingPacket{Group: 1, UpTo: n1}).Encode()); err != nil {
		t.Fatal(err)
	}
	if got := deliveredIn(e.Ready()); len(got) != 1 || got[0] != n1 {
		t.Fatalf("delivered %v, want [%d]", got, n1)
	}
	e.Advance()
	// a claim past what we stored is capped at our last stored message
	if err := e.HandlePacket(now, other, (&HoldingPacket{Group: 1, UpTo: n2 + 1000}).Encode()); err != nil {
		t.Fatal(err)
	}
	if got := deliveredIn(e.Ready()); len(got) != 1 || got[0] != n2 || e.Delivered() != n2 {
		t.Fatalf("delivered %v (mark %d), want [%d]", got, e.Delivered(), n2)
	}
	e.Advance()
	if _, err := DecodeDirect(append((&HoldingPacket{Group: 1, UpTo: 3}).Encode(), 0)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("a HOLDING with a trailing byte: %v", err)
	}
}

// An older build still echoes our message back instead of sending a
// HOLDING; the echo still counts.
func TestEchoFromOlderBuildMovesDeliveredMark(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e, other, _ := proofEngine(t, now)
	n, data := sentMessage(t, e, now, "one")
	echo := append([]byte(nil), data...)
	echo[1], echo[2] = 0, 1 // the member sends it back to our group number
	if err := e.HandlePacket(now, other, echo); err != nil {
		t.Fatal(err)
	}
	if got := deliveredIn(e.Ready()); len(got) != 1 || got[0] != n {
		t.Fatalf("delivered %v after the echo, want [%d]", got, n)
	}
	e.Advance()
}

// A member that stores a message straight from its origin answers with
// one HOLDING for the turn, not a copy of each message.
func TestHoldingSentOncePerTurn(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// a (fuzzKey(2)) is the origin; it addresses b (fuzzKey(1)) as group 7
	a, _, _ := proofEngine(t, now)
	b, err := Create(Config{Self: fuzzKey(1), GroupNumber: 7}, now)
	if err != nil {
		t.Fatal(err)
	}
	// b as a member of a's conference: same id, a under number 0
	b.id = a.id
	b.SessionUp(now, a.self)
	c := b.addConn(a.self, reasonIntroducing)
	c.online, c.remoteGroup = true, 1
	b.selfNumber = 4
	if b.addPeer(a.self, a.selfNumber, nil, true) == nil {
		t.Fatal("b does not list a")
	}
	b.Ready()
	b.Advance()
	var last uint32
	for _, text := range []string{"one", "two", "three"} {
		n, data := sentMessage(t, a, now, text)
		if err := b.HandlePacket(now, a.self, data); err != nil {
			t.Fatal(err)
		}
		last = n
	}
	holdings, copies := 0, 0
	for _, o := range b.Ready().Packets {
		if o.To != a.self {
			continue
		}
		if w, err := DecodeDirect(o.Data); err == nil {
			if h, ok := w.(*HoldingPacket); ok {
				holdings++
				if h.UpTo != last {
					t.Errorf("HOLDING up to %d, want %d", h.UpTo, last)
				}
			}
		} else if _, err := DecodeMessage(o.Data); err == nil {
			copies++
		}
	}
	b.Advance()
	if holdings != 1 || copies != 0 {
		t.Fatalf("%d HOLDINGs and %d message copies back to the origin; want 1 and 0", holdings, copies)
	}
}

// relay writes every copy into one array; each must carry its own
// receiver's group number and otherwise the same bytes.
func TestRelayCopiesCarryTheirGroups(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e, other, _ := proofEngine(t, now)
	groups := map[identity.PublicKey]uint16{}
	for i, k := range []*identity.KeyPair{fuzzKey(5), fuzzKey(6), fuzzKey(7)} {
		e.SessionUp(now, k.Public())
		c := e.addConn(k.Public(), reasonIntroducing)
		c.online, c.remoteGroup = true, uint16(0x0102*(i+1))
		groups[k.Public()] = c.remoteGroup
	}
	e.Ready()
	e.Advance()
	m := &MessagePacket{Sender: 4, Number: 9, Kind: KindMessage, Body: []byte{0, 0, 0, 0, 'h', 'i'}, Auth: make([]byte, sigSize)}
	e.relay(e.conn(other), m)
	r := e.Ready()
	if len(r.Packets) != len(groups) {
		t.Fatalf("%d copies for %d connections (the arrival one excluded)", len(r.Packets), len(groups))
	}
	for _, o := range r.Packets {
		got, err := DecodeMessage(o.Data)
		if err != nil {
			t.Fatal(err)
		}
		want := *m
		want.Group = groups[o.To]
		if !bytes.Equal(got.Encode(), want.Encode()) || cap(o.Data) != len(o.Data) {
			t.Fatalf("copy to group %#x: %x (cap %d)", groups[o.To], o.Data, cap(o.Data))
		}
	}
	e.Advance()
}
