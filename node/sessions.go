package node

import (
	"context"
	"errors"
	"time"

	"confchat/identity"
	"confchat/netlayer"
	"confchat/storage"
)

// session is what the node knows of one netlayer session.
type session struct {
	sess      *netlayer.Session
	pump      *pump
	connected bool
	route     netlayer.Route
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
			s.strangerUntil = now.Add(strangerGrace)
		}
	case netlayer.SessionStateChanged:
		n.sessionChanged(now, ev)
	case netlayer.SessionReset:
		n.sessionReset(now, ev)
	case netlayer.FrameReceived:
		n.handleFrame(now, ev.Peer, ev.Data)
	case netlayer.InboundRejected:
		n.log.Debug("inbound connection rejected", "addr", ev.Addr, "err", ev.Err)
	}
}

// track records a session object, starting its pump. A replaced session
// object gets a fresh pump.
func (n *Node) track(sess *netlayer.Session) *session {
	key := sess.Peer()
	s, ok := n.sessions[key]
	if ok && s.sess == sess {
		return s
	}
	if ok && s.pump != nil {
		s.pump.stop()
	}
	s = &session{sess: sess, pump: startPump(n.ctx, &n.wg, sess, n.log)}
	n.sessions[key] = s
	return s
}

func (n *Node) sessionChanged(now time.Time, ev netlayer.SessionStateChanged) {
	s, ok := n.sessions[ev.Peer]
	if !ok {
		return
	}
	switch {
	case ev.To == netlayer.Connected:
		s.connected = true
		n.setRoute(ev.Peer, s, ev.Route)
		n.sessionUp(now, ev.Peer)
	case ev.From == netlayer.Connected:
		s.connected = false
		n.setRoute(ev.Peer, s, netlayer.RouteNone)
		n.sessionDown(now, ev.Peer)
	}
	if ev.To == netlayer.Closed {
		if s.pump != nil {
			s.pump.stop()
		}
		delete(n.sessions, ev.Peer)
		if ev.Reason != nil {
			n.log.Info("session closed", "peer", ev.Peer.Short(), "reason", ev.Reason)
		}
		if n.wants.Wanted(ev.Peer) && !n.closing && !netlayer.IsFatal(ev.Reason) {
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
// the front ends can show it after a restart), and reports a change.
func (n *Node) setRoute(key identity.PublicKey, s *session, route netlayer.Route) {
	if s.route == route {
		return
	}
	s.route = route
	err := n.db.PutRoute(n.qctx, storage.Route{Key: key, Route: routeText(route), UpdatedAt: n.clock.Now()})
	if err != nil {
		n.log.Warn("store route", "peer", key.Short(), "err", err)
	}
	n.emit(RouteChanged{Peer: key, Route: route})
}

// knownMember reports whether any conference counts key as a member: its
// sessions are kept even when no engine asked for them.
func (n *Node) knownMember(key identity.PublicKey) bool {
	for _, c := range n.confs {
		if c.engine.Knows(key) {
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
		c.engine.SessionUp(now, key)
		n.apply(now, c)
	}
}

func (n *Node) sessionDown(now time.Time, key identity.PublicKey) {
	if n.book.SetOnline(key, false, netlayer.RouteNone) {
		n.emit(FriendOffline{Friend: key})
	}
	for _, c := range n.confs {
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
	if addrs == nil {
		if _, ok := n.sessions[key]; !ok {
			addrs = n.knownAddrs(key)
		}
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
		for _, p := range c.engine.Peers() {
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

// closeSession closes a session gracefully without blocking the loop;
// the Closed event cleans up.
func (n *Node) closeSession(key identity.PublicKey) {
	s, ok := n.sessions[key]
	if !ok {
		return
	}
	s.strangerUntil = time.Time{}
	sess := s.sess
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		ctx, cancel := context.WithTimeout(n.ctx, 10*time.Second)
		defer cancel()
		sess.Close(ctx)
	}()
}

// send queues a frame for key's session, if there is one.
func (n *Node) send(key identity.PublicKey, frame []byte) bool {
	s, ok := n.sessions[key]
	if !ok || s.pump == nil {
		return false
	}
	if !s.pump.push(frame) {
		n.log.Warn("send queue full, frame dropped", "peer", key.Short())
		return false
	}
	return true
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
