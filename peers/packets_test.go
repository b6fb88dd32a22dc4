package peers

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestRequestRoundTrip(t *testing.T) {
	r := Request{Nospam: 0xA1B2C3D4, Name: "Zoë", Message: "let's talk", Addresses: []string{"127.0.0.1:4000", "[::1]:4000"}}
	b, err := EncodeRequest(r)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != PacketFriendRequest {
		t.Fatalf("id %#x", b[0])
	}
	got, err := DecodeRequest(b)
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestHelloRoundTrip(t *testing.T) {
	for _, id := range []byte{PacketFriendAccept, PacketAddresses} {
		h := Hello{Name: "bob", Addresses: []string{"10.0.0.1:1"}}
		b, err := EncodeHello(id, h)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeHello(b)
		if err != nil || !reflect.DeepEqual(got, h) {
			t.Fatalf("got %+v, %v", got, err)
		}
	}
	if _, err := EncodeHello(PacketFriendRequest, Hello{}); err == nil {
		t.Fatal("EncodeHello accepted a request id")
	}
}

func TestEncodeRejectsOversize(t *testing.T) {
	bad := []Request{
		{Message: strings.Repeat("m", MaxMessageLen+1)},
		{Name: strings.Repeat("n", MaxNameLen+1)},
		{Name: "\xff"},
		{Addresses: make([]string, MaxAddresses+1)},
		{Addresses: []string{""}},
		{Addresses: []string{strings.Repeat("a", 256)}},
	}
	for i, r := range bad {
		if _, err := EncodeRequest(r); err == nil {
			t.Errorf("case %d encoded", i)
		}
	}
}

func TestDecodeRejectsMalformed(t *testing.T) {
	good, _ := EncodeRequest(Request{Nospam: 1, Name: "a", Message: "b", Addresses: []string{"h:1"}})
	cases := map[string][]byte{
		"empty":       nil,
		"wrong id":    append([]byte{0x11}, good[1:]...),
		"truncated":   good[:len(good)-1],
		"trailing":    append(append([]byte{}, good...), 0),
		"long name":   {PacketFriendRequest, 0, 0, 0, 1, 0xff, 0xff},
		"bad utf8":    {PacketFriendRequest, 0, 0, 0, 1, 0, 1, 0xff, 0, 0, 0},
		"many addrs":  {PacketFriendRequest, 0, 0, 0, 1, 0, 0, 0, 0, 9},
		"empty addr":  {PacketFriendRequest, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0},
		"short addr":  {PacketFriendRequest, 0, 0, 0, 1, 0, 0, 0, 0, 1, 5, 'a'},
		"hello wrong": {PacketFriendRemove},
	}
	for name, b := range cases {
		var err error
		if name == "hello wrong" {
			_, err = DecodeHello(b)
		} else {
			_, err = DecodeRequest(b)
		}
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func FuzzDecodeRequest(f *testing.F) {
	good, _ := EncodeRequest(Request{Nospam: 1, Name: "a", Message: "b", Addresses: []string{"h:1"}})
	f.Add(good)
	f.Add([]byte{PacketFriendRequest})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRequest(b)
		if err != nil {
			return
		}
		again, err := EncodeRequest(r)
		if err != nil {
			t.Fatalf("decoded %+v does not re-encode: %v", r, err)
		}
		if string(again) != string(b) {
			t.Fatalf("re-encoding differs")
		}
	})
}

func FuzzDecodeHello(f *testing.F) {
	good, _ := EncodeHello(PacketAddresses, Hello{Name: "a", Addresses: []string{"h:1", "g:2"}})
	f.Add(good)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeHello(b)
		if err != nil {
			return
		}
		again, err := EncodeHello(b[0], h)
		if err != nil || string(again) != string(b) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func TestHelloNospam(t *testing.T) {
	h := Hello{Name: "bob", Addresses: []string{"10.0.0.1:1"}, Nospam: 0, HasNospam: true}
	b, err := EncodeHello(PacketAddresses, h)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeHello(b)
	if err != nil || !reflect.DeepEqual(got, h) {
		t.Fatalf("got %+v, %v", got, err)
	}
	// A hello without the field (an older sender) still decodes.
	old, _ := EncodeHello(PacketAddresses, Hello{Name: "bob"})
	if got, err := DecodeHello(old); err != nil || got.HasNospam {
		t.Fatalf("old hello: %+v %v", got, err)
	}
	for _, cut := range []int{1, 2, 3} {
		if _, err := DecodeHello(append(old, make([]byte, cut)...)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%d stray bytes accepted: %v", cut, err)
		}
	}
	if _, err := DecodeHello(append(old, 1, 2, 3, 4, 5)); !errors.Is(err, ErrMalformed) {
		t.Error("trailing byte after the nospam accepted")
	}
}
