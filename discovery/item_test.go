package discovery

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/anacrolix/dht/v2/bep44"

	"confchat/identity"
)

var testAddrs = []string{"192.0.2.1:7000", "[2001:db8::1]:7000", "relay:" + strings.Repeat("ab", 32) + "@relay.example:443"}

func TestSealOpenRoundTrip(t *testing.T) {
	kp := newKey(t)
	id := identity.ID{Key: kp.Public(), Nospam: 0x01020304}
	keys := DeriveKeys(id)
	it, err := Seal(kp, keys, 7, Record{Addresses: testAddrs}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := Open(id, keys, it, 7)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rec.Addresses, ",") != strings.Join(testAddrs, ",") {
		t.Fatalf("addresses %v", rec.Addresses)
	}
	if len(rec.Direct()) != 2 || len(rec.Relays()) != 1 {
		t.Fatalf("direct %v relays %v", rec.Direct(), rec.Relays())
	}
	if !bytes.Contains(it.V, []byte(":")) || bytes.Contains(it.V, []byte("192.0.2.1")) {
		t.Fatal("value is not an encrypted byte string")
	}
}

// The bytes we sign are BEP 44's: the DHT library's signer agrees.
func TestSignedBytesAreBEP44(t *testing.T) {
	kp := newKey(t)
	id := identity.ID{Key: kp.Public(), Nospam: 9}
	keys := DeriveKeys(id)
	it, err := Seal(kp, keys, 42, Record{Addresses: testAddrs[:1]}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	priv := ed25519.NewKeyFromSeed(kp.Seed())
	want := bep44.Sign(priv, it.Salt, it.Seq, it.V)
	if !bytes.Equal(want, it.Sig[:]) {
		t.Fatal("signature differs from bep44.Sign")
	}
	if !bep44.Verify(it.Key[:], it.Salt, it.Seq, it.V, it.Sig[:]) {
		t.Fatal("bep44.Verify refuses our item")
	}
	if got := bep44.MakeMutableTarget([32]byte(it.Key), it.Salt); got != keys.Target {
		t.Fatal("target is not SHA-1(key || salt)")
	}
}

func TestDeriveKeysDependOnNospam(t *testing.T) {
	kp := newKey(t)
	a := DeriveKeys(identity.ID{Key: kp.Public(), Nospam: 1})
	b := DeriveKeys(identity.ID{Key: kp.Public(), Nospam: 2})
	if a.Salt == b.Salt || a.Secret == b.Secret || a.Target == b.Target {
		t.Fatal("keys do not depend on nospam")
	}
	if a.Salt == a.Secret {
		t.Fatal("salt and secret are the same")
	}
	if a != DeriveKeys(identity.ID{Key: kp.Public(), Nospam: 1}) {
		t.Fatal("derivation is not deterministic")
	}
}

func TestOpenRejectsForgeries(t *testing.T) {
	owner, other := newKey(t), newKey(t)
	id := identity.ID{Key: owner.Public(), Nospam: 5}
	keys := DeriveKeys(id)
	good, err := Seal(owner, keys, 10, Record{Addresses: testAddrs}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	resign := func(it Item) Item {
		copy(it.Sig[:], owner.Sign(SignedBytes(it.Salt, it.Seq, it.V)))
		return it
	}
	forged, _ := Seal(other, keys, 11, Record{Addresses: []string{"198.51.100.6:1"}}, rand.Reader)
	claimed := forged
	claimed.Key = owner.Public() // signed by another key, claiming the owner's
	corrupt := good
	corrupt.V = bytes.Clone(good.V)
	corrupt.V[len(corrupt.V)-1] ^= 1
	corruptSigned := resign(corrupt)
	seqBumped := good
	seqBumped.Seq = 11 // signature was over seq 10
	oldNospam := DeriveKeys(identity.ID{Key: owner.Public(), Nospam: 4})
	cases := []struct {
		name string
		it   Item
		keys Keys
		min  int64
		want error
	}{
		{"wrong key", forged, keys, 0, ErrWrongKey},
		{"signed by another key", claimed, keys, 0, ErrBadSignature},
		{"corrupted, old signature", corrupt, keys, 0, ErrBadSignature},
		{"corrupted ciphertext, signed", corruptSigned, keys, 0, ErrDecrypt},
		{"sequence number changed", seqBumped, keys, 0, ErrBadSignature},
		{"replayed lower seq", good, keys, 11, ErrStaleSeq},
		{"other nospam", good, oldNospam, 0, ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Open(id, c.keys, c.it, c.min)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	if _, err := Open(id, keys, good, 10); err != nil {
		t.Fatalf("equal seq refused: %v", err)
	}
}

// Ciphertext decrypted with keys derived from an old nospam fails even
// when the salt check is skipped (the secret differs too).
func TestOtherNospamDoesNotDecrypt(t *testing.T) {
	kp := newKey(t)
	newID := identity.ID{Key: kp.Public(), Nospam: 2}
	it, err := Seal(kp, DeriveKeys(identity.ID{Key: kp.Public(), Nospam: 1}), 3, Record{Addresses: testAddrs}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keys := DeriveKeys(newID)
	it.Salt = keys.Salt[:]
	copy(it.Sig[:], kp.Sign(SignedBytes(it.Salt, it.Seq, it.V)))
	if _, err := Open(newID, keys, it, 0); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("got %v, want ErrDecrypt", err)
	}
}

func TestRecordLimits(t *testing.T) {
	kp := newKey(t)
	keys := DeriveKeys(identity.ID{Key: kp.Public()})
	bad := []string{"", "nohost", "host:0", "host:99999", ":7000", "relay:abcd@h:1",
		"relay:" + strings.Repeat("zz", 32) + "@h:1", "a b:1", strings.Repeat("h", 300) + ":1"}
	for _, a := range bad {
		if _, err := Seal(kp, keys, 1, Record{Addresses: []string{a}}, rand.Reader); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: got %v", a, err)
		}
	}
	many := make([]string, MaxAddresses+1)
	for i := range many {
		many[i] = "192.0.2.1:1"
	}
	if _, err := Seal(kp, keys, 1, Record{Addresses: many}, rand.Reader); !errors.Is(err, ErrTooLarge) {
		t.Errorf("17 addresses: %v", err)
	}
	long := make([]string, 5)
	for i := range long {
		long[i] = strings.Repeat("h", 240) + ":1"
	}
	if _, err := Seal(kp, keys, 1, Record{Addresses: long}, rand.Reader); !errors.Is(err, ErrTooLarge) {
		t.Errorf("1200 bytes: %v", err)
	}
	if _, err := Seal(kp, keys, 0, Record{}, rand.Reader); err == nil {
		t.Error("seq 0 accepted")
	}
}

func TestRoutingTableRoundTrip(t *testing.T) {
	if n, err := decodeTable([]byte{1, 2, 3}); err == nil && len(n) != 0 {
		t.Fatal("garbage table decoded")
	}
	if n, err := decodeTable(nil); err != nil || n != nil {
		t.Fatal("empty table")
	}
}

func FuzzOpen(f *testing.F) {
	kp, _ := identity.FromSeed(bytes.Repeat([]byte{7}, identity.SeedSize))
	id := identity.ID{Key: kp.Public(), Nospam: 77}
	keys := DeriveKeys(id)
	it, _ := Seal(kp, keys, 3, Record{Addresses: testAddrs}, rand.Reader)
	f.Add(it.Seq, it.V, it.Sig[:], false)
	f.Add(it.Seq, it.V, it.Sig[:], true)
	f.Add(int64(-1), []byte("0:"), make([]byte, 64), false)
	f.Fuzz(func(t *testing.T, seq int64, v, sig []byte, resign bool) {
		cand := Item{Key: id.Key, Salt: keys.Salt[:], Seq: seq, V: v}
		copy(cand.Sig[:], sig)
		if resign {
			copy(cand.Sig[:], kp.Sign(SignedBytes(cand.Salt, seq, v)))
		}
		rec, err := Open(id, keys, cand, 0)
		if err != nil {
			return
		}
		if _, err := rec.encode(); err != nil {
			t.Fatalf("accepted a record that does not encode: %v", err)
		}
	})
}

func FuzzDecodeRecord(f *testing.F) {
	plain, _ := Record{Addresses: testAddrs}.encode()
	f.Add(plain)
	f.Add([]byte{1, 0})
	f.Add([]byte{1, 1, 3, 'a', ':', '1'})
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := decodeRecord(b)
		if err != nil {
			return
		}
		again, err := rec.encode()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("decode/encode mismatch: %v", err)
		}
	})
}

// The test vector of docs/protocol.md part 5, for other implementations.
func TestDeriveKeysVector(t *testing.T) {
	kp, err := identity.FromSeed(bytes.Repeat([]byte{7}, identity.SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	k := DeriveKeys(identity.ID{Key: kp.Public(), Nospam: 0x01020304})
	for _, c := range []struct{ name, got, want string }{
		{"key", kp.Public().String(), "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"},
		{"salt", hex.EncodeToString(k.Salt[:]), "a9fc40dada1ca984017bb28f769b87decccf2867c06ad01b88eea830a8e94f1e"},
		{"secret", hex.EncodeToString(k.Secret[:]), "5b9651d7096929f644a83ad3dba6166b380f651c1781e58cd1ed65e451d3498a"},
		{"target", hex.EncodeToString(k.Target[:]), "f976daad3bf4bf8387d4cb87953c3380510f6657"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %s, want %s", c.name, c.got, c.want)
		}
	}
}

func TestParseBootstrap(t *testing.T) {
	got, err := ParseBootstrap("127.0.0.1:6881, router.example:42069,[::1]:1")
	if err != nil || strings.Join(got, ",") != "127.0.0.1:6881,router.example:42069,[::1]:1" {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"", "host", "host:0", ":1", "a:1,,b:2", "h:70000"} {
		if _, err := ParseBootstrap(bad); !errors.Is(err, ErrBadBootstrap) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
