package identity

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"filippo.io/edwards25519"
)

// KeySize is the length in bytes of a public key.
const KeySize = ed25519.PublicKeySize

// SeedSize is the length in bytes of the private seed a KeyPair is made from.
const SeedSize = ed25519.SeedSize

// SignatureSize is the length in bytes of a signature.
const SignatureSize = ed25519.SignatureSize

// PublicKey is an Ed25519 public key: the identity of a profile.
type PublicKey [KeySize]byte

// String returns the key as 64 lowercase hex characters.
func (k PublicKey) String() string { return hex.EncodeToString(k[:]) }

// Short returns the first 8 hex characters, for logs and compact displays.
func (k PublicKey) Short() string { return hex.EncodeToString(k[:4]) }

// IsZero reports whether k is the zero key.
func (k PublicKey) IsZero() bool { return k == PublicKey{} }

// Less orders keys byte-wise; netlayer uses it to break dial ties.
func (k PublicKey) Less(o PublicKey) bool {
	for i := range k {
		if k[i] != o[i] {
			return k[i] < o[i]
		}
	}
	return false
}

// ParsePublicKey parses 64 hex characters.
func ParsePublicKey(s string) (PublicKey, error) {
	var k PublicKey
	if len(s) != 2*KeySize {
		return k, fmt.Errorf("public key: want %d hex characters, got %d", 2*KeySize, len(s))
	}
	if _, err := hex.Decode(k[:], []byte(s)); err != nil {
		return k, fmt.Errorf("public key: not hex: %w", err)
	}
	return k, nil
}

// MarshalText implements encoding.TextMarshaler (hex).
func (k PublicKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler (hex).
func (k *PublicKey) UnmarshalText(b []byte) error {
	p, err := ParsePublicKey(string(b))
	if err != nil {
		return err
	}
	*k = p
	return nil
}

// X25519 returns the Montgomery (X25519) form of the key, for the transport
// handshake. It fails for bytes that are not a valid Edwards point.
func (k PublicKey) X25519() ([32]byte, error) {
	var out [32]byte
	p, err := new(edwards25519.Point).SetBytes(k[:])
	if err != nil {
		return out, fmt.Errorf("public key: not a curve point: %w", err)
	}
	copy(out[:], p.BytesMontgomery())
	return out, nil
}

// Verify reports whether sig is k's valid signature of msg.
func (k PublicKey) Verify(msg, sig []byte) bool {
	if len(sig) != SignatureSize {
		return false
	}
	return ed25519.Verify(ed25519.PublicKey(k[:]), msg, sig)
}

// KeyPair is a profile's Ed25519 key pair. The zero value is not usable.
type KeyPair struct {
	public  PublicKey
	private ed25519.PrivateKey
}

// ErrBadSeed is returned for a seed of the wrong length.
var ErrBadSeed = errors.New("identity: private seed must be 32 bytes")

// Generate makes a new key pair from rand (crypto/rand.Reader in production).
func Generate(rand io.Reader) (*KeyPair, error) {
	seed := make([]byte, SeedSize)
	if _, err := io.ReadFull(rand, seed); err != nil {
		return nil, fmt.Errorf("identity: read randomness: %w", err)
	}
	return FromSeed(seed)
}

// FromSeed rebuilds a key pair from its 32-byte seed.
func FromSeed(seed []byte) (*KeyPair, error) {
	if len(seed) != SeedSize {
		return nil, ErrBadSeed
	}
	priv := ed25519.NewKeyFromSeed(seed)
	kp := &KeyPair{private: priv}
	copy(kp.public[:], priv.Public().(ed25519.PublicKey))
	return kp, nil
}

// Public returns the public key.
func (kp *KeyPair) Public() PublicKey { return kp.public }

// Seed returns a copy of the 32-byte private seed, the form that is stored.
func (kp *KeyPair) Seed() []byte { return append([]byte(nil), kp.private.Seed()...) }

// Sign signs msg with the Ed25519 key.
func (kp *KeyPair) Sign(msg []byte) []byte { return ed25519.Sign(kp.private, msg) }

// X25519Private returns the X25519 private key that matches
// Public().X25519(): the clamped first half of SHA-512(seed).
func (kp *KeyPair) X25519Private() [32]byte {
	h := sha512.Sum512(kp.private.Seed())
	var out [32]byte
	copy(out[:], h[:32])
	out[0] &= 248
	out[31] &= 127
	out[31] |= 64
	return out
}

// X25519Public returns the X25519 form of the public key. A key made by
// this package is always a valid point, so this cannot fail.
func (kp *KeyPair) X25519Public() [32]byte {
	out, err := kp.public.X25519()
	if err != nil {
		panic("identity: own public key is not a curve point: " + err.Error())
	}
	return out
}

// ErrInvalidPublicKey is returned (wrapped) by ValidatePublicKey.
var ErrInvalidPublicKey = errors.New("not a valid public key")

// ValidatePublicKey refuses keys no honest profile can have: bytes that
// do not decode to an Edwards point, non-canonical encodings, and points
// of small order (their X25519 form gives an all-zero shared secret, and
// a handshake with them can never authenticate anyone). The error wraps
// ErrInvalidPublicKey.
func ValidatePublicKey(k PublicKey) error {
	p, err := new(edwards25519.Point).SetBytes(k[:])
	if err != nil {
		return fmt.Errorf("%w: not a curve point", ErrInvalidPublicKey)
	}
	if !bytes.Equal(p.Bytes(), k[:]) {
		return fmt.Errorf("%w: non-canonical encoding", ErrInvalidPublicKey)
	}
	if new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return fmt.Errorf("%w: a point of small order", ErrInvalidPublicKey)
	}
	return nil
}
