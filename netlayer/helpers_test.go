package netlayer

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"confchat/identity"
)

// waitLong bounds every wait in these tests.
const waitLong = 10 * time.Second

// leakCheck registers a goroutine-leak check that runs after every other
// cleanup of t (cleanups run last-in first-out).
func leakCheck(t *testing.T) {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) })
}

func newKey(t testing.TB) *identity.KeyPair {
	t.Helper()
	kp, err := identity.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// keyPair returns two keys ordered so that lo.Public() < hi.Public().
func keyPair(t testing.TB) (lo, hi *identity.KeyPair) {
	a, b := newKey(t), newKey(t)
	if b.Public().Less(a.Public()) {
		a, b = b, a
	}
	return a, b
}

func testConfig(kp *identity.KeyPair) Config {
	cfg := Config{
		Key:               kp,
		ListenAddr:        "127.0.0.1:0",
		HeartbeatInterval: 100 * time.Millisecond,
		HeartbeatMisses:   3,
		HandshakeTimeout:  time.Second,
		CloseTimeout:      3 * time.Second,
		EventBuffer:       1 << 16,
		Backoff:           Backoff{Base: 10 * time.Millisecond, Max: 80 * time.Millisecond, Jitter: 0.5},
	}
	if os.Getenv("NETLAYER_DEBUG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return cfg
}

// node is an endpoint under test with an event recorder.
type node struct {
	t   testing.TB
	ep  *Endpoint
	key *identity.KeyPair
	rec *recorder
}

func newNode(t testing.TB, kp *identity.KeyPair, mutate func(*Config)) *node {
	t.Helper()
	cfg := testConfig(kp)
	if mutate != nil {
		mutate(&cfg)
	}
	ep, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ep.Listen(); err != nil {
		t.Fatal(err)
	}
	n := &node{t: t, ep: ep, key: kp, rec: newRecorder(ep.Events())}
	t.Cleanup(n.close)
	return n
}

// close ends the endpoint abruptly: graceful close has its own tests, and
// cleanup must not wait for close timeouts.
func (n *node) close() {
	n.ep.terminate()
	n.rec.wait()
	n.checkTransitions()
}

// checkTransitions fails the test if any session hit an illegal state
// transition or reported a transition that canGo does not allow.
func (n *node) checkTransitions() {
	for _, ev := range n.rec.all() {
		c, ok := ev.(SessionStateChanged)
		if !ok {
			continue
		}
		if errors.Is(c.Reason, errIllegalTransition) {
			n.t.Errorf("%s: %v", n.pub().Short(), c.Reason)
		}
		if c.From < Closing && c.To < Closing && !c.From.canGo(c.To) {
			n.t.Errorf("%s: reported %v -> %v", n.pub().Short(), c.From, c.To)
		}
	}
}

// crash stops the endpoint abruptly, as a killed process would.
func (n *node) crash() {
	n.ep.terminate()
	n.rec.wait()
}

func (n *node) addr() string            { return n.ep.Addr().String() }
func (n *node) pub() identity.PublicKey { return n.key.Public() }

func (n *node) open(peer *node, addrs ...string) *Session {
	n.t.Helper()
	if len(addrs) == 0 {
		addrs = []string{peer.addr()}
	}
	s, err := n.ep.Open(peer.pub(), addrs)
	if err != nil {
		n.t.Fatal(err)
	}
	return s
}

// waitState waits until the session with peer reports state st.
func (n *node) waitState(peer *node, st State) *Session {
	n.t.Helper()
	var s *Session
	waitFor(n.t, fmt.Sprintf("%s session with %s in %v", n.pub().Short(), peer.pub().Short(), st), func() bool {
		s = n.ep.Session(peer.pub())
		return s != nil && s.State() == st
	})
	return s
}

// waitFor polls cond every few milliseconds for at most waitLong.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// recorder drains an Events channel into a list.
type recorder struct {
	mu     sync.Mutex
	events []Event
	done   chan struct{}
}

func newRecorder(ch <-chan Event) *recorder {
	r := &recorder{done: make(chan struct{})}
	go func() { // owner: ends when the endpoint closes its channel
		defer close(r.done)
		for ev := range ch {
			r.mu.Lock()
			r.events = append(r.events, ev)
			r.mu.Unlock()
		}
	}()
	return r
}

func (r *recorder) wait() { <-r.done }

func (r *recorder) all() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// frames returns the data received from peer, in order.
func (r *recorder) frames(peer identity.PublicKey) [][]byte {
	var out [][]byte
	for _, ev := range r.all() {
		if f, ok := ev.(FrameReceived); ok && f.Peer == peer {
			out = append(out, f.Data)
		}
	}
	return out
}

func (r *recorder) count(pred func(Event) bool) int {
	n := 0
	for _, ev := range r.all() {
		if pred(ev) {
			n++
		}
	}
	return n
}

func (r *recorder) first(pred func(Event) bool) (Event, bool) {
	for _, ev := range r.all() {
		if pred(ev) {
			return ev, true
		}
	}
	return nil, false
}

func isReset(ev Event) bool { _, ok := ev.(SessionReset); return ok }

func isRejected(ev Event) bool { _, ok := ev.(InboundRejected); return ok }

func toState(st State) func(Event) bool {
	return func(ev Event) bool {
		c, ok := ev.(SessionStateChanged)
		return ok && c.To == st
	}
}

// numbered makes frame i of a stream: an 8-byte index and filler.
func numbered(i, size int) []byte {
	b := make([]byte, max(size, 8))
	binary.BigEndian.PutUint64(b, uint64(i))
	for j := 8; j < len(b); j++ {
		b[j] = byte(i + j)
	}
	return b
}

// checkStream verifies that got holds exactly frames 0..n-1 in order.
func checkStream(t testing.TB, got [][]byte, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("got %d frames, want %d", len(got), n)
	}
	for i, f := range got {
		if len(f) < 8 || binary.BigEndian.Uint64(f) != uint64(i) {
			t.Fatalf("frame %d out of order or corrupt (len %d)", i, len(f))
		}
		for j := 8; j < len(f); j++ {
			if f[j] != byte(i+j) {
				t.Fatalf("frame %d corrupt at byte %d", i, j)
			}
		}
	}
}

// sendN sends frames 0..n-1 of the given size.
func sendN(t testing.TB, s *Session, n, size int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	for i := range n {
		if err := s.Send(ctx, numbered(i, size)); err != nil {
			t.Errorf("send %d: %v", i, err)
			return
		}
	}
}

// sessionID reads s's id on its owner goroutine.
func sessionID(s *Session) (id SessionID) {
	s.onLoop(func() { id = s.id })
	return id
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(runPrintingMetrics{m}) }

// inMem runs fn in a testing/synctest bubble (fake time: sleeps and
// timeouts take no real time) with a fresh in-memory network; endpoints
// made with onMem use it.
func inMem(t *testing.T, fn func(t *testing.T, mn *MemNetwork)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) { fn(t, NewMemNetwork()) })
}

// onMem returns a Config mutator putting an endpoint on mn, then applying
// more.
func onMem(mn *MemNetwork, more ...func(*Config)) func(*Config) {
	return func(c *Config) {
		c.Transport = mn
		for _, m := range more {
			m(c)
		}
	}
}

// memDial opens a raw in-memory connection to addr.
func memDial(t *testing.T, mn *MemNetwork, addr string) net.Conn {
	t.Helper()
	c, err := mn.Dial(context.Background(), identity.PublicKey{}, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
