package netlayer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"

	"confchat/identity"
)

// MemNetwork is an in-memory Transport for tests: Listen registers a
// name, Dial connects to it with a synchronous pipe (net.Pipe), so nothing
// touches the operating system and tests can run inside testing/synctest.
// Share one MemNetwork between the endpoints of a test. Cut closes every
// live connection; SetRefuse makes dials fail. ListenRelayed and
// RelayTransport stand in for a relay (their connections report
// Relayed), and CutAddr, StallAddr and SetRefuseAddr act on the
// connections of one listener, so a test can break the direct path and
// keep the relayed one, or the reverse.
type MemNetwork struct {
	mu        sync.Mutex
	next      int
	listeners map[string]*memListener
	conns     map[*memConn]struct{}
	refuse    bool
	refused   map[string]bool // listener addresses that refuse (SetRefuseAddr)
	dials     int
}

// ErrMemRefused is what Dial returns for an address nobody listens on, or
// while SetRefuse is on.
var ErrMemRefused = errors.New("netlayer: memnet: connection refused")

// NewMemNetwork returns an empty network.
func NewMemNetwork() *MemNetwork {
	return &MemNetwork{listeners: map[string]*memListener{}, conns: map[*memConn]struct{}{}}
}

// Listen registers addr; "" or an address ending in ":0" gets a fresh name.
func (m *MemNetwork) Listen(addr string) (net.Listener, error) { return m.listen(addr, false) }

// ListenRelayed is Listen for a stand-in of a relay registration: both
// ends of every connection made to it report Relayed() true, so netlayer
// carries them on RouteRelay. Dial such an address directly or through
// RelayTransport.
func (m *MemNetwork) ListenRelayed(addr string) (net.Listener, error) { return m.listen(addr, true) }

// RelayTransport is a stand-in for a relay client: it dials relay
// candidates ("relay:KEY@name" or "KEY@name") by connecting to the
// listener called name (made with ListenRelayed). Its Listen is Listen.
func (m *MemNetwork) RelayTransport() Transport { return memRelay{m} }

type memRelay struct{ m *MemNetwork }

func (r memRelay) Dial(ctx context.Context, peer identity.PublicKey, addr string) (net.Conn, error) {
	_, name, ok := strings.Cut(addr, "@")
	if !ok {
		return nil, fmt.Errorf("memnet: %q is not a relay address", addr)
	}
	return r.m.Dial(ctx, peer, name)
}

func (r memRelay) Listen(addr string) (net.Listener, error) { return r.m.Listen(addr) }

func (m *MemNetwork) listen(addr string, relayed bool) (net.Listener, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if addr == "" || strings.HasSuffix(addr, ":0") {
		m.next++
		addr = "mem:" + strconv.Itoa(m.next)
	}
	if m.listeners[addr] != nil {
		return nil, fmt.Errorf("memnet: listen %s: address in use", addr)
	}
	l := &memListener{net: m, addr: memAddr(addr), relayed: relayed, conns: make(chan net.Conn), done: make(chan struct{})}
	m.listeners[addr] = l
	return l, nil
}

// Dial connects to the listener at addr until ctx ends.
func (m *MemNetwork) Dial(ctx context.Context, _ identity.PublicKey, addr string) (net.Conn, error) {
	m.mu.Lock()
	l := m.listeners[addr]
	refuse := m.refuse || m.refused[addr]
	m.dials++
	m.next++
	local := memAddr("mem-dialer:" + strconv.Itoa(m.next))
	m.mu.Unlock()
	if l == nil || refuse {
		return nil, fmt.Errorf("memnet: dial %s: %w", addr, ErrMemRefused)
	}
	a, b := net.Pipe()
	ca := m.track(&memConn{Conn: a, local: local, remote: l.addr, lis: l.addr, relayed: l.relayed})
	cb := m.track(&memConn{Conn: b, local: l.addr, remote: local, lis: l.addr, relayed: l.relayed})
	select {
	case l.conns <- cb:
		return ca, nil
	case <-l.done:
	case <-ctx.Done():
	}
	_ = ca.Close()
	_ = cb.Close()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("memnet: dial %s: %w", addr, ctx.Err())
	}
	return nil, fmt.Errorf("memnet: dial %s: %w", addr, ErrMemRefused)
}

// Cut closes every live connection, as a network failure would.
func (m *MemNetwork) Cut() { m.cutWhere("") }

// CutAddr closes the live connections made to the listener at addr.
func (m *MemNetwork) CutAddr(addr string) { m.cutWhere(addr) }

func (m *MemNetwork) cutWhere(addr string) {
	m.mu.Lock()
	conns := make([]*memConn, 0, len(m.conns))
	for c := range m.conns {
		if addr == "" || string(c.lis) == addr {
			conns = append(conns, c)
		}
	}
	m.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// StallAddr black-holes the live connections made to the listener at
// addr, as Stall does for all.
func (m *MemNetwork) StallAddr(addr string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for c := range m.conns {
		if string(c.lis) == addr {
			c.stallOnce.Do(func() { close(c.stalled) })
		}
	}
}

// SetRefuseAddr makes later dials of addr fail (true) or work (false).
func (m *MemNetwork) SetRefuseAddr(addr string, v bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.refused == nil {
		m.refused = map[string]bool{}
	}
	m.refused[addr] = v
}

// Stall black-holes every live connection: from now on their reads and
// writes block until the connection is closed, and nothing is closed (no
// FIN, no reset). New connections are not affected.
func (m *MemNetwork) Stall() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for c := range m.conns {
		c.stallOnce.Do(func() { close(c.stalled) })
	}
}

// Dials returns the number of Dial calls so far.
func (m *MemNetwork) Dials() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dials
}

// SetRefuse makes every later Dial fail (true) or work again (false).
func (m *MemNetwork) SetRefuse(v bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refuse = v
}

func (m *MemNetwork) track(c *memConn) *memConn {
	c.net = m
	c.closed = make(chan struct{})
	c.stalled = make(chan struct{})
	m.mu.Lock()
	defer m.mu.Unlock()
	m.conns[c] = struct{}{}
	return c
}

type memAddr string

func (a memAddr) Network() string { return "mem" }
func (a memAddr) String() string  { return string(a) }

// memConn is one end of a pipe with addresses.
type memConn struct {
	net.Conn
	net           *MemNetwork
	local, remote memAddr
	lis           memAddr // the listener the connection was made to
	relayed       bool
	once          sync.Once
	closed        chan struct{} // closed by Close
	stalled       chan struct{} // closed by Stall
	stallOnce     sync.Once
}

// hold blocks a stalled connection's I/O until it is closed.
func (c *memConn) hold() error {
	select {
	case <-c.stalled:
		<-c.closed
		return net.ErrClosed
	default:
		return nil
	}
}

func (c *memConn) Read(p []byte) (int, error) {
	if err := c.hold(); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *memConn) Write(p []byte) (int, error) {
	if err := c.hold(); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// Relayed reports whether the connection was made to a ListenRelayed
// listener.
func (c *memConn) Relayed() bool { return c.relayed }

func (c *memConn) LocalAddr() net.Addr  { return c.local }
func (c *memConn) RemoteAddr() net.Addr { return c.remote }

func (c *memConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		close(c.closed)
		c.net.mu.Lock()
		delete(c.net.conns, c)
		c.net.mu.Unlock()
	})
	return err
}

type memListener struct {
	net     *MemNetwork
	addr    memAddr
	relayed bool
	conns   chan net.Conn
	done    chan struct{}
	once    sync.Once
}

func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, fmt.Errorf("memnet: accept %s: %w", l.addr, net.ErrClosed)
	}
}

func (l *memListener) Close() error {
	l.once.Do(func() {
		close(l.done)
		l.net.mu.Lock()
		delete(l.net.listeners, string(l.addr))
		l.net.mu.Unlock()
	})
	return nil
}

func (l *memListener) Addr() net.Addr { return l.addr }
