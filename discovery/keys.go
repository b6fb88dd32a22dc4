package discovery

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"runtime/debug"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/hkdf"

	"confchat/identity"
)

// Key derivation parameters (docs/protocol.md part 5). Changing any of
// them changes every salt and key: that is a new format version.
const (
	kdfLabel   = "confchat-dht-v1"
	kdfTime    = 1
	kdfMemory  = 8 * 1024 // KiB
	kdfThreads = 1
	saltSize   = 32
	secretSize = 32
)

// Keys are what a confchat ID yields for the DHT: the BEP 44 salt, the
// value's encryption key and the DHT target (SHA-1 of public key and salt).
type Keys struct {
	Salt   [saltSize]byte
	Secret [secretSize]byte
	Target [sha1.Size]byte
}

// DeriveKeys derives the salt, secret and target of the item published
// under id. It costs one Argon2id pass (8 MiB, about 10-30 ms): cheap for
// one lookup, expensive for guessing a nospam for a known key; callers
// cache the result per ID.
func DeriveKeys(id identity.ID) Keys {
	var pw [identity.KeySize + 4]byte
	copy(pw[:], id.Key[:])
	binary.BigEndian.PutUint32(pw[identity.KeySize:], id.Nospam)
	master := argon2.IDKey(pw[:], []byte(kdfLabel), kdfTime, kdfMemory, kdfThreads, 32)
	var k Keys
	expand(master, "confchat-dht-v1 salt", k.Salt[:])
	expand(master, "confchat-dht-v1 secret", k.Secret[:])
	k.Target = sha1.Sum(append(id.Key[:], k.Salt[:]...))
	// The pass's 8 MiB are garbage now. Collect them and give the pages
	// back at once: otherwise the heap goal set while they were live lets
	// the process grow to about twice that before its next collection
	// (a bot node's peak RSS was 8-10 MiB higher for it).
	debug.FreeOSMemory()
	return k
}

func expand(master []byte, info string, out []byte) {
	r := hkdf.Expand(sha256.New, master, []byte(info))
	if _, err := io.ReadFull(r, out); err != nil {
		// hkdf.Expand fails only past 255*32 bytes of output.
		panic("discovery: hkdf: " + err.Error())
	}
}
