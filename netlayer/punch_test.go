package netlayer

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

func acceptIn(t *testing.T, ln net.Listener) <-chan net.Conn {
	t.Helper()
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(ch)
			return
		}
		ch <- c
	}()
	return ch
}

func recvConn(t *testing.T, ch <-chan net.Conn) net.Conn {
	t.Helper()
	select {
	case c, ok := <-ch:
		if !ok {
			t.Fatal("accept failed")
		}
		t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no connection accepted within 10 s")
	}
	return nil
}

// A connection dialed from a ReusePortTransport's listening port leaves
// from that port (what a relay observes, what a punch needs), while the
// listener keeps accepting.
func TestReusePortDialFromListeningPort(t *testing.T) {
	ln, err := ReusePortTransport{}.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	local := ln.Addr().(*net.TCPAddr)
	far, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer far.Close()

	got := acceptIn(t, far)
	c, err := ReusePortDialer{Local: local}.DialContext(context.Background(), "tcp", far.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	in := recvConn(t, got)
	if in.RemoteAddr().String() != local.String() {
		t.Fatalf("far side sees %v, want the listening address %v", in.RemoteAddr(), local)
	}

	// The listener still accepts.
	acc := acceptIn(t, ln)
	c2, err := net.Dial("tcp", local.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	recvConn(t, acc)

	// A second connection to the same address cannot use the same
	// 4-tuple: Strict fails, the default falls back to an ephemeral port.
	if c3, err := (ReusePortDialer{Local: local, Strict: true}).DialContext(context.Background(), "tcp", far.Addr().String()); err == nil {
		c3.Close()
		t.Fatal("a strict second dial of the same 4-tuple succeeded")
	}
	got = acceptIn(t, far)
	c4, err := ReusePortDialer{Local: local}.DialContext(context.Background(), "tcp", far.Addr().String())
	if err != nil {
		t.Fatalf("fallback dial: %v", err)
	}
	defer c4.Close()
	if in := recvConn(t, got); in.RemoteAddr().String() == local.String() {
		t.Fatal("fallback dial reused the taken 4-tuple")
	}
}

// SimultaneousOpen retries until the far side can take the connection,
// and the connection it returns carries bytes both ways.
func TestSimultaneousOpenRetries(t *testing.T) {
	a, err := ReusePortTransport{}.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	// b's port: free now, listening only after a while.
	tmp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bAddr := tmp.Addr().String()
	tmp.Close()
	ready := make(chan net.Listener, 1)
	go func() {
		time.Sleep(100 * time.Millisecond)
		ln, err := ListenReusePort(context.Background(), bAddr)
		if err != nil {
			close(ready)
			return
		}
		ready <- ln
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := SimultaneousOpen(ctx, a.Addr().(*net.TCPAddr), bAddr, 100, 100*time.Millisecond)
	b, ok := <-ready
	if !ok {
		t.Fatal("b could not listen")
	}
	defer b.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	in := recvConn(t, acceptIn(t, b))
	if in.RemoteAddr().String() != a.Addr().String() {
		t.Fatalf("b sees %v, want a's listening address %v", in.RemoteAddr(), a.Addr())
	}
	go c.Write([]byte("punch"))
	buf := make([]byte, 5)
	in.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(in, buf); err != nil || string(buf) != "punch" {
		t.Fatalf("read %q %v", buf, err)
	}
	// Attempts run out against a port nobody listens on.
	if _, err := SimultaneousOpen(ctx, a.Addr().(*net.TCPAddr), "127.0.0.1:1", 2, 50*time.Millisecond); err == nil {
		t.Fatal("simultaneous open to a closed port succeeded")
	}
}

// ProbeNow starts the migration probe at once rather than at the next
// backoff step (hole punching calls it when its connection is ready), and
// refuses when the session is not on a relay.
func TestProbeNow(t *testing.T) {
	inMem(t, func(t *testing.T, mn *MemNetwork) {
		slow := func(c *Config) { c.MigrateBackoff = Backoff{Base: time.Hour, Max: time.Hour, Jitter: -1} }
		a, b := newRelayNode(t, mn, slow), newRelayNode(t, mn, slow)
		mn.SetRefuseAddr(b.addr(), true)
		sa := a.open(b.node, b.addr(), b.relayCand())
		waitRoute(t, a.node, b.node, RouteRelay)
		waitRoute(t, b.node, a.node, RouteRelay)
		mn.SetRefuseAddr(b.addr(), false)
		start := time.Now()
		if !sa.ProbeNow() {
			t.Fatal("ProbeNow on a relayed session with a direct candidate started nothing")
		}
		waitRoute(t, a.node, b.node, RouteDirect)
		if d := time.Since(start); d > time.Minute {
			t.Fatalf("direct after %v: the probe waited for its backoff (1 h)", d)
		}
		if sa.ProbeNow() {
			t.Fatal("ProbeNow started a probe on a direct session")
		}
	})
}

// A port another listener holds is refused, even though the listener
// shares its port with SO_REUSEPORT: two processes on one port would
// split our peers' connections between them.
func TestListenReusePortRefusesAPortInUse(t *testing.T) {
	a, err := ReusePortTransport{}.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := ReusePortTransport{}.Listen(a.Addr().String())
	if err == nil {
		b.Close()
		t.Fatalf("a second listener on %v was allowed", a.Addr())
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second listen: %v, want address already in use", err)
	}
	// Once the port is free again it can be taken (port 0 picks one too).
	addr := a.Addr().String()
	a.Close()
	c, err := ReusePortTransport{}.Listen(addr)
	if err != nil {
		t.Fatalf("listen on the freed port: %v", err)
	}
	c.Close()
}
