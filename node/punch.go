package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"confchat/identity"
	"confchat/netlayer"
)

// Hole punching (issue 13; docs/protocol.md part 6, "Hole punching").
// While a friend's session runs through a relay, the side with the lower
// key (the "initiator") coordinates a TCP simultaneous open over that
// session, DCUtR-style:
//
//  1. initiator: CONNECT{nonce, its observed addresses}, noting the time;
//  2. the other side: REPLY{nonce, its observed addresses};
//  3. initiator: SYNC{nonce}, then waits half the round trip it measured
//     from CONNECT to REPLY; the other side dials when SYNC arrives;
//  4. both dial each other's first observed address from their listening
//     port (SO_REUSEPORT) at about the same moment, so each NAT has seen
//     an outgoing SYN before the peer's SYN arrives.
//
// The TCP connection that results carries a migration probe: the
// initiator's netlayer dials it (the node's transport hands the punched
// connection out for its address, see punchTable) with the migrate HELLO,
// the other side's endpoint accepts it (punchListener) as an inbound
// connection, and the session moves over without a gap (netlayer's MARK
// cut-over). On failure the session stays on the relay and the initiator
// tries again with capped backoff; friend.list says why ("via": "relay",
// "direct_failed": reason).
//
// One goroutine (runPunch) owns the per-peer state; the loop hands it
// punch frames through a bounded channel and answers its questions with
// n.do. Only confirmed friends are punched (a stranger could otherwise
// make us send SYNs to any address), at most one attempt per peer at a
// time, and the state is bounded by the sessions the endpoint holds.

// packetPunch is the first byte of a hole-punching frame.
const packetPunch byte = 0x18

// Punch frame kinds.
const (
	punchConnect byte = 1
	punchReply   byte = 2
	punchSync    byte = 3
)

const (
	maxPunchAddrs = 4
	punchTick     = 200 * time.Millisecond
	// punchTimeout bounds each wait of the exchange (REPLY, SYNC) and the
	// handshake on a punched connection.
	punchTimeout = 10 * time.Second
	// Two connect attempts of 4 s: the kernel resends the SYN within, so
	// each side's socket stays in SYN_SENT while the other's SYN arrives.
	punchAttempts       = 2
	punchAttemptTimeout = 4 * time.Second
	punchBackoffMin     = 5 * time.Second
	punchBackoffMax     = 5 * time.Minute
	punchInbox          = 64
	punchParkTTL        = 10 * time.Second
	// maxPunchPeers bounds the punch state (the tick sweeps peers without
	// a session).
	maxPunchPeers = 1024
)

// Via values in friend.list.
const (
	ViaRelay     = "relay"
	ViaHolePunch = "hole punch"
	ViaMapping   = "mapping"
	ViaDirect    = "direct"
)

// punchMsg is one decoded punch frame.
type punchMsg struct {
	Kind  byte
	Nonce uint64
	Addrs []netip.AddrPort
}

func encodePunch(m punchMsg) []byte {
	b := make([]byte, 0, 11+len(m.Addrs)*18)
	b = append(b, packetPunch, m.Kind)
	b = binary.BigEndian.AppendUint64(b, m.Nonce)
	if m.Kind == punchSync {
		return b
	}
	b = append(b, byte(len(m.Addrs)))
	for _, a := range m.Addrs {
		ip := a.Addr().As16()
		b = binary.BigEndian.AppendUint16(append(b, ip[:]...), a.Port())
	}
	return b
}

var errPunchMalformed = errors.New("malformed punch frame")

// decodePunch parses a punch frame exactly; it never panics.
func decodePunch(b []byte) (punchMsg, error) {
	if len(b) < 10 || b[0] != packetPunch {
		return punchMsg{}, errPunchMalformed
	}
	m := punchMsg{Kind: b[1], Nonce: binary.BigEndian.Uint64(b[2:10])}
	switch m.Kind {
	case punchSync:
		if len(b) != 10 {
			return punchMsg{}, errPunchMalformed
		}
		return m, nil
	case punchConnect, punchReply:
	default:
		return punchMsg{}, errPunchMalformed
	}
	if len(b) < 11 {
		return punchMsg{}, errPunchMalformed
	}
	n := int(b[10])
	if n > maxPunchAddrs || len(b) != 11+n*18 {
		return punchMsg{}, errPunchMalformed
	}
	for i := range n {
		p := b[11+i*18:]
		ap := netip.AddrPortFrom(netip.AddrFrom16([16]byte(p[:16])).Unmap(), binary.BigEndian.Uint16(p[16:18]))
		m.Addrs = append(m.Addrs, ap)
	}
	return m, nil
}

// punchIn is a punch frame from a peer, handed from the loop.
type punchIn struct {
	from identity.PublicKey
	msg  punchMsg
	at   time.Time
}

// punchDial is the outcome of one simultaneous open.
type punchDial struct {
	peer   identity.PublicKey
	nonce  uint64
	remote netip.AddrPort
	conn   net.Conn
	err    error
}

// punchPhase is where a peer's punch stands.
type punchPhase int

const (
	punchIdle       punchPhase = iota
	punchWaitReply             // initiator: CONNECT sent
	punchWaitSync              // other side: REPLY sent
	punchDialing               // both: the simultaneous open runs
	punchWaitDirect            // both: the punched connection carries a probe
)

type punchPeer struct {
	phase     punchPhase
	nonce     uint64
	sentAt    time.Time // CONNECT sent (initiator)
	deadline  time.Time
	remote    []netip.AddrPort
	fails     int
	next      time.Time // the initiator's next attempt
	relayedAt time.Time // when we first saw the session on the relay
	dialedAt  time.Time // when the last simultaneous open started
	seen      bool      // still a session (swept each tick)
}

// viaState is what friend.list shows of a peer's path beyond the route.
type viaState struct {
	punched bool   // the direct path came from a hole punch
	failed  string // why the last direct attempt failed ("" when none)
}

// puncher is the state shared with other goroutines, guarded by mu.
type puncher struct {
	in    chan punchIn
	table *punchTable
	ln    *punchListener

	mu  sync.Mutex
	via map[identity.PublicKey]viaState
}

func newPuncher() *puncher {
	return &puncher{in: make(chan punchIn, punchInbox), table: newPunchTable(), ln: newPunchListener(),
		via: map[identity.PublicKey]viaState{}}
}

func (p *puncher) setVia(k identity.PublicKey, v viaState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.via[k] = v
}

func (p *puncher) viaOf(k identity.PublicKey) viaState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.via[k]
}

func (p *puncher) forget(k identity.PublicKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.via, k)
}

// handlePunchFrame is called by the loop for a punch frame: it goes to
// the punch goroutine, or is dropped when that one is behind.
func (n *Node) handlePunchFrame(now time.Time, from identity.PublicKey, data []byte) {
	m, err := decodePunch(data)
	if err != nil {
		n.log.Debug("punch frame dropped", "peer", from.Short(), "err", err)
		return
	}
	if f, ok := n.book.Friend(from); !ok || !f.Confirmed {
		return
	}
	select {
	case n.punch.in <- punchIn{from: from, msg: m, at: now}:
	default:
	}
}

// viaOf returns friend.list's via and direct_failed for a session on
// route. Loop only.
func (n *Node) viaOf(key identity.PublicKey, route netlayer.Route) (via, failed string) {
	v := n.punch.viaOf(key)
	switch route {
	case netlayer.RouteRelay:
		return ViaRelay, v.failed
	case netlayer.RouteDirect:
		switch {
		case v.punched:
			return ViaHolePunch, ""
		case n.viaMapping(key):
			return ViaMapping, ""
		}
		return ViaDirect, ""
	}
	return "", v.failed
}

// viaMapping reports whether a direct session with key runs through a
// port mapping: ours (the router maps our port and the peer came in from
// outside our network) or the peer's (we dialed an address the peer's
// router mapped, which its hello tells by listing it; we cannot tell a
// mapping from any public address, so a direct session to a peer's
// public address that is not its listening address counts).
func (n *Node) viaMapping(key identity.PublicKey) bool {
	s, ok := n.sessions[key]
	if !ok {
		return false
	}
	remote, err := netip.ParseAddrPort(s.remote)
	if err != nil {
		return false
	}
	if m, ok := n.nat.Mapped(); ok && publicAddr(remote.Addr()) && remote != m.External {
		return true
	}
	if f, ok := n.book.Friend(key); ok && len(f.Addresses) > 1 {
		for _, a := range f.Addresses[1:] {
			if a == remote.String() && publicAddr(remote.Addr()) {
				return true
			}
		}
	}
	return false
}

// startPunch starts the punch goroutine and the listener that hands
// punched connections to the endpoint. Not with Config.NoHolePunch.
func (n *Node) startPunch() {
	if n.cfg.NoHolePunch {
		return
	}
	n.wg.Go(func() {
		if err := n.ep.Serve(n.punch.ln); err != nil && n.ctx.Err() == nil {
			n.log.Debug("punch listener ended", "err", err)
		}
	})
	n.wg.Go(func() {
		<-n.ctx.Done()
		n.punch.ln.Close()
		n.punch.table.closeAll()
	})
	n.wg.Go(n.runPunch)
}

// runPunch owns the punch state until the node stops.
func (n *Node) runPunch() {
	peers := map[identity.PublicKey]*punchPeer{}
	results := make(chan punchDial, 16)
	var friends map[identity.PublicKey]bool
	var friendsAt time.Time
	t := n.clock.NewTimer(punchTick)
	defer t.Stop()
	self := n.key.Public()
	for {
		select {
		case <-n.ctx.Done():
			return
		case in := <-n.punch.in:
			p := peers[in.from]
			if p == nil && len(peers) < maxPunchPeers { // a friend's frame before our tick saw its session
				p = &punchPeer{seen: true}
				peers[in.from] = p
			}
			if p != nil {
				if friends != nil {
					friends[in.from] = true // the loop checked: a confirmed friend
				}
				n.punchFrame(in, p, results)
			}
		case r := <-results:
			if p := peers[r.peer]; p != nil {
				n.punchDialed(r, p)
			} else if r.conn != nil {
				r.conn.Close()
			}
		case <-t.C():
			t.Reset(punchTick)
			now := n.clock.Now()
			if friends == nil || now.Sub(friendsAt) >= time.Second {
				friends = n.confirmedFriends()
				friendsAt = now
			}
			for _, p := range peers {
				p.seen = false
			}
			for _, s := range n.ep.Sessions() {
				k := s.Peer()
				if !friends[k] {
					continue
				}
				p := peers[k]
				if p == nil {
					p = &punchPeer{}
					peers[k] = p
				}
				p.seen = true
				n.punchStep(now, self, s, p)
			}
			for k, p := range peers {
				if !p.seen && (p.phase == punchIdle || now.After(p.deadline)) {
					delete(peers, k)
					n.punch.forget(k)
				}
			}
			n.punch.table.expire(now)
		}
	}
}

// confirmedFriends asks the loop for the keys of our confirmed friends.
func (n *Node) confirmedFriends() map[identity.PublicKey]bool {
	out := map[identity.PublicKey]bool{}
	_ = n.do(n.ctx, func(time.Time) error {
		for _, f := range n.book.Friends() {
			if f.Confirmed {
				out[f.Key] = true
			}
		}
		return nil
	})
	return out
}

// punchStep advances one peer's punch on a tick.
func (n *Node) punchStep(now time.Time, self identity.PublicKey, s *netlayer.Session, p *punchPeer) {
	st := s.RouteStatus()
	k := s.Peer()
	switch st.Route {
	case netlayer.RouteDirect:
		// The punched connection may also have reached the peer's
		// listener (its own attempt then ends in an error): a direct path
		// that comes up during or right after an attempt is the punch's.
		if p.phase == punchWaitDirect || p.phase == punchDialing ||
			(!p.dialedAt.IsZero() && now.Sub(p.dialedAt) < 2*punchTimeout) {
			n.log.Info("hole punch: session moved to the direct path", "peer", k.Short(),
				"after_relayed", now.Sub(p.relayedAt).Round(time.Millisecond))
			n.punch.setVia(k, viaState{punched: true})
			p.phase, p.fails, p.dialedAt = punchIdle, 0, time.Time{}
		}
		p.relayedAt = time.Time{}
		return
	case netlayer.RouteRelay:
		if p.relayedAt.IsZero() {
			p.relayedAt = now
			if v := n.punch.viaOf(k); v.punched {
				n.punch.setVia(k, viaState{}) // back on the relay: the punch no longer holds
			}
		}
	default:
		if p.phase != punchIdle {
			p.phase = punchIdle
		}
		p.relayedAt = time.Time{}
		return
	}
	if p.phase != punchIdle {
		if now.After(p.deadline) {
			reason := "the peer did not answer"
			switch p.phase {
			case punchDialing:
				reason = "simultaneous open timed out"
			case punchWaitDirect:
				reason = "the punched connection did not carry the session"
				if st.Switch.Phase == netlayer.SwitchFailed {
					reason = st.Switch.Reason
				}
			}
			n.punchFailed(now, k, p, reason)
		}
		return
	}
	// Idle on the relay: the initiator (the lower key) starts an attempt.
	if bytes.Compare(self[:], k[:]) >= 0 || now.Before(p.next) {
		return
	}
	obs := n.nat.Observed()
	if !obs.IsValid() {
		n.punchFailed(now, k, p, "no observed public address (no relay told us one)")
		return
	}
	p.nonce = randUint64()
	p.sentAt = now
	p.phase, p.deadline = punchWaitReply, now.Add(punchTimeout)
	n.sendPunch(k, punchMsg{Kind: punchConnect, Nonce: p.nonce, Addrs: []netip.AddrPort{obs}})
}

// punchFrame handles a frame from the peer.
func (n *Node) punchFrame(in punchIn, p *punchPeer, results chan<- punchDial) {
	now := n.clock.Now()
	m := in.msg
	self := n.key.Public()
	initiator := bytes.Compare(self[:], in.from[:]) < 0
	switch m.Kind {
	case punchConnect:
		if initiator || p.phase == punchDialing || p.phase == punchWaitDirect {
			return // the peer is not the one to start; or we are busy
		}
		obs := n.nat.Observed()
		var mine []netip.AddrPort
		if obs.IsValid() {
			mine = []netip.AddrPort{obs}
		}
		n.sendPunch(in.from, punchMsg{Kind: punchReply, Nonce: m.Nonce, Addrs: mine})
		p.nonce, p.remote = m.Nonce, publicOnly(m.Addrs)
		if len(mine) == 0 || len(p.remote) == 0 {
			n.punchFailed(now, in.from, p, "no public address to punch")
			return
		}
		p.phase, p.deadline = punchWaitSync, now.Add(punchTimeout)
	case punchReply:
		if !initiator || p.phase != punchWaitReply || m.Nonce != p.nonce {
			return
		}
		p.remote = publicOnly(m.Addrs)
		if len(p.remote) == 0 {
			n.punchFailed(now, in.from, p, "the peer has no observed public address")
			return
		}
		rtt := now.Sub(p.sentAt)
		n.sendPunch(in.from, punchMsg{Kind: punchSync, Nonce: p.nonce})
		n.punchDial(in.from, p, rtt/2, results)
	case punchSync:
		if initiator || p.phase != punchWaitSync || m.Nonce != p.nonce {
			return
		}
		n.punchDial(in.from, p, 0, results)
	}
}

// punchDial starts the simultaneous open after wait.
func (n *Node) punchDial(peer identity.PublicKey, p *punchPeer, wait time.Duration, results chan<- punchDial) {
	local := n.listenAddr.Load()
	if local == nil {
		n.punchFailed(n.clock.Now(), peer, p, "not listening")
		return
	}
	remote, nonce := p.remote[0], p.nonce
	p.phase, p.dialedAt = punchDialing, n.clock.Now()
	p.deadline = n.clock.Now().Add(wait + punchAttempts*punchAttemptTimeout + punchTimeout)
	n.wg.Go(func() {
		if wait > 0 {
			t := n.clock.NewTimer(wait)
			select {
			case <-t.C():
			case <-n.ctx.Done():
				t.Stop()
				return
			}
		}
		c, err := netlayer.SimultaneousOpen(n.ctx, local, remote.String(), punchAttempts, punchAttemptTimeout)
		select {
		case results <- punchDial{peer: peer, nonce: nonce, remote: remote, conn: c, err: err}:
		case <-n.ctx.Done():
			if c != nil {
				c.Close()
			}
		}
	})
}

// punchDialed takes a simultaneous open's outcome.
func (n *Node) punchDialed(r punchDial, p *punchPeer) {
	now := n.clock.Now()
	if p.phase != punchDialing || r.nonce != p.nonce {
		if r.conn != nil {
			r.conn.Close()
		}
		return
	}
	if r.err != nil {
		n.punchFailed(now, r.peer, p, "simultaneous open: "+shortErr(r.err))
		return
	}
	n.log.Debug("hole punch: connected", "peer", r.peer.Short(), "remote", r.remote)
	p.phase, p.deadline = punchWaitDirect, now.Add(punchTimeout)
	self := n.key.Public()
	if bytes.Compare(self[:], r.peer[:]) >= 0 {
		// The higher key answers the Noise handshake: the endpoint
		// accepts the connection as if it had come to our listener.
		if !n.punch.ln.deliver(r.conn) {
			r.conn.Close()
			n.punchFailed(now, r.peer, p, "punch listener full")
		}
		return
	}
	// The lower key dials: the probe takes the connection for its address.
	addr := r.remote.String()
	n.punch.table.park(r.peer, addr, r.conn, now.Add(punchParkTTL))
	var sess *netlayer.Session
	_ = n.do(n.ctx, func(time.Time) error {
		if s, ok := n.sessions[r.peer]; ok {
			sess = s.sess
			sess.SetAddrs(appendNew([]string{addr}, n.candidates(r.peer, nil)...))
		}
		return nil
	})
	if sess == nil {
		n.punchFailed(now, r.peer, p, "the session is gone")
		return
	}
	n.wg.Go(func() {
		for range 30 { // a probe already running ends soon: try for 3 s
			if sess.ProbeNow() || n.ctx.Err() != nil {
				return
			}
			t := n.clock.NewTimer(100 * time.Millisecond)
			select {
			case <-t.C():
			case <-n.ctx.Done():
				t.Stop()
				return
			}
		}
	})
}

// punchFailed records a failed attempt; the initiator retries after a
// capped backoff.
func (n *Node) punchFailed(now time.Time, peer identity.PublicKey, p *punchPeer, reason string) {
	p.fails++
	d := punchBackoffMin
	for i := 1; i < p.fails && d < punchBackoffMax; i++ {
		d *= 2
	}
	p.next = now.Add(min(d, punchBackoffMax))
	p.phase = punchIdle
	n.punch.setVia(peer, viaState{failed: reason})
	n.log.Info("hole punch failed; staying on the relay", "peer", peer.Short(), "reason", reason,
		"retry_in", min(d, punchBackoffMax))
}

func (n *Node) sendPunch(peer identity.PublicKey, m punchMsg) {
	b := encodePunch(m)
	_ = n.do(n.ctx, func(time.Time) error {
		n.send(peer, b)
		return nil
	})
}

// publicOnly keeps the addresses worth punching to, at most maxPunchAddrs.
func publicOnly(in []netip.AddrPort) []netip.AddrPort {
	var out []netip.AddrPort
	for _, a := range in {
		if publicAddr(a.Addr()) && a.Port() != 0 && len(out) < maxPunchAddrs {
			out = append(out, a)
		}
	}
	return out
}

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 160 {
		s = s[:160]
	}
	return s
}

func randUint64() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:])
}

// punchTable holds punched connections until the netlayer probe dials
// their address (relayTransport.Dial takes them); unclaimed ones are
// closed after their deadline. Bounded: one per peer.
type punchTable struct {
	mu    sync.Mutex
	conns map[identity.PublicKey]parked
}

type parked struct {
	addr     string
	conn     net.Conn
	deadline time.Time
}

func newPunchTable() *punchTable { return &punchTable{conns: map[identity.PublicKey]parked{}} }

func (t *punchTable) park(peer identity.PublicKey, addr string, c net.Conn, deadline time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.conns[peer]; ok {
		old.conn.Close()
	}
	t.conns[peer] = parked{addr: addr, conn: c, deadline: deadline}
}

// take returns the connection punched to peer at addr, once.
func (t *punchTable) take(peer identity.PublicKey, addr string) net.Conn {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.conns[peer]
	if !ok || p.addr != addr {
		return nil
	}
	delete(t.conns, peer)
	return p.conn
}

func (t *punchTable) expire(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, p := range t.conns {
		if now.After(p.deadline) {
			p.conn.Close()
			delete(t.conns, k)
		}
	}
}

func (t *punchTable) closeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, p := range t.conns {
		p.conn.Close()
		delete(t.conns, k)
	}
}

// punchListener is a net.Listener whose connections are the punched ones
// the higher key answers; the endpoint serves it like its TCP listener.
type punchListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPunchListener() *punchListener {
	return &punchListener{conns: make(chan net.Conn, 4), done: make(chan struct{})}
}

func (l *punchListener) deliver(c net.Conn) bool {
	select {
	case <-l.done:
		return false
	default:
	}
	select {
	case l.conns <- c:
		return true
	default:
		return false
	}
}

func (l *punchListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, fmt.Errorf("punch listener: %w", net.ErrClosed)
	}
}

func (l *punchListener) Close() error {
	l.once.Do(func() {
		close(l.done)
		for {
			select {
			case c := <-l.conns:
				c.Close()
			default:
				return
			}
		}
	})
	return nil
}

func (l *punchListener) Addr() net.Addr { return punchAddr{} }

type punchAddr struct{}

func (punchAddr) Network() string { return "punch" }
func (punchAddr) String() string  { return "punch" }

// liveRoute is the route the session to key runs on now (the endpoint's
// view, which a migration updates at once), else stored.
func (n *Node) liveRoute(key identity.PublicKey, stored netlayer.Route) netlayer.Route {
	if s := n.ep.Session(key); s != nil {
		// Route is RouteNone unless the session is connected; the route
		// status keeps the last path a session had, and a friend with no
		// connection has no "via".
		return s.Route()
	}
	return stored
}

// punchTransport is the endpoint's direct transport: TCP whose listener
// shares its port (ReusePortTransport), and whose dials of an address a
// hole punch just connected return that connection (the migration probe's
// dial).
type punchTransport struct {
	netlayer.ReusePortTransport
	punch *punchTable
}

func (t punchTransport) Dial(ctx context.Context, peer identity.PublicKey, addr string) (net.Conn, error) {
	if c := t.punch.take(peer, addr); c != nil {
		return c, nil
	}
	return t.ReusePortTransport.Dial(ctx, peer, addr)
}
