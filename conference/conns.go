package conference

import (
	"slices"
	"sort"
	"time"

	"confchat/identity"
)

// Connection reasons (Tox bits 1, 2, 4; LONG is confchat's chord link).
const (
	reasonClosest     uint8 = 1
	reasonIntroducing uint8 = 2
	reasonIntroducer  uint8 = 4
	reasonLong        uint8 = 8
)

// conn is a group connection: our use of the session to key in this
// conference. States: connecting -> online (Online handshake, or set
// directly by invite/accept/member response) -> connecting (session down).
type conn struct {
	key             identity.PublicKey
	online          bool
	reasons         uint8
	remoteGroup     uint16
	lastOnlineSent  time.Time
	onlineTries     int // unanswered Online resends, for backoff
	lastOnlineReply time.Time
	lastProofs      time.Time // when we last sent it Peer Proofs (at most one set a second)
	// pending: an Invite for our conference came from a key that is not a
	// member. It gets nothing (no flood, no history, no peer list) until its
	// own signed NEW_PEER makes it a member (see handleInvite).
	pending bool
}

func (e *Engine) conn(key identity.PublicKey) *conn {
	for _, c := range e.conns {
		if c.key == key {
			return c
		}
	}
	return nil
}

func (e *Engine) addConn(key identity.PublicKey, reason uint8) *conn {
	c := e.conn(key)
	if c == nil {
		c = &conn{key: key}
		e.conns = append(e.conns, c)
	}
	c.reasons |= reason
	return c
}

func (e *Engine) removeReason(key identity.PublicKey, reason uint8) {
	c := e.conn(key)
	if c == nil {
		return
	}
	c.reasons &^= reason
	if c.reasons == 0 {
		e.removeConn(key)
	}
}

func (e *Engine) removeConn(key identity.PublicKey) {
	if e.conn(key) != nil && e.status == statusConnected {
		e.linger[key] = e.now.Add(e.cfg.pingInterval())
	}
	e.conns = slices.DeleteFunc(e.conns, func(c *conn) bool { return c.key == key })
	e.sync.linkDown(key)
}

// expireLinger forgets sessions kept after their connection went away.
func (e *Engine) expireLinger() {
	for k, until := range e.linger {
		if !e.now.Before(until) {
			delete(e.linger, k)
		}
	}
}

func (e *Engine) onlineCount() int {
	n := 0
	for _, c := range e.conns {
		if c.online {
			n++
		}
	}
	return n
}

func (e *Engine) sendOnline(c *conn) {
	c.lastOnlineSent = e.now
	e.sendRaw(c.key, (&OnlinePacket{SenderGroup: e.cfg.GroupNumber, ID: e.id}).Encode())
}

// resendOnlines repeats the Online of connecting connections whose session
// is up (extension: recovers a lost Online). The interval doubles from 1 s
// up to the ping interval: a peer that does not want the connection (Tox's
// closest rule is not symmetric) ignores it, so it is not worth more.
func (e *Engine) resendOnlines() {
	for _, c := range e.conns {
		if !c.online && !c.pending && e.sessions[c.key] && !e.now.Before(e.nextOnlineResend(c)) {
			c.onlineTries++
			e.sendOnline(c)
		}
	}
}

func (e *Engine) nextOnlineResend(c *conn) time.Time {
	wait := defaultHandshakeResend << min(c.onlineTries, 16)
	if limit := max(e.cfg.pingInterval(), defaultHandshakeResend); wait > limit {
		wait = limit
	}
	return c.lastOnlineSent.Add(wait)
}

// handleOnline runs Tox §3.1. Deviation: an Online for an already-online
// connection is answered at most once a second (so a lost reply heals), and
// our Online reply goes out before the Peer Query.
func (e *Engine) handleOnline(from identity.PublicKey, p *OnlinePacket) error {
	if p.ID != e.id || e.status != statusConnected {
		return nil
	}
	c := e.conn(from)
	if c == nil || c.pending {
		return nil
	}
	if c.online {
		if !e.now.Before(c.lastOnlineReply.Add(defaultHandshakeResend)) {
			c.lastOnlineReply = e.now
			c.remoteGroup = p.SenderGroup
			e.sendOnline(c)
		}
		return nil
	}
	query := e.onlineCount() == 0 || c.reasons&reasonIntroducer != 0
	c.remoteGroup, c.online, c.onlineTries = p.SenderGroup, true, 0
	c.lastOnlineReply = e.now
	e.sendOnline(c)
	if query {
		e.sendDirect(c, &PeerQueryPacket{})
	}
	if c.reasons&reasonIntroducing != 0 {
		if q := e.peers.byKey[from]; q != nil && !q.frozen {
			e.floodNewPeer(q)
			e.sendName = true
		}
	}
	e.maybePing()
	e.sync.linkUp(e, c)
	return nil
}

// trySendRejoin sends a Rejoin to a frozen peer whose session is up and
// marks the connection INTRODUCER (Tox §3.2).
func (e *Engine) trySendRejoin(p *peer) {
	if e.status != statusConnected || !e.sessions[p.key] {
		return
	}
	e.sendRaw(p.key, (&RejoinPacket{ID: e.id}).Encode())
	c := e.addConn(p.key, reasonIntroducer)
	if !c.online {
		e.sendOnline(c)
	}
}

// handleRejoin accepts a Rejoin from a known peer: thaw it, open an
// INTRODUCING connection and send Online.
func (e *Engine) handleRejoin(from identity.PublicKey, p *RejoinPacket) error {
	if p.ID != e.id || e.status != statusConnected {
		return nil
	}
	q := e.peers.byKey[from]
	if q == nil {
		return nil
	}
	e.addPeer(from, q.number, nil, true)
	c := e.addConn(from, reasonIntroducing)
	if c.online {
		c.online = false
		e.sync.linkDown(from)
	}
	e.sendOnline(c)
	return nil
}

// sendDirect sends a 0x62 packet on an online connection.
func (e *Engine) sendDirect(c *conn, w directWire) {
	w.setGroup(c.remoteGroup)
	e.sendRaw(c.key, w.Encode())
}

// directWire is a direct packet whose receiver group number we fill in.
type directWire interface {
	Encode() []byte
	setGroup(uint16)
}

func (p *PeerIntroducedPacket) setGroup(g uint16) { p.Group = g }
func (p *PeerQueryPacket) setGroup(g uint16)      { p.Group = g }
func (p *TitleResponsePacket) setGroup(g uint16)  { p.Group = g }
func (p *SummaryPacket) setGroup(g uint16)        { p.Group = g }
func (p *RequestPacket) setGroup(g uint16)        { p.Group = g }
func (p *BatchPacket) setGroup(g uint16)          { p.Group = g }
func (p *FloorsPacket) setGroup(g uint16)         { p.Group = g }
func (p *HistoryRequestPacket) setGroup(g uint16) { p.Group = g }

// cleanConnections keeps at most maxConnections-2 connections (Tox §4.1):
// connecting non-closest first, then online non-closest, then the last.
func (e *Engine) cleanConnections() {
	for len(e.conns) > maxConnections-2 {
		victim := e.pickConnVictim()
		e.removeConn(victim.key)
	}
}

func (e *Engine) pickConnVictim() *conn {
	for _, c := range e.conns {
		if !c.online && c.reasons&reasonClosest == 0 {
			return c
		}
	}
	for _, c := range e.conns {
		if c.online && c.reasons&(reasonClosest|reasonIntroducer) == 0 {
			return c
		}
	}
	return e.conns[len(e.conns)-1]
}

// wantedSessions is every key we hold a connection for, keys whose
// connection went away less than a ping interval ago, plus up to two
// recently active frozen peers (extension: a split heals without waiting for
// a friend link, and a restarted member finds its group).
func (e *Engine) wantedSessions() map[identity.PublicKey]*peer {
	want := e.wantScratch
	clear(want)
	if want == nil {
		want = map[identity.PublicKey]*peer{}
		e.wantScratch = want
	}
	if e.status == statusLeft {
		return want
	}
	for _, c := range e.conns {
		want[c.key] = e.peers.byKey[c.key]
	}
	if e.status != statusConnected {
		return want
	}
	for k := range e.linger { // ring churn should not make the node redial
		want[k] = e.peers.byKey[k]
	}
	// The two most recently active frozen peers (the first of equals, as
	// a stable sort would order them), found without sorting or copying.
	var first, second *peer
	for _, p := range e.peers.frozen {
		switch {
		case first == nil || p.lastActive.After(first.lastActive):
			first, second = p, first
		case second == nil || p.lastActive.After(second.lastActive):
			second = p
		}
	}
	for _, p := range [2]*peer{first, second} {
		if p != nil {
			want[p.key] = p
		}
	}
	return want
}

// syncSessions emits SessionWish changes (sorted by key for determinism).
// It runs on every Ready, so the wanted set is built in a reused map and
// addresses are copied only for the sessions newly wished for.
func (e *Engine) syncSessions() {
	want := e.wantedSessions()
	var changes []SessionWish
	for k, p := range want {
		if !e.wanted[k] {
			e.wanted[k] = true
			var addrs []string
			if p != nil {
				addrs = slices.Clone(p.addrs)
			}
			changes = append(changes, SessionWish{Peer: k, Addresses: addrs, Want: true})
		}
	}
	for k := range e.wanted {
		if _, ok := want[k]; !ok {
			delete(e.wanted, k)
			changes = append(changes, SessionWish{Peer: k})
		}
	}
	if len(changes) == 0 {
		return
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Peer.Less(changes[j].Peer) })
	e.out.sessions = append(e.out.sessions, changes...)
}

// WantedSessions lists the keys the engine currently wants sessions to.
func (e *Engine) WantedSessions() []identity.PublicKey {
	var out []identity.PublicKey
	for k := range e.wantedSessions() {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	return out
}

// ConnectedPeers lists the keys of our online group connections.
func (e *Engine) ConnectedPeers() []identity.PublicKey {
	var out []identity.PublicKey
	for _, c := range e.conns {
		if c.online {
			out = append(out, c.key)
		}
	}
	return out
}
