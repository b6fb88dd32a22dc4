package discovery

import (
	"bytes"
	"testing"

	"github.com/anacrolix/torrent/bencode"
	"golang.org/x/crypto/chacha20poly1305"

	"confchat/identity"
)

// FuzzOpenSealed reaches the record decoder through the whole of Open:
// arbitrary plaintext, correctly encrypted and signed by the ID's key
// (what a buggy or hostile owner could publish). Open either refuses it
// or returns a record that encodes back to exactly that plaintext.
func FuzzOpenSealed(f *testing.F) {
	kp, _ := identity.FromSeed(bytes.Repeat([]byte{9}, identity.SeedSize))
	id := identity.ID{Key: kp.Public(), Nospam: 99}
	keys := DeriveKeys(id)
	plain, _ := Record{Addresses: testAddrs}.encode()
	f.Add(plain, int64(5))
	f.Add([]byte{1, 0}, int64(1))
	f.Add([]byte{1, 2, 3, 'a', ':', '1', 0}, int64(1))
	f.Add([]byte{2, 0}, int64(0))
	aead, err := chacha20poly1305.NewX(keys.Secret[:])
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, plain []byte, seq int64) {
		raw := make([]byte, chacha20poly1305.NonceSizeX)
		raw = aead.Seal(raw, raw, plain, additionalData(id.Key, seq))
		v, err := bencode.Marshal(raw)
		if err != nil {
			t.Fatal(err)
		}
		it := Item{Key: id.Key, Salt: keys.Salt[:], Seq: seq, V: v}
		copy(it.Sig[:], kp.Sign(SignedBytes(it.Salt, seq, v)))
		rec, err := Open(id, keys, it, 0)
		if err != nil {
			return
		}
		again, err := rec.encode()
		if err != nil || !bytes.Equal(again, plain) {
			t.Fatalf("accepted plaintext %x re-encodes as %x (%v)", plain, again, err)
		}
		if seq < 1 || len(v) > MaxValueSize {
			t.Fatalf("accepted seq %d, value of %d bytes", seq, len(v))
		}
	})
}
