package identity

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
)

func TestIDRoundTrip(t *testing.T) {
	kp, _ := Generate(rand.Reader)
	id := ID{Key: kp.Public(), Nospam: 0xDEADBEEF}
	s := id.String()
	if len(s) != IDLen {
		t.Fatalf("len = %d, want %d", len(s), IDLen)
	}
	for _, in := range []string{s, strings.ToLower(s), "  " + s + "\n"} {
		got, err := ParseID(in)
		if err != nil {
			t.Fatalf("ParseID(%q): %v", in, err)
		}
		if got != id {
			t.Fatalf("round trip: got %+v want %+v", got, id)
		}
	}
}

// A Tox-style checksum: XOR of the 2-byte chunks of key+nospam.
func TestIDChecksumLayout(t *testing.T) {
	var id ID
	id.Key[0], id.Key[1], id.Key[2] = 0x01, 0x02, 0x10
	id.Nospam = 0x00000003 // bytes 32..35 = 00 00 00 03
	b := id.Bytes()
	if b[36] != 0x01^0x10 || b[37] != 0x02^0x03 {
		t.Fatalf("checksum = %x %x", b[36], b[37])
	}
	if got := id.String()[64:72]; got != "00000003" {
		t.Fatalf("nospam hex = %s", got)
	}
}

func TestParseIDErrors(t *testing.T) {
	kp, _ := Generate(rand.Reader)
	good := ID{Key: kp.Public(), Nospam: 7}.String()
	flip := []byte(good)
	if flip[0] == 'A' {
		flip[0] = 'B'
	} else {
		flip[0] = 'A'
	}
	cases := []struct {
		in   string
		want error
	}{
		{"", ErrIDLength},
		{good[:75], ErrIDLength},
		{good + "0", ErrIDLength},
		{"G" + good[1:], ErrIDNotHex},
		{string(flip), ErrIDChecksum},
	}
	for _, c := range cases {
		_, err := ParseID(c.in)
		if !errors.Is(err, c.want) {
			t.Errorf("ParseID(%q) = %v, want %v", c.in, err, c.want)
		}
	}
}

func TestNospamChangesID(t *testing.T) {
	kp, _ := Generate(rand.Reader)
	a := ID{Key: kp.Public(), Nospam: 1}
	b := ID{Key: kp.Public(), Nospam: 2}
	if a.String() == b.String() {
		t.Fatal("nospam does not change the ID")
	}
}

func FuzzParseID(f *testing.F) {
	kp, _ := FromSeed(make([]byte, 32))
	f.Add(ID{Key: kp.Public(), Nospam: 42}.String())
	f.Add("")
	f.Add(strings.Repeat("0", IDLen))
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID(s)
		if err != nil {
			return
		}
		// Anything accepted must format back to the same ID.
		again, err := ParseID(id.String())
		if err != nil || again != id {
			t.Fatalf("accepted %q but round trip gave %v, %v", s, again, err)
		}
		if !strings.EqualFold(strings.TrimSpace(s), id.String()) {
			t.Fatalf("accepted %q formats as %q", s, id.String())
		}
	})
}
