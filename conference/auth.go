package conference

import (
	"crypto/sha256"

	"confchat/identity"
)

// A message's auth is what proves its origin signed it. It has two forms:
//
//   - plain: the origin's Ed25519 signature (64 bytes) over the message's
//     signed bytes (signedBytes);
//   - batch: count(1) index(1) path(32·k) signature(64). The origin signed,
//     once, the root of a Merkle tree over the leaf hashes of `count`
//     messages it originated together (batchStatement); the message is leaf
//     `index` and path holds the k sibling hashes from the leaf up to the
//     root. 2 ≤ count ≤ maxRunLeaves, index < count, and k is fixed by
//     (count, index), so the form is unambiguous: a batch auth is never 64
//     bytes long (it is 66+32k ≥ 98).
//
// Either form verifies on its own: nothing needs the other messages of the
// batch. The tree has the shape of RFC 6962 §2.1 (the left subtree of n
// leaves holds the largest power of two below n); leaves and inner nodes are
// domain separated.
const (
	maxRunLeaves  = 64 // leaves of one batch: at most 6 path hashes
	batchAuthMin  = 2 + 32 + sigSize
	batchAuthMax  = 2 + 6*32 + sigSize
	leafPrefix    = 0x00
	nodePrefix    = 0x01
	hashSize      = sha256.Size
	authCacheSize = 64 // verified batch roots remembered per engine
)

// batchContext starts the bytes signed for a batch. It differs from
// signContext at its 19th byte, so a batch statement can never be read as
// the signed bytes of a message, nor the other way round.
const batchContext = "confchat/conference-batch/v1"

// leafHash is the Merkle leaf of a message: SHA-256(0x00 || signed bytes).
func leafHash(signed []byte) [hashSize]byte {
	h := sha256.New()
	h.Write([]byte{leafPrefix})
	h.Write(signed)
	var out [hashSize]byte
	h.Sum(out[:0])
	return out
}

// leafInput is 0x00 || signedBytes(...) in one buffer: its tail is the
// message's signed bytes, and its SHA-256 the message's leaf hash.
func leafInput(id ID, origin identity.PublicKey, number uint32, kind byte, body []byte) []byte {
	return appendSigned([]byte{leafPrefix}, id, origin, number, kind, body)
}

// nodeHash is an inner node: SHA-256(0x01 || left || right).
func nodeHash(l, r *[hashSize]byte) [hashSize]byte {
	var b [1 + 2*hashSize]byte
	b[0] = nodePrefix
	copy(b[1:], l[:])
	copy(b[1+hashSize:], r[:])
	return sha256.Sum256(b[:])
}

// splitPoint is the size of the left subtree of n ≥ 2 leaves: the largest
// power of two below n.
func splitPoint(n int) int {
	k := 1
	for k*2 < n {
		k *= 2
	}
	return k
}

// pathLen is the number of sibling hashes of leaf index in a tree of count
// leaves (0 for count 1).
func pathLen(count, index int) int {
	k := 0
	for count > 1 {
		s := splitPoint(count)
		if index < s {
			count = s
		} else {
			index, count = index-s, count-s
		}
		k++
	}
	return k
}

// fillPaths computes the root over leaves and appends to paths[i] the
// audit path of leaf i, from the leaf up (len(paths) == len(leaves)). It
// hashes every inner node once.
func fillPaths(leaves [][hashSize]byte, paths [][]byte) [hashSize]byte {
	if len(leaves) == 1 {
		return leaves[0]
	}
	s := splitPoint(len(leaves))
	l := fillPaths(leaves[:s], paths[:s])
	r := fillPaths(leaves[s:], paths[s:])
	for i := range paths[:s] {
		paths[i] = append(paths[i], r[:]...)
	}
	for i := range paths[s:] {
		paths[s+i] = append(paths[s+i], l[:]...)
	}
	return nodeHash(&l, &r)
}

// rootFromPath recomputes the root from leaf i of count leaves and its
// path (bottom-up; len(path) == 32·pathLen(count, i), checked by the caller).
func rootFromPath(leaf [hashSize]byte, count, i int, path []byte) [hashSize]byte {
	if count == 1 {
		return leaf
	}
	s := splitPoint(count)
	var sib [hashSize]byte
	copy(sib[:], path[len(path)-hashSize:])
	path = path[:len(path)-hashSize]
	if i < s {
		l := rootFromPath(leaf, s, i, path)
		return nodeHash(&l, &sib)
	}
	r := rootFromPath(leaf, count-s, i-s, path)
	return nodeHash(&sib, &r)
}

// batchStatement is what the origin signs for a batch: the batch context,
// the conference id, the origin key, the leaf count and the root.
func batchStatement(id ID, origin identity.PublicKey, count int, root *[hashSize]byte) []byte {
	b := make([]byte, 0, len(batchContext)+IDSize+32+1+hashSize)
	b = append(b, batchContext...)
	b = append(b, id[:]...)
	b = append(b, origin[:]...)
	b = append(b, byte(count))
	return append(b, root[:]...)
}

// batchAuth is a decoded batch auth; path and sig alias the auth bytes.
type batchAuth struct {
	count, index int
	path, sig    []byte
}

// parseBatchAuth decodes a batch auth that must fill b exactly.
func parseBatchAuth(b []byte) (batchAuth, bool) {
	r := newReader(b)
	a, ok := readBatchAuth(r)
	return a, ok && r.done()
}

// readBatchAuth reads count, index, then the path its shape needs, then the
// signature. It fails (never panics) on a count outside 2..maxRunLeaves, an
// index out of range or short input.
func readBatchAuth(r *reader) (batchAuth, bool) {
	count, index := int(r.u8()), int(r.u8())
	if !r.ok || count < 2 || count > maxRunLeaves || index >= count {
		r.ok = false
		return batchAuth{}, false
	}
	a := batchAuth{count: count, index: index}
	a.path = r.take(hashSize * pathLen(count, index))
	a.sig = r.take(sigSize)
	return a, r.ok
}

// sealRun signs a run of own messages, given their signed bytes: one
// signature per chunk of at most maxRunLeaves (the run is split into
// chunks of nearly equal size), a plain signature for a chunk of one. It
// returns each message's auth and the number of signatures made.
func sealRun(kp *identity.KeyPair, id ID, signed [][]byte) (auths [][]byte, signs int) {
	auths = make([][]byte, 0, len(signed))
	chunks := (len(signed) + maxRunLeaves - 1) / maxRunLeaves
	for c := range chunks {
		lo, hi := c*len(signed)/chunks, (c+1)*len(signed)/chunks
		auths = append(auths, sealChunk(kp, id, signed[lo:hi])...)
		signs++
	}
	return auths, signs
}

func sealChunk(kp *identity.KeyPair, id ID, signed [][]byte) [][]byte {
	if len(signed) == 1 {
		return [][]byte{kp.Sign(signed[0])}
	}
	n := len(signed)
	leaves := make([][hashSize]byte, n)
	paths := make([][]byte, n)
	for i, s := range signed {
		leaves[i] = leafHash(s)
		paths[i] = append(make([]byte, 0, 2+hashSize*pathLen(n, i)+sigSize), byte(n), byte(i))
	}
	root := fillPaths(leaves, paths)
	sig := kp.Sign(batchStatement(id, kp.Public(), n, &root))
	for i := range paths {
		paths[i] = append(paths[i], sig...)
	}
	return paths
}

// verifyAuth checks auth (either form) for a message's signed bytes by
// origin, without a cache.
func verifyAuth(id ID, origin identity.PublicKey, signed, auth []byte) bool {
	if len(auth) == sigSize {
		return origin.Verify(signed, auth)
	}
	a, ok := parseBatchAuth(auth)
	if !ok {
		return false
	}
	root := rootFromPath(leafHash(signed), a.count, a.index, a.path)
	return origin.Verify(batchStatement(id, origin, a.count, &root), a.sig)
}

// authCache remembers batch roots whose signature verified, so the other
// messages of a batch cost a few hashes instead of a signature check. A
// key holds everything the signature check covered (origin, count, root)
// and the signature bytes themselves, so a hit is exactly a repeated
// successful check. It holds at most authCacheSize entries (the oldest is
// replaced), and only entries whose signature verified: nothing a peer
// sends can grow it, and evicting an entry only costs one more check.
type authCache struct {
	set  map[authKey]struct{}
	ring [authCacheSize]authKey
	next int
}

type authKey struct {
	origin identity.PublicKey
	count  byte
	root   [hashSize]byte
	sig    [sigSize]byte
}

func (c *authCache) has(k *authKey) bool {
	_, ok := c.set[*k]
	return ok
}

func (c *authCache) add(k *authKey) {
	if c.set == nil {
		c.set = make(map[authKey]struct{}, authCacheSize)
	}
	if len(c.set) >= authCacheSize {
		delete(c.set, c.ring[c.next])
	}
	c.ring[c.next] = *k
	c.next = (c.next + 1) % authCacheSize
	c.set[*k] = struct{}{}
}

// verifyMessage checks a message's auth by origin, using the engine's
// cache of verified batch roots.
func (e *Engine) verifyMessage(origin identity.PublicKey, number uint32, kind byte, body, auth []byte) bool {
	in := appendSigned(append(e.signScratch[:0], leafPrefix), e.id, origin, number, kind, body)
	e.signScratch = in // reused: nothing keeps in past this call
	if len(auth) == sigSize {
		return origin.Verify(in[1:], auth)
	}
	a, ok := parseBatchAuth(auth)
	if !ok {
		return false
	}
	k := authKey{origin: origin, count: byte(a.count), root: rootFromPath(sha256.Sum256(in), a.count, a.index, a.path)}
	copy(k.sig[:], a.sig)
	if e.auths.has(&k) {
		return true
	}
	if !origin.Verify(batchStatement(e.id, origin, a.count, &k.root), a.sig) {
		return false
	}
	e.auths.add(&k)
	return true
}

// verifyRecord is verifyMessage for a record.
func (e *Engine) verifyRecord(rec Record) bool {
	return e.verifyMessage(rec.Origin, rec.Number, rec.Kind, rec.Body, rec.Signature)
}
