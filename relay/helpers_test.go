package relay

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net"
	"testing"
	"time"

	"confchat/identity"
)

// testTimeout bounds every wait in these tests; nothing passes or fails
// on timing below it.
const testTimeout = 20 * time.Second

func newKey(t testing.TB) *identity.KeyPair {
	t.Helper()
	kp, err := identity.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// testRelay is a relay on a loopback port, closed at the end of the test.
type testRelay struct {
	srv  *Server
	addr Addr
	done chan error
}

func startRelay(t testing.TB, cfg Config) *testRelay {
	t.Helper()
	if cfg.Key == nil {
		cfg.Key = newKey(t)
	}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &testRelay{srv: srv, addr: Addr{Key: srv.Key(), HostPort: ln.Addr().String()}, done: make(chan error, 1)}
	go func() { r.done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		<-r.done
	})
	return r
}

func newClient(t testing.TB, kp *identity.KeyPair, cfg ClientConfig) *Client {
	t.Helper()
	cfg.Key = kp
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// register starts a registration and waits for it.
func register(t testing.TB, c *Client, a Addr) *Listener {
	t.Helper()
	l := c.Register(a)
	t.Cleanup(func() { l.Close() })
	if err := l.WaitRegistered(ctxT(t)); err != nil {
		t.Fatalf("registration: %v", err)
	}
	return l
}

// acceptOne accepts one connection within the test timeout.
func acceptOne(t testing.TB, l *Listener) net.Conn {
	t.Helper()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := l.Accept()
		ch <- res{c, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("accept: %v", r.err)
		}
		return r.c
	case <-time.After(testTimeout):
		l.Close()
		t.Fatal("accept: timed out")
	}
	return nil
}

// exchange sends msg each way over the pair and checks it arrives.
func exchange(t testing.TB, a, b net.Conn, msg []byte) {
	t.Helper()
	for _, dir := range [][2]net.Conn{{a, b}, {b, a}} {
		_ = dir[1].SetReadDeadline(time.Now().Add(testTimeout))
		errc := make(chan error, 1)
		go func() {
			_, err := dir[0].Write(msg)
			errc <- err
		}()
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(dir[1], got); err != nil {
			t.Fatalf("read: %v", err)
		}
		if err := <-errc; err != nil {
			t.Fatalf("write: %v", err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("got %q, want %q", got, msg)
		}
	}
}

// waitFor polls cond until it holds or the test timeout passes. It is
// for state another goroutine settles (counters), never for timing.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// expectClosed checks that the relay closes conn (EOF or reset) without
// the test advancing anything.
func expectClosed(t testing.TB, conn net.Conn) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(testTimeout))
	buf := make([]byte, 4096)
	for {
		_, err := conn.Read(buf)
		if err == nil {
			continue
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("connection still open")
		}
		return
	}
}
