package netlayer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"sync"
	"testing"
)

// tape records the bytes of the first proxied connection, per direction.
type tape struct {
	mu  sync.Mutex
	dir [2]bytes.Buffer
}

func (tp *tape) hook(pr *pair, dir int, _ int64, chunk []byte) []byte {
	if pr.n == 1 {
		tp.mu.Lock()
		tp.dir[dir].Write(chunk)
		tp.mu.Unlock()
	}
	return chunk
}

func (tp *tape) bytes(dir int) []byte {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return append([]byte(nil), tp.dir[dir].Bytes()...)
}

// firstRecord returns the first length-prefixed record of b, prefix included.
func firstRecord(t *testing.T, b []byte) []byte {
	t.Helper()
	if len(b) < 4 || len(b) < 4+int(binary.BigEndian.Uint32(b)) {
		t.Fatalf("tape holds no complete record (%d bytes)", len(b))
	}
	return b[:4+int(binary.BigEndian.Uint32(b))]
}

// recordedPair connects a to b through a recording proxy and exchanges a
// few frames.
func recordedPair(t *testing.T) (a, b *node, p *proxy, tp *tape) {
	a, b = newNode(t, newKey(t), nil), newNode(t, newKey(t), nil)
	p = newProxy(t, b.addr())
	tp = &tape{}
	p.setTamper(tp.hook)
	sa := a.open(b, p.addr())
	a.waitState(b, Connected)
	sendN(t, sa, 5, 100)
	waitFor(t, "frames", func() bool { return len(b.rec.frames(a.pub())) == 5 })
	return a, b, p, tp
}

// Anchor 23: replaying a captured message 1, or a whole captured dialer
// stream, creates, resumes or replaces nothing and ends in a timeout or a
// decryption failure.
func TestReplayedHandshake(t *testing.T) {
	leakCheck(t)
	a, b, _, tp := recordedPair(t)
	sb := b.ep.Session(a.pub())
	id := sessionID(sb)
	opened := b.rec.count(func(ev Event) bool { _, ok := ev.(SessionOpened); return ok })

	stream := tp.bytes(0)
	m1 := firstRecord(t, stream)
	c1 := rawDial(t, b.addr())
	if _, err := c1.Write(m1); err != nil {
		t.Fatal(err)
	}
	rejectedWith(t, b, errIs(os.ErrDeadlineExceeded))

	c2 := rawDial(t, b.addr())
	if _, err := c2.Write(stream); err != nil {
		t.Fatal(err)
	}
	rejectedWith(t, b, errIs(ErrDecrypt))

	if sb.State() != Connected || sessionID(sb) != id || b.rec.count(isReset) != 0 ||
		b.rec.count(func(ev Event) bool { _, ok := ev.(SessionOpened); return ok }) != opened {
		t.Fatal("a replayed handshake changed the listener's session")
	}
}

// Anchor 24: a captured listener reply replayed to a new dial never gives
// a confirmed connection; the failure is retriable.
func TestReplayedListenerReply(t *testing.T) {
	leakCheck(t)
	a, b, _, tp := recordedPair(t)
	m2 := firstRecord(t, tp.bytes(1))

	fake, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var attempts int
	var mu sync.Mutex
	wg.Go(func() {
		for {
			c, err := fake.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			attempts++
			mu.Unlock()
			_, _ = readRecord(c, nil, handshakeLimit, 1)
			_, _ = c.Write(m2)
			_ = c.Close()
		}
	})
	defer func() { _ = fake.Close(); wg.Wait() }()

	sa := a.ep.Session(b.pub())
	before := a.rec.count(toState(Connected))
	sa.SetAddrs([]string{fake.Addr().String()})
	b.crash() // drop the live connection so that a redials the fake
	waitFor(t, "several replayed replies", func() bool { mu.Lock(); defer mu.Unlock(); return attempts >= 3 })
	if a.rec.count(toState(Connected)) != before || sa.State() == Closed {
		t.Fatal("a replayed reply gave a connection, or ended the session")
	}
	ev, ok := a.rec.first(func(ev Event) bool {
		c, ok := ev.(SessionStateChanged)
		return ok && errors.Is(c.Reason, ErrHandshake)
	})
	if !ok || IsFatal(ev.(SessionStateChanged).Reason) {
		t.Fatalf("want a retriable handshake failure, got %+v", ev)
	}
}

// Anchors 10 and 25: flipping, inserting or deleting a byte of the
// transport stream, or injecting a record recorded on another connection,
// fails decryption and kills that connection only; the session resumes
// without loss.
func TestTamperedStream(t *testing.T) {
	cases := []struct {
		name   string
		mangle func(chunk []byte, at int, old []byte) []byte
	}{
		{"flip", func(c []byte, at int, _ []byte) []byte { c[at] ^= 0x20; return c }},
		{"insert", func(c []byte, at int, _ []byte) []byte { return append(c[:at:at], append([]byte{0x55}, c[at:]...)...) }},
		{"delete", func(c []byte, at int, _ []byte) []byte { return append(c[:at:at], c[at+1:]...) }},
		{"length", func(c []byte, at int, _ []byte) []byte { c[0] ^= 0x01; return c }},
		{"inject", func(c []byte, _ int, old []byte) []byte { return append(append([]byte(nil), old...), c...) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			leakCheck(t)
			a, b, p, tp := recordedPair(t)
			old := lastRecord(t, tp.bytes(0)) // a data record of connection 1
			sa := a.ep.Session(b.pub())
			var once sync.Once
			p.setTamper(func(pr *pair, dir int, off int64, chunk []byte) []byte {
				if dir != 0 || pr.n != 2 || off < 400 || len(chunk) < 8 {
					return chunk
				}
				out := chunk
				once.Do(func() { out = tc.mangle(chunk, len(chunk)/2, old) })
				return out
			})
			p.cut() // connection 2 carries the tampering
			go sendN(t, sa, 400, 100)
			waitFor(t, "tampering applied and healed", func() bool {
				return len(b.rec.frames(a.pub())) == 405 && p.acceptedCount() >= 3
			})
			got := b.rec.frames(a.pub())
			checkStream(t, got[:5], 5)
			checkStream(t, got[5:], 400)
			// Counted where the record failed: the session's report of it
			// can be overtaken by the dialer's redial replacing the link.
			if b.ep.badRecords.Load() == 0 {
				var reasons []error
				for _, ev := range b.rec.all() {
					if c, ok := ev.(SessionStateChanged); ok && c.Reason != nil {
						reasons = append(reasons, c.Reason)
					}
				}
				t.Fatalf("listener never saw the tampered record fail: %v", reasons)
			}
		})
	}
}

// lastRecord returns the last complete record of a recorded stream.
func lastRecord(t *testing.T, b []byte) []byte {
	t.Helper()
	var last []byte
	for len(b) >= 4 && len(b) >= 4+int(binary.BigEndian.Uint32(b)) {
		last = firstRecord(t, b)
		b = b[len(last):]
	}
	if last == nil {
		t.Fatal("no complete record recorded")
	}
	return last
}
