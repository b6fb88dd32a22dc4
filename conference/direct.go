package conference

import (
	"fmt"
	"time"

	"confchat/identity"
)

const peerResponseMax = 1370

// handleDirect dispatches 0x62 packets. They are accepted only with our
// group number and from a key we hold a connection entry for (Tox §3).
func (e *Engine) handleDirect(from identity.PublicKey, p directPacket) error {
	if p.group() != e.cfg.GroupNumber {
		return nil
	}
	c := e.conn(from)
	if c == nil || c.pending {
		return nil
	}
	switch p := p.(type) {
	case *PeerIntroducedPacket:
		e.removeReason(from, reasonIntroducing)
	case *PeerQueryPacket:
		e.answerPeerQuery(c)
	case *PeerResponsePacket:
		e.handlePeerResponse(c, p)
	case *PeerProofPacket:
		e.handlePeerProof(&p.Message)
	case *TitleResponsePacket:
		return e.handleTitleResponse(c, p)
	default:
		return e.handleSyncPacket(c, p)
	}
	return nil
}

// answerPeerQuery sends all active peers (ourselves included, never frozen
// peers) and the winning title. Lenient: answers on any connection whose
// group number we know, not only online ones.
func (e *Engine) answerPeerQuery(c *conn) {
	if e.status != statusConnected || !(c.online || c.remoteGroup != 0 || c.reasons&reasonIntroducing != 0) {
		return
	}
	entries := []PeerEntry{{Number: e.selfNumber, Key: e.self, Addresses: e.cfg.Addresses, Name: e.shareableName()}}
	for _, p := range e.peers.active {
		entries = append(entries, PeerEntry{Number: p.number, Key: p.key, Addresses: p.addrs, Name: p.name})
	}
	for _, b := range chunkPeerResponses(c.remoteGroup, entries, peerResponseMax) {
		e.sendRaw(c.key, b)
	}
	if rec, ok := e.shareableTitle(); ok {
		e.sendDirect(c, &TitleResponsePacket{Title: rec})
	}
	e.sendPeerProofs(c)
}

// proofInterval spaces out the Peer Proofs one connection gets: a join
// asks once, but every message from an unknown sender number asks again.
const proofInterval = time.Second

// sendPeerProofs follows a Peer Response with the latest signed message we
// hold from each member it listed (extension): the asker holds those
// members as hints, and a member's own signature makes it a member at
// once. Without it a joiner would list the others only as their own
// NEW_PEER answers reached it, one flood per member per join.
func (e *Engine) sendPeerProofs(c *conn) {
	if !c.lastProofs.IsZero() && e.now.Before(c.lastProofs.Add(proofInterval)) {
		return
	}
	c.lastProofs = e.now
	for _, p := range e.peers.active {
		if p.lastSigned != nil && p.key != c.key {
			e.sendDirect(c, &PeerProofPacket{Message: *p.lastSigned})
		}
	}
}

// handlePeerProof promotes the hint the proof is signed by. A proof for a
// number a member holds, or for no hint, costs no signature check.
func (e *Engine) handlePeerProof(m *MessagePacket) {
	if e.status == statusLeft || e.peers.byNumber[m.Sender] != nil || m.Kind == KindKillPeer || m.Kind == KindFreezePeer {
		return // a KILL or FREEZE never promotes a hint
	}
	if q := e.promoteHint(m); q != nil {
		e.keepLastSigned(q, m)
	}
}

// handlePeerResponse learns peers "not fresh" (Tox §3.3.3). Lenient: it
// continues past frozen or conflicting entries instead of stopping. Only
// the sender's own entry (its key is the session's, authenticated by the
// transport) and entries for members we know are applied; an entry for a
// key we do not know is unsigned by that key and kept as a hint only.
func (e *Engine) handlePeerResponse(c *conn, p *PeerResponsePacket) {
	for _, en := range p.Entries {
		if en.Key == e.self {
			e.adoptSelf(en.Number)
			continue
		}
		own := en.Key == c.key
		known := e.peers.byKey[en.Key] != nil
		if !own && !known {
			e.addHint(en.Key, en.Number, en.Addresses, en.Name)
			continue
		}
		// Addresses and a name hint are taken from the sender about itself,
		// never about another member we know.
		addrs := en.Addresses
		if !own {
			addrs = nil
		}
		q := e.addPeer(en.Key, en.Number, addrs, false)
		if q == nil || q.nameNumber != 0 || q.name == en.Name || !own {
			continue
		}
		q.name = en.Name
		e.persistPeer(q)
		e.emit(NameChanged{Key: q.key, Name: q.name})
	}
}

// adoptSelf completes a join: our number comes from the group's list.
func (e *Engine) adoptSelf(number uint16) {
	if e.status != statusJoining {
		return
	}
	e.selfNumber = number
	if e.setStatus(statusConnected) != nil {
		return
	}
	e.sendName = true
	e.announceSelf = true
	e.persistMeta()
	e.emit(Connected{SelfNumber: number})
	e.sync.joined(e)
	for _, c := range e.conns {
		if c.online {
			e.sync.linkUp(e, c)
		}
	}
}

func (e *Engine) handleTitleResponse(c *conn, p *TitleResponsePacket) error {
	if p.Title.Kind != KindTitle {
		return fmt.Errorf("conference: title response: %w", ErrMalformed)
	}
	if !e.verifyRecord(p.Title) {
		return fmt.Errorf("conference: title response: %w", ErrBadSignature)
	}
	if e.acceptRecord(p.Title, true) {
		e.holdingsChanged()
	}
	return nil
}
