package conference

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"confchat/identity"
)

func testRun(t testing.TB, kp *identity.KeyPair, id ID, n int) (signed [][]byte, auths [][]byte, signs int) {
	t.Helper()
	for i := range n {
		body := fmt.Appendf([]byte{0, 0, 0, byte(i)}, "message %d", i)
		signed = append(signed, signedBytes(id, kp.Public(), uint32(100+i), KindMessage, body))
	}
	auths, signs = sealRun(kp, id, signed)
	return signed, auths, signs
}

// merkleRoot is the root over leaves, straight from the definition.
func merkleRoot(leaves [][hashSize]byte) [hashSize]byte {
	if len(leaves) == 1 {
		return leaves[0]
	}
	s := splitPoint(len(leaves))
	l, r := merkleRoot(leaves[:s]), merkleRoot(leaves[s:])
	return nodeHash(&l, &r)
}

// Every index of runs of many sizes verifies on its own; a run of one is a
// plain signature; a run is one signature per maxRunLeaves (balanced).
func TestMerkleAuthEveryIndex(t *testing.T) {
	kp, id := fuzzKey(7), ID{0, 1, 2}
	for _, n := range []int{1, 2, 3, 4, 5, 7, 8, 9, 16, 31, 33, 63, 64, 65, 100, 129} {
		signed, auths, signs := testRun(t, kp, id, n)
		if want := (n + maxRunLeaves - 1) / maxRunLeaves; signs != want {
			t.Fatalf("run of %d: %d signatures, want %d", n, signs, want)
		}
		for i := range signed {
			a := auths[i]
			if n == 1 && len(a) != sigSize {
				t.Fatalf("run of 1: auth of %d bytes, want a plain signature", len(a))
			}
			if n > 1 {
				ba, ok := parseBatchAuth(a)
				if !ok || ba.count < 2 || ba.count > maxRunLeaves || len(a) > batchAuthMax || len(a) < batchAuthMin {
					t.Fatalf("run of %d, index %d: auth %x does not parse", n, i, a)
				}
			}
			if !verifyAuth(id, kp.Public(), signed[i], a) {
				t.Fatalf("run of %d: index %d does not verify", n, i)
			}
			if n > 1 && n <= maxRunLeaves {
				leaves := make([][hashSize]byte, n)
				for j := range signed {
					leaves[j] = leafHash(signed[j])
				}
				ba, _ := parseBatchAuth(a)
				if rootFromPath(leaves[i], n, i, ba.path) != merkleRoot(leaves) {
					t.Fatalf("run of %d: index %d: path does not lead to the tree's root", n, i)
				}
			}
		}
	}
}

// A flipped bit anywhere in the auth or in the signed bytes fails; an
// auth moved to another message, origin or conference fails.
func TestMerkleAuthTampering(t *testing.T) {
	kp, id := fuzzKey(7), ID{0, 1, 2}
	other := fuzzKey(8).Public()
	for _, n := range []int{2, 5, 64} {
		signed, auths, _ := testRun(t, kp, id, n)
		for i := range signed {
			if n == 64 && i != 0 && i != 31 && i != 63 {
				continue
			}
			a := auths[i]
			// every bit of count and index, one bit of every other byte
			flips := []int{}
			for bit := range len(a) * 8 {
				if bit < 16 || bit%8 == (bit/8)%8 {
					flips = append(flips, bit)
				}
			}
			for _, bit := range flips {
				b := bytes.Clone(a)
				b[bit/8] ^= 1 << (bit % 8)
				if verifyAuth(id, kp.Public(), signed[i], b) {
					t.Fatalf("run of %d, index %d: auth with bit %d flipped verifies", n, i, bit)
				}
			}
			for by := range len(signed[i]) {
				bit := by*8 + by%8
				s := bytes.Clone(signed[i])
				s[bit/8] ^= 1 << (bit % 8)
				if verifyAuth(id, kp.Public(), s, a) {
					t.Fatalf("run of %d, index %d: message with bit %d flipped verifies", n, i, bit)
				}
			}
			j := (i + 1) % n
			if verifyAuth(id, kp.Public(), signed[j], a) {
				t.Fatalf("run of %d: auth of %d verifies message %d", n, i, j)
			}
			if verifyAuth(id, other, signed[i], a) {
				t.Fatal("auth verifies under another origin")
			}
			if verifyAuth(ID{9}, kp.Public(), signed[i], a) {
				t.Fatal("auth verifies for another conference")
			}
			if verifyAuth(id, kp.Public(), signed[i], a[:len(a)-1]) || verifyAuth(id, kp.Public(), signed[i], append(bytes.Clone(a), 0)) {
				t.Fatal("truncated or extended auth verifies")
			}
		}
	}
}

// Malformed auth shapes are refused cleanly: count outside 2..64, index
// out of range, a path of the wrong length, a short signature.
func TestBatchAuthShapes(t *testing.T) {
	sig := make([]byte, sigSize)
	mk := func(count, index, hashes int) []byte {
		return append(append([]byte{byte(count), byte(index)}, make([]byte, 32*hashes)...), sig...)
	}
	bad := [][]byte{nil, {}, {2}, {2, 0}, mk(0, 0, 0), mk(1, 0, 0), mk(1, 0, 1), mk(65, 0, 7), mk(255, 0, 8),
		mk(2, 2, 1), mk(5, 5, 3), mk(2, 0, 0), mk(2, 0, 2), mk(5, 4, 3), mk(64, 63, 5), mk(64, 63, 7),
		mk(3, 0, 2)[:50]}
	for _, a := range bad {
		if _, ok := parseBatchAuth(a); ok {
			t.Fatalf("auth %x parses", a)
		}
		if verifyAuth(ID{}, fuzzKey(1).Public(), []byte("x"), a) {
			t.Fatalf("auth %x verifies", a)
		}
		m := (&MessagePacket{Group: 1, Sender: 2, Number: 3, Kind: KindMessage, Body: []byte("abcdef"), Auth: a}).Encode()
		// auth || body: a decoder may read another split, never a valid one
		if p, err := DecodeMessage(m); err == nil {
			if _, ok := parseBatchAuth(p.Auth); !ok || verifyAuth(ID{}, fuzzKey(1).Public(), []byte("x"), p.Auth) {
				t.Fatalf("message with auth %x decodes to auth %x", a, p.Auth)
			}
		} else if !errors.Is(err, ErrMalformed) {
			t.Fatalf("message with auth %x: err %v", a, err)
		}
		rec := Record{Number: 3, Kind: KindMessage, Body: []byte{0, 0, 0, 1, 'x'}, Signature: a}
		if _, err := decodeBatch(1, appendRecord(nil, rec)); len(a) != sigSize && !errors.Is(err, ErrMalformed) {
			t.Fatalf("record with auth %x: err %v", a, err)
		}
	}
	good := [][]byte{mk(2, 0, 1), mk(2, 1, 1), mk(3, 2, 1), mk(3, 0, 2), mk(5, 4, 1), mk(5, 3, 3), mk(64, 63, 6)}
	for _, a := range good {
		if _, ok := parseBatchAuth(a); !ok {
			t.Fatalf("auth %x does not parse", a)
		}
	}
}

// The cache only ever answers for exactly what verified: the same origin,
// count, root and signature bytes. A garbage signature next to a cached
// root, a cached root under another origin, or a changed count all go to
// a real check and fail.
func TestAuthCacheCannotBeForged(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e, _ := Create(Config{Self: fuzzKey(2), GroupNumber: 1}, now)
	kp := fuzzKey(7)
	var bodies [][]byte
	var signed [][]byte
	for i := range 8 {
		b := fmt.Appendf([]byte{0, 0, 0, 0}, "m%d", i)
		bodies = append(bodies, b)
		signed = append(signed, signedBytes(e.id, kp.Public(), uint32(i+1), KindMessage, b))
	}
	auths, _ := sealRun(kp, e.id, signed)
	if !e.verifyMessage(kp.Public(), 1, KindMessage, bodies[0], auths[0]) {
		t.Fatal("first message of the batch does not verify")
	}
	if len(e.auths.set) != 1 {
		t.Fatalf("cache holds %d roots, want 1", len(e.auths.set))
	}
	for i := 1; i < 8; i++ {
		if !e.verifyMessage(kp.Public(), uint32(i+1), KindMessage, bodies[i], auths[i]) {
			t.Fatalf("message %d of the batch does not verify", i)
		}
		garbage := bytes.Clone(auths[i])
		garbage[len(garbage)-1] ^= 0x40 // the signature, the root is still cached
		if e.verifyMessage(kp.Public(), uint32(i+1), KindMessage, bodies[i], garbage) {
			t.Fatalf("message %d with a bad signature next to a cached root verifies", i)
		}
		if e.verifyMessage(fuzzKey(9).Public(), uint32(i+1), KindMessage, bodies[i], auths[i]) {
			t.Fatal("a cached root verifies for another origin")
		}
		if e.verifyMessage(kp.Public(), uint32(i+1), KindMessage, append(bytes.Clone(bodies[i]), '!'), auths[i]) {
			t.Fatal("another body verifies with a cached root")
		}
	}
	if len(e.auths.set) != 1 {
		t.Fatalf("cache holds %d roots, want 1 (failures are never cached)", len(e.auths.set))
	}
	// bounded: many verified batches keep at most authCacheSize roots
	for r := range authCacheSize + 10 {
		var s [][]byte
		var bs [][]byte
		for i := range 2 {
			b := fmt.Appendf([]byte{0, 0, 0, 0}, "r%d-%d", r, i)
			bs = append(bs, b)
			s = append(s, signedBytes(e.id, kp.Public(), uint32(1000+i), KindMessage, b))
		}
		a, _ := sealRun(kp, e.id, s)
		if !e.verifyMessage(kp.Public(), 1000, KindMessage, bs[0], a[0]) {
			t.Fatal("batch does not verify")
		}
	}
	if len(e.auths.set) > authCacheSize {
		t.Fatalf("cache holds %d roots, bound %d", len(e.auths.set), authCacheSize)
	}
}

// onlineEngine is an engine with one online member connection (other).
func onlineEngine(t testing.TB) (*Engine, identity.PublicKey, time.Time) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e, err := Create(Config{Self: fuzzKey(2), GroupNumber: 1}, now)
	if err != nil {
		t.Fatal(err)
	}
	other := fuzzKey(1).Public()
	e.SessionUp(now, other)
	c := e.addConn(other, reasonIntroducing)
	c.online, c.remoteGroup = true, 7
	e.addPeer(other, 4, nil, true)
	e.Tick(now) // NAME, self announcement, ping
	e.Ready()
	e.Advance()
	return e, other, now
}

// A run of N sends between two Ready calls costs one signature per 64;
// every row and packet carries a verifying auth, the row's fingerprint
// matches its auth, and a single send keeps a plain 64-byte signature
// on a 0x63 packet.
func TestRunOfSendsSignsOnce(t *testing.T) {
	for _, n := range []int{1, 2, 10, 64, 100, 256} {
		e, _, now := onlineEngine(t)
		before := e.SignCount()
		for i := range n {
			if err := e.SendMessage(now, fmt.Sprintf("burst %d", i)); err != nil {
				t.Fatal(err)
			}
		}
		if e.SignCount() != before {
			t.Fatalf("run of %d: signed before Ready", n)
		}
		r := e.Ready()
		if got, want := e.SignCount()-before, (n+maxRunLeaves-1)/maxRunLeaves; got != want {
			t.Fatalf("run of %d: %d signatures, want %d", n, got, want)
		}
		rows := 0
		for _, row := range r.Rows {
			m, ok := row.(MessageRow)
			if !ok {
				continue
			}
			rows++
			rec := m.Record()
			if !rec.Verify(e.id) || m.Fingerprint != m.ComputeFingerprint(e.id) {
				t.Fatalf("run of %d: row %d: auth or fingerprint wrong", n, m.Number)
			}
			if (n == 1) != (len(m.Signature) == sigSize) {
				t.Fatalf("run of %d: row auth of %d bytes", n, len(m.Signature))
			}
		}
		pkts := 0
		for _, p := range r.Packets {
			w, err := DecodePacket(p.Data)
			if err != nil {
				t.Fatalf("run of %d: packet %x: %v", n, p.Data, err)
			}
			m := w.(*MessagePacket)
			pkts++
			if m.Group != 7 || !verifyAuth(e.id, e.self, signedBytes(e.id, e.self, m.Number, m.Kind, m.Body), m.Auth) {
				t.Fatalf("run of %d: packet %d does not verify", n, m.Number)
			}
			if (n == 1) != (p.Data[0] == PacketMessage) {
				t.Fatalf("run of %d: packet id %#x", n, p.Data[0])
			}
		}
		if rows != n || pkts != n {
			t.Fatalf("run of %d: %d rows, %d packets", n, rows, pkts)
		}
		bytes := 0
		for _, p := range r.Packets {
			bytes += len(p.Data)
		}
		if bytes != e.out.bytes {
			t.Fatalf("run of %d: outbox counts %d bytes, packets hold %d", n, e.out.bytes, bytes)
		}
		e.Advance()
		for i := range n {
			st := e.store.get(e.self, e.nextNumber-uint32(n-i))
			if st == nil || !st.rec.Verify(e.id) || st.hash != st.rec.Hash(e.id) {
				t.Fatalf("run of %d: stored record %d missing or unsealed", n, i)
			}
		}
	}
}

// Pings, titles and names in a run are sealed with it; an aborted run
// leaves nothing behind and the next Ready is sealed.
func TestRunMixedKindsAndAbort(t *testing.T) {
	e, _, now := onlineEngine(t)
	_ = e.SendMessage(now, "one")
	_ = e.SetTitle(now, "a title")
	_ = e.SendAction(now, "waves")
	e.Tick(now.Add(time.Hour)) // a ping
	_ = e.SetName(now, "new name")
	before := e.SignCount()
	r := e.Ready()
	if e.SignCount()-before != 1 {
		t.Fatalf("%d signatures for a mixed run, want 1", e.SignCount()-before)
	}
	for _, p := range r.Packets {
		w, err := DecodePacket(p.Data)
		if err != nil {
			t.Fatal(err)
		}
		if m, ok := w.(*MessagePacket); ok && !e.verifyMessage(e.self, m.Number, m.Kind, m.Body, m.Auth) {
			t.Fatalf("kind %#x does not verify", m.Kind)
		}
	}
	if rec, ok := e.title.record(); !ok || !rec.Verify(e.id) {
		t.Fatal("staged title record not sealed")
	}
	e.Abort()
	_ = e.SendMessage(now, "two")
	_ = e.SendMessage(now, "three")
	r = e.Ready()
	for _, p := range r.Packets {
		if w, err := DecodePacket(p.Data); err != nil {
			t.Fatal(err)
		} else if m, ok := w.(*MessagePacket); ok && !e.verifyMessage(e.self, m.Number, m.Kind, m.Body, m.Auth) {
			t.Fatal("packet after Abort does not verify")
		}
	}
	e.Advance()
}

// A relayed batch: the receiver checks one signature for the batch (the
// cache answers for the rest), stores the records with their auths and
// relays them byte for byte.
func TestBatchVerifiedOnceAtReceiver(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e, _ := Create(Config{Self: fuzzKey(2), GroupNumber: 1}, now)
	sender := fuzzKey(1)
	e.SessionUp(now, sender.Public())
	c := e.addConn(sender.Public(), reasonIntroducing)
	c.online, c.remoteGroup = true, 7
	e.addPeer(sender.Public(), 4, nil, true)
	var signed [][]byte
	var bodies [][]byte
	for i := range 20 {
		b := fmt.Appendf(putU32(nil, uint32(i)), "m%d", i)
		if i == 0 {
			b = fmt.Append(putU32(nil, 0), "m0")
		}
		bodies = append(bodies, b)
		signed = append(signed, signedBytes(e.id, sender.Public(), uint32(i+1), KindMessage, b))
	}
	auths, _ := sealRun(sender, e.id, signed)
	for i := range bodies {
		m := &MessagePacket{Group: 1, Sender: 4, Number: uint32(i + 1), Kind: KindMessage, Body: bodies[i], Auth: auths[i]}
		if err := e.HandlePacket(now, sender.Public(), m.Encode()); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if len(e.auths.set) != 1 {
		t.Fatalf("cache holds %d roots after one batch", len(e.auths.set))
	}
	if e.StoredCount() < 20 {
		t.Fatalf("stored %d", e.StoredCount())
	}
	for i := range bodies {
		st := e.store.get(sender.Public(), uint32(i+1))
		if st == nil || !bytes.Equal(st.rec.Signature, auths[i]) {
			t.Fatalf("record %d not stored with its auth", i)
		}
	}
	// a re-received copy is a duplicate, not a fork
	m := &MessagePacket{Group: 1, Sender: 4, Number: 3, Kind: KindMessage, Body: bodies[2], Auth: auths[2]}
	_ = e.HandlePacket(now, sender.Public(), m.Encode())
	if e.store.origin(sender.Public()).forked {
		t.Fatal("a duplicate was taken for a fork")
	}
}
