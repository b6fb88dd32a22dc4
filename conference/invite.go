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
func (e *Engine) handleInvite(from identity.PublicKey, p *InvitePacket) error {
	if p.ID != e.id || e.status != statusConnected {
		return nil
	}
	resp := &InviteAcceptPacket{
		JoinerGroup: e.cfg.GroupNumber, InviterGroup: p.InviterGroup, ID: e.id,
		Member: true, PeerNumber: e.selfNumber,
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
	}
	e.floodNewPeer(q)
	if !wasOnline {
		e.sync.linkUp(e, c)
	}
	return nil
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
