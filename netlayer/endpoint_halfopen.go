package netlayer

import (
	"net"
	"net/netip"
	"sync"
)

// halfOpenTable holds the inbound connections still in their handshake.
//
// Why this shape (issue 9 defect 11, slowloris): an idle TCP connection
// costs an attacker nothing, so a fixed number of slots that each
// connection holds until its handshake deadline is a lock-out waiting to
// happen. Three rules keep real dialers getting in:
//
//   - A short step deadline (Config.HandshakeStepTimeout): an honest
//     dialer sends Noise message 1 the moment TCP is up and its HELLO one
//     round trip after our reply, so each of those may keep the listener
//     waiting that long at most; the whole handshake stays under
//     Config.HandshakeTimeout.
//   - Per-source fairness: one source (an IPv4 address, an IPv6 /64, or
//     for other transports the remote address as it reports it) holds at
//     most Config.MaxHalfOpenPerSource slots. A source at its share that
//     connects again closes its own oldest half-open connection.
//   - Eviction instead of refusal: when all Config.MaxHalfOpen slots are
//     taken, the newcomer takes the slot of the oldest connection of the
//     source holding the most slots, preferring one that has not even
//     sent message 1. A new connection is never refused.
//
// An honest handshake needs two round trips, and its connection is the
// newest, so to push it out a flood must open a source's whole share
// (or, from many sources, the whole table) within those round trips; an
// idle or trickling socket is out within the step deadline regardless.
// The table is guarded by its mutex and touched only briefly.
type halfOpenTable struct {
	max, perSource int

	mu       sync.Mutex
	next     uint64
	conns    []*halfConn // ascending arrival
	bySource map[string]int
}

// halfConn is one entry; its fields are guarded by the table's mutex.
type halfConn struct {
	conn     net.Conn
	source   string
	arrival  uint64
	progress bool // message 1 arrived
	evicted  bool
}

func newHalfOpenTable(max, perSource int) *halfOpenTable {
	return &halfOpenTable{max: max, perSource: min(perSource, max), bySource: map[string]int{}}
}

// admit enters conn, returning its entry and the connection it displaced
// (nil if a slot was free). The caller closes the displaced connection.
func (t *halfOpenTable) admit(conn net.Conn) (*halfConn, *halfConn) {
	src := sourceOf(conn.RemoteAddr())
	t.mu.Lock()
	defer t.mu.Unlock()
	var victim *halfConn
	switch {
	case t.bySource[src] >= t.perSource:
		victim = t.oldestOf(src)
	case len(t.conns) >= t.max:
		victim = t.oldestOf(t.largestSource())
	}
	if victim != nil {
		victim.evicted = true
		t.remove(victim)
	}
	t.next++
	hc := &halfConn{conn: conn, source: src, arrival: t.next}
	t.conns = append(t.conns, hc)
	t.bySource[src]++
	return hc, victim
}

// progressed marks that hc's dialer sent message 1.
func (t *halfOpenTable) progressed(hc *halfConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	hc.progress = true
}

// release removes hc when its handshake ends; it reports whether hc had
// been evicted meanwhile.
func (t *halfOpenTable) release(hc *halfConn) (evicted bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if hc.evicted {
		return true
	}
	t.remove(hc)
	return false
}

// len is the number of half-open connections.
func (t *halfOpenTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.conns)
}

// oldestOf returns src's oldest entry that has not sent message 1, or
// else its oldest entry. Owner: caller holds mu.
func (t *halfOpenTable) oldestOf(src string) *halfConn {
	var first *halfConn
	for _, hc := range t.conns {
		if hc.source != src {
			continue
		}
		if !hc.progress {
			return hc
		}
		if first == nil {
			first = hc
		}
	}
	return first
}

// largestSource returns the source holding the most slots (the oldest
// such on a tie). Caller holds mu.
func (t *halfOpenTable) largestSource() string {
	best, n := "", 0
	for _, hc := range t.conns {
		if c := t.bySource[hc.source]; c > n {
			best, n = hc.source, c
		}
	}
	return best
}

// remove deletes hc from the table. Caller holds mu.
func (t *halfOpenTable) remove(hc *halfConn) {
	for i, c := range t.conns {
		if c == hc {
			t.conns = append(t.conns[:i], t.conns[i+1:]...)
			break
		}
	}
	if t.bySource[hc.source]--; t.bySource[hc.source] <= 0 {
		delete(t.bySource, hc.source)
	}
}

// sourceOf groups remote addresses: an IPv4 address, an IPv6 /64 (one
// host usually holds a whole /64), else the address as its transport
// reports it.
func sourceOf(a net.Addr) string {
	if a == nil {
		return ""
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return a.Network() + "/" + a.String()
	}
	ip := ap.Addr().Unmap()
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.Prefix(64) // cannot fail for an IPv6 address
	return p.String()
}
