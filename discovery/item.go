package discovery

import (
	"encoding/binary"
	"fmt"
	"io"
	"strconv"

	"github.com/anacrolix/dht/v2/bep44"
	"github.com/anacrolix/torrent/bencode"
	"golang.org/x/crypto/chacha20poly1305"

	"confchat/identity"
)

// MaxValueSize is BEP 44's limit on the bencoded value.
const MaxValueSize = 1000

// Signer is the profile key; *identity.KeyPair is one.
type Signer interface {
	Public() identity.PublicKey
	Sign(msg []byte) []byte
}

// Item is a BEP 44 mutable item as it travels: V is the bencoded value
// (a byte string holding nonce and ciphertext).
type Item struct {
	Key  identity.PublicKey
	Salt []byte
	Seq  int64
	V    []byte
	Sig  [identity.SignatureSize]byte
}

// Seal builds the item that publishes rec under id with sequence number
// seq, encrypted with a fresh random nonce from rand and signed by key.
func Seal(key Signer, keys Keys, seq int64, rec Record, rand io.Reader) (Item, error) {
	if seq < 1 {
		return Item{}, fmt.Errorf("%w: sequence number %d", ErrMalformed, seq)
	}
	plain, err := rec.encode()
	if err != nil {
		return Item{}, err
	}
	aead, err := chacha20poly1305.NewX(keys.Secret[:])
	if err != nil {
		return Item{}, fmt.Errorf("cipher: %w", err)
	}
	pub := key.Public()
	raw := make([]byte, chacha20poly1305.NonceSizeX, chacha20poly1305.NonceSizeX+len(plain)+aead.Overhead())
	if _, err := io.ReadFull(rand, raw); err != nil {
		return Item{}, fmt.Errorf("nonce: %w", err)
	}
	raw = aead.Seal(raw, raw, plain, additionalData(pub, seq))
	v, err := bencode.Marshal(raw)
	if err != nil {
		return Item{}, fmt.Errorf("bencode: %w", err)
	}
	if len(v) > MaxValueSize {
		return Item{}, fmt.Errorf("%w: value of %d bytes, at most %d", ErrTooLarge, len(v), MaxValueSize)
	}
	it := Item{Key: pub, Salt: append([]byte(nil), keys.Salt[:]...), Seq: seq, V: v}
	copy(it.Sig[:], key.Sign(SignedBytes(it.Salt, seq, v)))
	return it, nil
}

// SignedBytes is what BEP 44 signs: "4:salt" bencode(salt) (when the salt
// is not empty) "3:seqi" seq "e1:v" followed by the bencoded value.
func SignedBytes(salt []byte, seq int64, v []byte) []byte {
	var b []byte
	if len(salt) > 0 {
		b = append(b, "4:salt"...)
		b = strconv.AppendInt(b, int64(len(salt)), 10)
		b = append(b, ':')
		b = append(b, salt...)
	}
	b = append(b, "3:seqi"...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, "e1:v"...)
	return append(b, v...)
}

// additionalData binds a ciphertext to its key and sequence number.
func additionalData(pub identity.PublicKey, seq int64) []byte {
	b := make([]byte, 0, len(kdfLabel)+identity.KeySize+8)
	b = append(b, kdfLabel...)
	b = append(b, pub[:]...)
	return binary.BigEndian.AppendUint64(b, uint64(seq))
}

// Open verifies it as the item of id (key, salt, signature, a sequence
// number not below minSeq) and decrypts its record. Nothing in it is
// trusted before Open returns nil.
func Open(id identity.ID, keys Keys, it Item, minSeq int64) (Record, error) {
	if it.Key != id.Key {
		return Record{}, ErrWrongKey
	}
	if string(it.Salt) != string(keys.Salt[:]) {
		return Record{}, fmt.Errorf("%w: salt", ErrMalformed)
	}
	if len(it.V) > MaxValueSize {
		return Record{}, fmt.Errorf("%w: value of %d bytes", ErrMalformed, len(it.V))
	}
	if !bep44.Verify(it.Key[:], it.Salt, it.Seq, it.V, it.Sig[:]) {
		return Record{}, ErrBadSignature
	}
	if it.Seq < 1 {
		return Record{}, fmt.Errorf("%w: sequence number %d", ErrMalformed, it.Seq)
	}
	if it.Seq < minSeq {
		return Record{}, fmt.Errorf("%w: %d < %d", ErrStaleSeq, it.Seq, minSeq)
	}
	var raw []byte
	if err := bencode.Unmarshal(it.V, &raw); err != nil {
		return Record{}, fmt.Errorf("%w: value: %v", ErrMalformed, err)
	}
	return decrypt(keys, it.Key, it.Seq, raw)
}

func decrypt(keys Keys, pub identity.PublicKey, seq int64, raw []byte) (Record, error) {
	aead, err := chacha20poly1305.NewX(keys.Secret[:])
	if err != nil {
		return Record{}, fmt.Errorf("cipher: %w", err)
	}
	if len(raw) < chacha20poly1305.NonceSizeX+aead.Overhead() {
		return Record{}, fmt.Errorf("%w: ciphertext of %d bytes", ErrDecrypt, len(raw))
	}
	nonce, ct := raw[:chacha20poly1305.NonceSizeX], raw[chacha20poly1305.NonceSizeX:]
	plain, err := aead.Open(nil, nonce, ct, additionalData(pub, seq))
	if err != nil {
		return Record{}, ErrDecrypt
	}
	return decodeRecord(plain)
}
