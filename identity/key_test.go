package identity

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/curve25519"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The libsodium ed25519_convert test vector.
func TestX25519KnownVector(t *testing.T) {
	kp, err := FromSeed(mustHex(t, "421151a459faeade3d247115f94aedae42318124095afabe4d1451a559faedee"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := kp.Public().String(), "b5076a8474a832daee4dd5b4040983b6623b5f344aca57d4d6ee4baf3f259e6e"; got != want {
		t.Errorf("ed25519 public = %s, want %s", got, want)
	}
	pub := kp.X25519Public()
	if got, want := hex.EncodeToString(pub[:]), "f1814f0e8ff1043d8a44d25babff3cedcae6c22c3edaa48f857ae70de2baae50"; got != want {
		t.Errorf("x25519 public = %s, want %s", got, want)
	}
	priv := kp.X25519Private()
	if got, want := hex.EncodeToString(priv[:]), "8052030376d47112be7f73ed7a019293dd12ad910b654455798b4667d73de166"; got != want {
		t.Errorf("x25519 private = %s, want %s", got, want)
	}
}

// The converted private key must produce the converted public key, so a
// Diffie-Hellman between two profiles agrees on both sides.
func TestX25519PairsAgree(t *testing.T) {
	for range 50 {
		a, _ := Generate(rand.Reader)
		b, _ := Generate(rand.Reader)
		ap, bp := a.X25519Private(), b.X25519Private()
		derived, err := curve25519.X25519(ap[:], curve25519.Basepoint)
		if err != nil {
			t.Fatal(err)
		}
		apub := a.X25519Public()
		if !bytes.Equal(derived, apub[:]) {
			t.Fatalf("X25519(priv, base) != converted public key")
		}
		bpub := b.X25519Public()
		s1, _ := curve25519.X25519(ap[:], bpub[:])
		s2, _ := curve25519.X25519(bp[:], apub[:])
		if !bytes.Equal(s1, s2) {
			t.Fatal("shared secrets differ")
		}
	}
}

func TestSignVerify(t *testing.T) {
	kp, err := Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("hello conference")
	sig := kp.Sign(msg)
	if !kp.Public().Verify(msg, sig) {
		t.Fatal("valid signature rejected")
	}
	sig[0] ^= 1
	if kp.Public().Verify(msg, sig) {
		t.Fatal("corrupt signature accepted")
	}
	if kp.Public().Verify(msg, sig[:10]) {
		t.Fatal("short signature accepted")
	}
}

func TestSeedRoundTrip(t *testing.T) {
	kp, _ := Generate(rand.Reader)
	kp2, err := FromSeed(kp.Seed())
	if err != nil {
		t.Fatal(err)
	}
	if kp.Public() != kp2.Public() {
		t.Fatal("seed round trip changed the key")
	}
	if _, err := FromSeed(make([]byte, 31)); err != ErrBadSeed {
		t.Fatalf("short seed: err = %v, want ErrBadSeed", err)
	}
}

func TestPublicKeyX25519RejectsNonPoint(t *testing.T) {
	// y = 2 is not on the curve (no x satisfies the equation).
	var k PublicKey
	k[0] = 2
	if _, err := k.X25519(); err == nil {
		t.Fatal("non-point accepted")
	}
}

func TestParsePublicKey(t *testing.T) {
	kp, _ := Generate(rand.Reader)
	k, err := ParsePublicKey(kp.Public().String())
	if err != nil || k != kp.Public() {
		t.Fatalf("round trip: %v", err)
	}
	for _, bad := range []string{"", "abc", kp.Public().String()[:63] + "z"} {
		if _, err := ParsePublicKey(bad); err == nil {
			t.Errorf("ParsePublicKey(%q) accepted", bad)
		}
	}
	var a, b PublicKey
	b[31] = 1
	if !a.Less(b) || b.Less(a) || a.Less(a) {
		t.Error("Less is not a strict order")
	}
}

func TestValidatePublicKey(t *testing.T) {
	kp, err := Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidatePublicKey(kp.Public()); err != nil {
		t.Fatalf("generated key refused: %v", err)
	}
	for _, h := range []string{
		"0100000000000000000000000000000000000000000000000000000000000000",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0000000000000000000000000000000000000000000000000000000000000080",
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
		"0200000000000000000000000000000000000000000000000000000000000000",
	} {
		k, err := ParsePublicKey(h)
		if err != nil {
			t.Fatal(err)
		}
		err = ValidatePublicKey(k)
		if !errors.Is(err, ErrInvalidPublicKey) || !strings.Contains(err.Error(), "not a valid public key") {
			t.Errorf("%s: err = %v", h, err)
		}
	}
}
