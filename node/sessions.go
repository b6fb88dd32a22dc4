package node

import (
	"context"
	"errors"
	"slices"
	"time"

	"confchat/identity"
	"confchat/netlayer"
)

// session is what the node knows of one netlayer session.
type session struct {
	sess      *netlayer.Session
	pump      *pump
	connected bool
	route     netlayer.Route
	remote    string // the connection's remote address while connected
	// sw is the switch status of the session's route (route.go).
	sw switchStatus
	// strangerUntil is set for a session nobody wants: it is closed then
	// unless something comes to want it.
	strangerUntil time.Time
}

// handleNet handles one netlayer event on the loop.
func (n *Node) handleNet(now time.Time, ev netlayer.Event) {
	switch ev := ev.(type) {
	case netlayer.SessionOpened:
		s := n.track(ev.Session)
		if !n.wants.Wanted(ev.Peer) {
			n.addStranger(now, ev.Peer, s)
		}
	case netlayer.SessionStateChanged:
		n.sessionChanged(now, ev)
	case netlayer.SessionReset:
		n.sessionReset(now, ev)
	case netlayer.SessionRouteChanged:
		n.routeEvent(ev) // route.go
	case netlayer.FrameReceived:
		n.handleFrame(now, ev.Peer, ev.Data)
	case netlayer.InboundRejected:
		n.log.Debug("inbound connection rejected", "addr", ev.Addr, "err", ev.Err)
	}
}

// track records a session object. Its pump starts with the first frame
// sent to it; a replaced session object drops the old one's pump.
func (n *Node) track(sess *netlayer.Session) *session {
	key := sess.Peer()
	s, ok := n.sessions[key]
	if ok && s.sess == sess {
		return s
	}
	if ok && s.pump != nil {
		s.pump.stop()
	}
	s = &session{sess: sess}
	n.sessions[key] = s
	return s
}

// addStranger marks a session nobody wants: it closes after strangerGrace
// unless something comes to want it, and past maxStrangers such sessions
// the oldest is closed at once.
func (n *Node) addStranger(now time.Time, key identity.PublicKey, s *session) {
	s.strangerUntil = now.Add(strangerGrace)
	n.strangers = append(n.strangers, key)
	kept := n.strangers[:0]
	for _, k := range n.strangers {
		if st, ok := n.sessions[k]; ok && !st.strangerUntil.IsZero() && !slices.Contains(kept, k) {
			kept = append(kept, k)
		}
	}
	clear(n.strangers[len(kept):])
	n.strangers = kept
	for len(n.strangers) > maxStrangers {
		oldest := n.strangers[0]
		n.strangers = n.strangers[1:]
		n.counters.strangersEvicted.Add(1)
		n.debugLimited(n.strangerLog, "too many stranger sessions, closing the oldest", "peer", oldest.Short())
		n.closeSessionWithin(oldest, strangerCloseTimeout)
	}
}

func (n *Node) sessionChanged(now time.Time, ev netlayer.SessionStateChanged) {
	s, ok := n.sessions[ev.Peer]
	if !ok {
		return
	}
	n.dhtUnreachable(ev) // failed at every address: look it up (node/dht.go)
	switch {
	case ev.To == netlayer.Connected:
		s.connected, s.remote = true, ev.RemoteAddr
		delete(n.redials, ev.Peer) // it works again: the next fatal close starts the backoff anew
		n.setRoute(ev.Peer, s, ev.Route)
		n.sessionUp(now, ev.Peer)
	case ev.From == netlayer.Connected:
		s.connected = false
		n.setRoute(ev.Peer, s, netlayer.RouteNone)
		n.sessionDown(now, ev.Peer)
	}
	if ev.To == netlayer.Closed {
		n.sessionGone(ev.Peer, s)
		if s.pump != nil {
			s.pump.stop()
		}
		delete(n.sessions, ev.Peer)
		if ev.Reason != nil {
			if n.wants.Wanted(ev.Peer) || n.book.IsFriend(ev.Peer) {
				n.log.Info("session closed", "peer", ev.Peer.Short(), "reason", ev.Reason)
			} else {
				n.debugLimited(n.strangerLog, "session closed", "peer", ev.Peer.Short(), "reason", ev.Reason)
			}
		}
		switch {
		case !n.wants.Wanted(ev.Peer) || n.closing:
		case netlayer.IsFatal(ev.Reason):
			n.scheduleRedial(now, ev.Peer)
		default:
			n.openSession(ev.Peer, nil)
		}
	}
}

// sessionReset: the peer lost its session state (it restarted). Friend
// packets it never acknowledged are sent again on the new session; the
// conference engines recover their own traffic (rejoin, history sync).
func (n *Node) sessionReset(now time.Time, ev netlayer.SessionReset) {
	for _, f := range ev.Unacked {
		if len(f) > 0 && isFriendPacket(f[0]) {
			n.send(ev.Peer, f)
		}
	}
}

// setRoute records a session's path, in memory and in the database (so
// the front ends can show it after a restart), and reports a change
// (route.go, with the switch status).
func (n *Node) setRoute(key identity.PublicKey, s *session, route netlayer.Route) {
	n.updateRoute(key, s, route, s.sw.phase)
}

// knownMember reports whether any conference counts key as a member: its
// sessions are kept even when no engine asked for them.
func (n *Node) knownMember(key identity.PublicKey) bool {
	for _, c := range n.confs {
		if c.knows(key) {
			return true
		}
	}
	return false
}

// sessionUp: tell friends who we are, and every engine that the session
// is up.
func (n *Node) sessionUp(now time.Time, key identity.PublicKey) {
	n.friendSessionUp(now, key)
	for _, c := range n.confs {
		if c.engine == nil {
			if c.knows(key) { // a member is back: restore it next (it hears of the session then)
				n.restoreSoon(c)
			}
			continue
		}
		c.engine.SessionUp(now, key)
		n.apply(now, c)
	}
}

func (n *Node) sessionDown(now time.Time, key identity.PublicKey) {
	if n.book.SetOnline(key, false, netlayer.RouteNone) {
		n.emit(FriendOffline{Friend: key})
	}
	for _, c := range n.confs {
		if c.engine == nil {
			continue
		}
		c.engine.SessionDown(now, key)
		n.apply(now, c)
	}
}

// openSession makes sure a session to key exists, dialling addrs (nil
// keeps what the session had; a new session then uses the addresses the
// node knows for key).
func (n *Node) openSession(key identity.PublicKey, addrs []string) {
	if key == n.key.Public() {
		return
	}
	if err := identity.ValidatePublicKey(key); err != nil {
		n.log.Debug("no session to a bad key", "peer", key.Short(), "err", err)
		return
	}
	if _, ok := n.sessions[key]; !ok && n.holdRedial(key, addrs) {
		return // backing off after a fatal close; new addresses would retry now
	}
	if _, ok := n.sessions[key]; addrs != nil || !ok {
		addrs = n.candidates(key, addrs) // relay.go: direct, their relays, ours
	}
	sess, err := n.ep.Open(key, addrs)
	if err != nil {
		if !errors.Is(err, netlayer.ErrClosed) {
			n.log.Warn("open session", "peer", key.Short(), "err", err)
		}
		return
	}
	s := n.track(sess)
	s.strangerUntil = time.Time{}
}

// knownAddrs returns what the node knows of where key listens: friend
// addresses first, then what conferences learned.
func (n *Node) knownAddrs(key identity.PublicKey) []string {
	var out []string
	if f, ok := n.book.Friend(key); ok {
		out = append(out, f.Addresses...)
	}
	for _, c := range n.confs {
		for _, p := range n.enginePeers(c) {
			if p.Key == key {
				out = appendNew(out, p.Addresses...)
			}
		}
	}
	return out
}

func appendNew(list []string, more ...string) []string {
	for _, a := range more {
		found := false
		for _, b := range list {
			found = found || a == b
		}
		if !found {
			list = append(list, a)
		}
	}
	return list
}

// releaseSession closes the session to key if nothing wants it any more.
func (n *Node) releaseSession(key identity.PublicKey) {
	if !n.wants.Wanted(key) {
		n.closeSession(key)
	}
}

// Close timeouts: a graceful close of a session we wanted may take a
// while; a stranger's is cut short.
const (
	sessionCloseTimeout  = 10 * time.Second
	strangerCloseTimeout = 500 * time.Millisecond
)

// closeSession closes a session gracefully without blocking the loop;
// the Closed event cleans up.
func (n *Node) closeSession(key identity.PublicKey) {
	n.closeSessionWithin(key, sessionCloseTimeout)
}

func (n *Node) closeSessionWithin(key identity.PublicKey, timeout time.Duration) {
	s, ok := n.sessions[key]
	if !ok {
		return
	}
	s.strangerUntil = time.Time{}
	sess := s.sess
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		ctx, cancel := context.WithTimeout(n.ctx, timeout)
		defer cancel()
		sess.Close(ctx)
	}()
}

// send queues a frame for key's session, if there is one, starting the
// session's pump with its first frame. A frame the queue has no room for
// is dropped, counted, and healed once the queue drains (healPumps).
func (n *Node) send(key identity.PublicKey, frame []byte) bool {
	s, ok := n.sessions[key]
	if !ok {
		return false
	}
	if s.pump == nil {
		s.pump = startPump(n.ctx, &n.wg, s.sess, n.healWake, n.log)
	}
	if !s.pump.push(frame) {
		n.counters.sendDropped.Add(1)
		n.debugLimited(n.dropLog, "send queue full, frame dropped until it drains", "peer", key.Short())
		return false
	}
	return true
}

// healPumps runs when a pump drained after dropping frames: the peer
// missed some of what we sent, so everything it must know is sent again.
// Friend packets are re-sent; each conference resynchronises the link
// (the engine treats it as a new session: Online or Rejoin, a history
// summary, and sync fetches what the peer lacks).
func (n *Node) healPumps(now time.Time) {
	for key, s := range n.sessions {
		if s.pump == nil || !s.pump.takeHeal() || !s.connected {
			continue
		}
		n.counters.sendHealed.Add(1)
		n.log.Info("resending after dropped frames", "peer", key.Short())
		n.friendSessionUp(now, key)
		for _, c := range n.confs {
			if c.engine == nil || !c.engine.Knows(key) {
				continue
			}
			c.engine.SessionDown(now, key)
			c.engine.SessionUp(now, key)
			n.apply(now, c)
		}
	}
}

// connected reports whether the session to key is up.
func (n *Node) connected(key identity.PublicKey) bool {
	s, ok := n.sessions[key]
	return ok && s.connected
}

// routeText is the stored form of a route.
func routeText(r netlayer.Route) string {
	b, _ := r.MarshalText() // every route the node holds has a text form
	return string(b)
}
