package conference

import (
	"fmt"

	"confchat/identity"
	"time"
)

// Invite sends an Invite for this conference to friend (its session must be
// up). Tox §2.1.
func (e *Engine) Invite(now time.Time, friend identity.PublicKey) error {
	e.now = now
	if e.status != statusConnected {
		return fmt.Errorf("conference: invite: %w", ErrNotConnected)
	}
	if !e.sessions[friend] {
		return fmt.Errorf("conference: invite %s: %w", friend.Short(), ErrNoConnection)
	}
	e.sendRaw(friend, (&InvitePacket{InviterGroup: e.cfg.GroupNumber, ID: e.id}).Encode())
	return nil
}

// sendJoinRequest (re)sends the Invite accept and a Peer Query to the
// inviter while joining. Resending is an extension: C stays joining forever
// if the accept is lost.
func (e *Engine) sendJoinRequest(now time.Time) {
	e.joinSent = now
	acc := &InviteAcceptPacket{JoinerGroup: e.cfg.GroupNumber, InviterGroup: e.joinCookie.InviterGroup, ID: e.id}
	e.sendRaw(e.joinInviter, acc.Encode())
	if c := e.conn(e.joinInviter); c != nil {
		e.sendDirect(c, &PeerQueryPacket{})
	}
}

// handleInvite: an Invite for our own conference. If we are connected we
// answer with the "already a member" response (merging components); while
// joining we ignore it. Never surfaced as an event (double-invite rule).
//
// An inviter that is not a member we know (a split-off component's member,
// or anyone who learned the conference id) gets only the member response:
// its connection stays pending — no flood, no history, no peer list — until
// its own signed NEW_PEER (sent by handleAccept) makes it a visible member.
func (e *Engine) handleInvite(from identity.PublicKey, p *InvitePacket) error {
	if p.ID != e.id || e.status != statusConnected {
		return nil
	}
	resp := &InviteAcceptPacket{
		JoinerGroup: e.cfg.GroupNumber, InviterGroup: p.InviterGroup, ID: e.id,
		Member: true, PeerNumber: e.selfNumber,
	}
	if e.peers.byKey[from] == nil {
		if old := e.conn(from); old != nil && !old.pending {
			return nil // a connection we use for something else: leave it
		}
		e.limitPending(from)
		e.sendRaw(from, resp.Encode())
		c := e.addConn(from, reasonIntroducer)
		c.remoteGroup, c.pending = p.InviterGroup, true
		return nil
	}
	e.sendRaw(from, resp.Encode())
	c := e.addConn(from, reasonIntroducer|reasonIntroducing)
	c.remoteGroup, c.online = p.InviterGroup, true
	e.sendDirect(c, &PeerQueryPacket{})
	e.sync.linkUp(e, c)
	return nil
}

// handleAccept: a friend accepted our invite (or answered as a member).
func (e *Engine) handleAccept(from identity.PublicKey, p *InviteAcceptPacket) error {
	if p.ID != e.id || p.InviterGroup != e.cfg.GroupNumber || e.status != statusConnected {
		return nil
	}
	var number uint16
	switch {
	case p.Member:
		number = p.PeerNumber
	case e.peers.byKey[from] != nil:
		number = e.peers.byKey[from].number // repeated accept: keep its number
	default:
		n, ok := e.freshPeerNumber()
		if !ok {
			return nil
		}
		number = n
	}
	q := e.addPeer(from, number, nil, true)
	if q == nil {
		return nil
	}
	reasons := reasonIntroducing
	if p.Member {
		reasons |= reasonIntroducer
	}
	c := e.addConn(from, reasons)
	wasOnline := c.online
	c.remoteGroup, c.online = p.JoinerGroup, true
	if p.Member {
		e.sendDirect(c, &PeerQueryPacket{})
		e.floodSelfAnnouncement() // vouches for us, signed, to a member that may not know us
	}
	e.floodNewPeer(q)
	if !wasOnline {
		e.sync.linkUp(e, c)
	}
	return nil
}

// maxPendingInvites bounds the connections held for inviters that are not
// members yet.
const maxPendingInvites = 4

// limitPending drops the oldest pending inviter connections so one more
// fits.
func (e *Engine) limitPending(except identity.PublicKey) {
	n := 0
	for i := len(e.conns) - 1; i >= 0; i-- {
		c := e.conns[i]
		if !c.pending || c.key == except {
			continue
		}
		if n++; n >= maxPendingInvites {
			e.removeConn(c.key)
		}
	}
}

// promotePending: a pending inviter became a member; its connection goes
// online as an invite's would have.
func (e *Engine) promotePending(c *conn) {
	if !c.pending || e.peers.byKey[c.key] == nil {
		return
	}
	c.pending, c.online = false, true
	c.reasons |= reasonIntroducing
	e.sendDirect(c, &PeerQueryPacket{})
	e.sync.linkUp(e, c)
}

// freshPeerNumber draws a random number used by no known peer (33 tries).
func (e *Engine) freshPeerNumber() (uint16, bool) {
	if e.forcedNumber != nil {
		n := *e.forcedNumber
		e.forcedNumber = nil
		return n, true
	}
	for range peerNumberDraws {
		n := uint16(e.cfg.Rand.UintN(1 << 16))
		if !e.numberInUse(n) {
			return n, true
		}
	}
	return 0, false
}
