package netlayer

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"confchat/identity"
)

func rawDial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// rawNoise runs the dialer's Noise handshake on conn and nothing more.
func rawNoise(t *testing.T, conn net.Conn, kp *identity.KeyPair, peer identity.PublicKey) *secureConn {
	t.Helper()
	x, err := peer.X25519()
	if err != nil {
		t.Fatal(err)
	}
	h := handshaker{key: kp, major: VersionMajor, timeout: 2 * time.Second}
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	sc, err := h.dialNoise(conn, peer, x)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// rejectedWith waits for an InboundRejected whose error matches.
func rejectedWith(t *testing.T, n *node, match func(error) bool) InboundRejected {
	t.Helper()
	var got InboundRejected
	waitFor(t, "inbound rejection", func() bool {
		ev, ok := n.rec.first(func(ev Event) bool { r, ok := ev.(InboundRejected); return ok && match(r.Err) })
		if ok {
			got = ev.(InboundRejected)
		}
		return ok
	})
	return got
}

func reasonIs(r Reason) func(error) bool {
	return func(err error) bool { return FatalReason(err) == r }
}

func errIs(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

// fatalEnd waits for s to close and checks its fatal reason, then checks
// that no retry follows: the listener sees no further connection.
func fatalEnd(t *testing.T, s *Session, want Reason, listener *node, match func(error) bool) {
	t.Helper()
	select {
	case <-s.Done():
	case <-time.After(waitLong):
		t.Fatal("session did not close")
	}
	if got := FatalReason(s.Err()); got != want {
		t.Fatalf("close reason %v (%v), want %v", got, s.Err(), want)
	}
	rejectedWith(t, listener, match)
	before := listener.rec.count(isRejected)
	time.Sleep(300 * time.Millisecond) // many backoff periods: a retry loop would show
	if after := listener.rec.count(isRejected); after != before || after > 1 {
		t.Fatalf("listener saw %d then %d rejected connections: the dialer retried", before, after)
	}
	stillServes(t, listener)
}

// stillServes checks that a fresh peer can still connect to n.
func stillServes(t *testing.T, n *node) {
	t.Helper()
	if n.ep.cfg.Accept != nil {
		return // this listener refuses everyone on purpose
	}
	c := newNode(t, newKey(t), func(c *Config) { c.Transport = n.ep.cfg.Transport })
	c.open(n)
	n.waitState(c, Connected)
}

// Anchor 21: the dialer names a key the listener does not have. The
// listener's empty answer cannot be authenticated, so the dialer reports
// ErrUnauthenticatedRefusal and retries with backoff instead of giving up
// (issue 9 defect 3); the listener keeps serving others.
func TestWrongListenerKey(t *testing.T) {
	leakCheck(t)
	inMem(t, wrongListenerKey)
}

func wrongListenerKey(t *testing.T, mn *MemNetwork) {
	a, b := newNode(t, newKey(t), onMem(mn)), newNode(t, newKey(t), onMem(mn))
	s, err := a.ep.Open(newKey(t).Public(), []string{b.addr()})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three refused dials", func() bool { return a.rec.count(refusedUnauthenticated) >= 3 })
	rejectedWith(t, b, errIs(ErrHandshake))
	select {
	case <-s.Done():
		t.Fatalf("session closed: %v", s.Err())
	default:
	}
	if n := a.rec.count(toState(BackingOff)); n < 2 {
		t.Fatalf("%d backoffs between refused dials", n)
	}
	stillServes(t, b)
}

// Anchor 18 and acceptance: an unknown major version is fatal on both sides.
func TestUnknownVersion(t *testing.T) {
	leakCheck(t)
	inMem(t, unknownVersion)
}

func unknownVersion(t *testing.T, mn *MemNetwork) {
	a, b := newNode(t, newKey(t), onMem(mn)), newNode(t, newKey(t), onMem(mn))
	a.ep.hs.major = VersionMajor + 1
	fatalEnd(t, a.open(b), ReasonVersion, b, reasonIs(ReasonVersion))
	if b.ep.Session(a.pub()) != nil {
		t.Fatal("listener kept a session for a peer of another version")
	}
}

// Anchors 18 and 22: a peer the listener refuses gets no session and no
// retry loop.
func TestRefusedPeer(t *testing.T) {
	leakCheck(t)
	inMem(t, refusedPeer)
}

func refusedPeer(t *testing.T, mn *MemNetwork) {
	a := newNode(t, newKey(t), onMem(mn))
	b := newNode(t, newKey(t), onMem(mn, func(c *Config) { c.Accept = func(identity.PublicKey) bool { return false } }))
	fatalEnd(t, a.open(b), ReasonRefused, b, reasonIs(ReasonRefused))
	if b.ep.Session(a.pub()) != nil {
		t.Fatal("refused peer got a session")
	}
	s, err := b.ep.Open(a.pub(), []string{a.addr()})
	if err != nil {
		t.Fatal(err)
	}
	<-s.Done()
	if FatalReason(s.Err()) != ReasonRefused {
		t.Fatalf("Open of a refused peer ended with %v", s.Err())
	}
}

// Anchor 18: a malformed HELLO after a valid Noise handshake is fatal.
func TestMalformedHello(t *testing.T) {
	leakCheck(t)
	b := newNode(t, newKey(t), nil)
	conn := rawDial(t, b.addr())
	sc := rawNoise(t, conn, newKey(t), b.pub())
	bad := encodeHello(hello{Resume: true, Ack: 1})
	bad[16] = 7 // undefined flags
	if err := sc.writeMsg(record{Type: recHello, Payload: bad}); err != nil {
		t.Fatal(err)
	}
	r, err := sc.readMsg(handshakeLimit)
	if err != nil || r.Type != recReject || len(r.Payload) != 1 || rejectCode(r.Payload[0]) != rejectMalformed {
		t.Fatalf("got %+v, %v; want REJECT malformed", r, err)
	}
	rejectedWith(t, b, reasonIs(ReasonProtocol))
	stillServes(t, b)
}

// Acceptance: a garbage first message gets a handshake error and an
// (unauthenticated) empty answer; the listener keeps serving.
func TestGarbageFirstMessage(t *testing.T) {
	leakCheck(t)
	a, b := newNode(t, newKey(t), nil), newNode(t, newKey(t), nil)
	conn := rawDial(t, b.addr())
	garbage := make([]byte, 120)
	for i := range garbage {
		garbage[i] = byte(i * 31)
	}
	if err := writeRecord(conn, garbage); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	var hdr [4]byte
	if _, err := conn.Read(hdr[:]); err != nil || binary.BigEndian.Uint32(hdr[:]) != 0 {
		t.Fatalf("want an empty record, got %x, %v", hdr, err)
	}
	rejectedWith(t, b, errIs(ErrHandshake))
	a.open(b)
	b.waitState(a, Connected)
}

// Anchor 27: an oversized length, in the handshake or after it, is
// refused before anything of that size is allocated.
func TestOversizedRecords(t *testing.T) {
	leakCheck(t)
	b := newNode(t, newKey(t), nil)
	t.Run("handshake", func(t *testing.T) {
		conn := rawDial(t, b.addr())
		if _, err := conn.Write([]byte{0xff, 0xff, 0xff, 0xff}); err != nil {
			t.Fatal(err)
		}
		rejectedWith(t, b, errIs(ErrFrameTooLarge))
		stillServes(t, b)
	})
	t.Run("transport", func(t *testing.T) {
		kp := newKey(t)
		conn := rawDial(t, b.addr())
		sc := rawNoise(t, conn, kp, b.pub())
		if err := sc.writeMsg(record{Type: recHello, Payload: encodeHello(hello{ID: newSessionID()})}); err != nil {
			t.Fatal(err)
		}
		if r, err := sc.readMsg(handshakeLimit); err != nil || r.Type != recWelcome {
			t.Fatalf("got %v, %v; want WELCOME", r.Type, err)
		}
		if _, err := conn.Write([]byte{0x7f, 0xff, 0xff, 0xff}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "connection dropped for an oversized frame", func() bool {
			_, ok := b.rec.first(func(ev Event) bool {
				c, ok := ev.(SessionStateChanged)
				return ok && c.Peer == kp.Public() && c.From == Connected && errors.Is(c.Reason, ErrFrameTooLarge)
			})
			return ok
		})
	})
	t.Run("no allocation", func(t *testing.T) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 100 {
			_, err := readRecord(&fixedReader{b: []byte{0x40, 0, 0, 0}}, nil, recordLimit(DefaultMaxFrameSize), tagSize+1)
			if !errors.Is(err, ErrFrameTooLarge) {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
			t.Fatalf("rejecting 100 1 GiB lengths allocated %d bytes", d)
		}
	})
}

type fixedReader struct{ b []byte }

func (r *fixedReader) Read(p []byte) (int, error) {
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// Anchor 26 and acceptance: a silent connection and one that trickles a
// byte a second are cut at the handshake deadline, hold no session, and
// do not stop another peer from connecting meanwhile.
//
// In-memory, in a synctest bubble: the seconds below are fake.
func TestSlowHandshakes(t *testing.T) {
	leakCheck(t)
	inMem(t, slowHandshakes)
}

func slowHandshakes(t *testing.T, mn *MemNetwork) {
	b := newNode(t, newKey(t), onMem(mn, func(c *Config) { c.HandshakeTimeout = 1500 * time.Millisecond }))
	silent := memDial(t, mn, b.addr())
	slow := memDial(t, mn, b.addr())
	slowDone := make(chan error, 1)
	go func() { // owner: ends when b cuts the connection, at most ~3 writes
		msg := make([]byte, 200)
		binary.BigEndian.PutUint32(msg, 196)
		for i := range msg {
			if _, err := slow.Write(msg[i : i+1]); err != nil {
				slowDone <- err
				return
			}
			time.Sleep(time.Second)
		}
		slowDone <- errors.New("slowloris finished its message")
	}()
	a := newNode(t, newKey(t), onMem(mn))
	a.open(b)
	b.waitState(a, Connected)
	waitFor(t, "both slow connections cut", func() bool {
		return b.rec.count(func(ev Event) bool {
			r, ok := ev.(InboundRejected)
			return ok && errors.Is(r.Err, os.ErrDeadlineExceeded)
		}) == 2
	})
	_ = silent.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := silent.Read(make([]byte, 1)); err == nil {
		t.Fatal("silent connection still open")
	}
	select {
	case <-slowDone:
	case <-time.After(5 * time.Second):
		t.Fatal("slowloris writer never saw its connection cut")
	}
	_ = slow.Close()
	if got := b.ep.sessionCount(); got != 1 {
		t.Fatalf("listener holds %d sessions, want 1", got)
	}
}

// Acceptance: at most MaxHalfOpen handshakes are held; a further
// connection displaces the oldest (defect 11: it is never refused).
func TestHalfOpenLimit(t *testing.T) {
	leakCheck(t)
	b := newNode(t, newKey(t), func(c *Config) {
		c.MaxHalfOpen = 2
		c.HandshakeTimeout = 5 * time.Second
	})
	first := rawDial(t, b.addr())
	waitFor(t, "one half-open handshake", func() bool { return b.ep.halfOpen.len() == 1 })
	rawDial(t, b.addr())
	waitFor(t, "two half-open handshakes", func() bool { return b.ep.halfOpen.len() == 2 })
	rawDial(t, b.addr())
	rejectedWith(t, b, errIs(ErrTooManyHandshakes))
	_ = first.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := first.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("oldest connection not closed: %v", err)
	}
	if n := b.ep.halfOpen.len(); n > 2 {
		t.Fatalf("%d half-open connections held, limit 2", n)
	}
	a := newNode(t, newKey(t), nil)
	a.open(b)
	b.waitState(a, Connected) // displaces an idle one at once
}
