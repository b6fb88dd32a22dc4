package conference

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"confchat/identity"
)

// seenWindow remembers which of the last 1024 numbers of one origin were
// seen. It replaces Tox's 8-entry list: heavy reordering no longer drops
// messages, and older stored messages are checked against the store.
type seenWindow struct {
	highest uint32
	bits    [16]uint64
}

const seenSpan = 1024

// check reports (seen, tooOld).
func (w *seenWindow) check(n uint32) (bool, bool) {
	if n > w.highest {
		return false, false
	}
	d := w.highest - n
	if d >= seenSpan {
		return false, true
	}
	return w.bits[(n%seenSpan)/64]&(1<<(n%64)) != 0, false
}

func (w *seenWindow) mark(n uint32) {
	if n > w.highest {
		shift := n - w.highest
		if shift >= seenSpan || w.highest == 0 {
			w.bits = [16]uint64{}
		} else {
			for i := w.highest + 1; i <= n; i++ {
				w.bits[(i%seenSpan)/64] &^= 1 << (i % 64)
			}
		}
		w.highest = n
	}
	w.bits[(n%seenSpan)/64] |= 1 << (n % 64)
}

// handleMessage runs the flooded-message pipeline (Tox §3.4.3 with
// signatures): resolve origin, verify, note activity, introducer release,
// dedupe, dispatch, relay.
func (e *Engine) handleMessage(from identity.PublicKey, m *MessagePacket) error {
	if m.Group != e.cfg.GroupNumber || e.status != statusConnected {
		return nil
	}
	c := e.conn(from)
	if c == nil {
		return nil
	}
	if c.pending && !e.selfAnnouncementOf(from, m) {
		return nil // a pending inviter may only introduce itself
	}
	defer e.promotePending(c)
	origin, q, ok := e.resolveOrigin(c, m)
	if !ok {
		return nil
	}
	body := m.Body
	e.releaseIntroducer(c, origin) // before dedupe, as in Tox (ref §3.4.3 step 4)
	if e.isDuplicate(c, origin, q, m, body) {
		if origin == e.self && storedKind(m.Kind) && c.key != e.self {
			sl, _ := e.store.slotOf(e.self, m.Number)
			e.noteEcho(m.Number, sl.prev)
		}
		return nil
	}
	if !e.verifyMessage(origin, m.Number, m.Kind, body, m.Auth) {
		e.maybeQuery(c)
		return fmt.Errorf("conference: message %d from peer %d: %w", m.Number, m.Sender, ErrBadSignature)
	}
	if err := validateBody(m.Kind, body); err != nil {
		return fmt.Errorf("conference: message %d: %w", m.Number, err)
	}
	if q != nil && m.Kind != KindFreezePeer {
		e.noteActive(q)
	}
	e.markSeen(origin, q, m)
	relay := e.dispatch(c, origin, q, m, body)
	if q == nil && origin != e.self {
		// A self announcement of a key we did not know made it a member
		// only now: mark it seen in the new member's window too, or each
		// further copy (one per connection) would be checked, applied and
		// relayed again.
		if q = e.peers.byKey[origin]; q != nil {
			e.markSeen(origin, q, m)
		}
	}
	if relay {
		e.relay(c, m)
	}
	return nil
}

// selfAnnouncementOf reports whether m is key's NEW_PEER about itself
// under its own sender number (it is verified like any message).
func (e *Engine) selfAnnouncementOf(key identity.PublicKey, m *MessagePacket) bool {
	if m.Kind != KindNewPeer {
		return false
	}
	np, err := decodeNewPeer(m.Body)
	return err == nil && np.Key == key && np.Number == m.Sender
}

// resolveOrigin maps the sender peer number to a key. An unknown sender
// triggers a Peer Query, except for a self-announcing NEW_PEER, which is
// verified against the key it announces (used after renumbering).
func (e *Engine) resolveOrigin(c *conn, m *MessagePacket) (identity.PublicKey, *peer, bool) {
	if m.Kind == KindNewPeer {
		// A self-announcement is verified against the key it announces, even
		// under our own number (a collision it resolves).
		if np, err := decodeNewPeer(m.Body); err == nil && np.Number == m.Sender && np.Key != e.self {
			return np.Key, e.peers.byKey[np.Key], true
		}
	}
	if m.Sender == e.selfNumber {
		return e.self, nil, true
	}
	if q := e.peers.byNumber[m.Sender]; q != nil {
		return q.key, q, true
	}
	if m.Kind == KindKillPeer || m.Kind == KindFreezePeer {
		return identity.PublicKey{}, nil, false // a hint that leaves never was a member here
	}
	if q := e.promoteHint(m); q != nil {
		return q.key, q, true
	}
	if c.online {
		e.sendDirect(c, &PeerQueryPacket{})
	}
	return identity.PublicKey{}, nil, false
}

// maybeQuery sends at most one Peer Query per second per connection after
// a signature failure: the number may map to a renumbered member.
func (e *Engine) maybeQuery(c *conn) {
	if !c.online || e.now.Before(c.lastOnlineReply.Add(time.Second)) {
		return
	}
	c.lastOnlineReply = e.now
	e.sendDirect(c, &PeerQueryPacket{})
}

// releaseIntroducer drops INTRODUCER connections to origin once we have
// more than 4 online connections and origin's message came another way.
func (e *Engine) releaseIntroducer(arrival *conn, origin identity.PublicKey) {
	if e.onlineCount() <= desiredClosest {
		return
	}
	c := e.conn(origin)
	if c == nil || c == arrival || c.reasons&reasonIntroducer == 0 {
		return
	}
	if c.online {
		e.sendDirect(c, &PeerIntroducedPacket{})
	}
	e.removeReason(origin, reasonIntroducer)
}

// isDuplicate is duplicate detection, done before the (costly) signature
// check: a stored kind is a duplicate if the store holds the same bytes
// (verified when first stored); an ephemeral kind if the 1024-number window
// saw it or it is older than the window. Duplicates do not count as
// activity (the first copy did).
func (e *Engine) isDuplicate(arrival *conn, origin identity.PublicKey, q *peer, m *MessagePacket, body []byte) bool {
	if storedKind(m.Kind) {
		if st := e.store.get(origin, m.Number); st != nil {
			return bytes.Equal(st.rec.Body, body) && bytes.Equal(st.rec.Signature, m.Auth)
		}
		if sl, ok := e.store.slotOf(origin, m.Number); ok {
			// held without its body: the same bytes have the same hash
			rec := Record{Origin: origin, Number: m.Number, Kind: m.Kind, Body: body, Signature: m.Auth}
			return sl.fp == fingerprint(e.hashRecord(rec))
		}
		return false
	}
	w := e.windowOf(origin, q)
	if w == nil {
		return false
	}
	if seen, old := w.check(m.Number); seen || old {
		e.hintReusedNumber(arrival, q, m)
		return true
	}
	return false
}

// markSeen records a verified message in the origin's window.
func (e *Engine) markSeen(origin identity.PublicKey, q *peer, m *MessagePacket) {
	if w := e.windowOf(origin, q); w != nil {
		w.mark(m.Number)
	}
	e.keepLastSigned(q, m)
}

// keepLastSigned remembers the highest-numbered signed message of a peer.
func (e *Engine) keepLastSigned(q *peer, m *MessagePacket) {
	if q != nil && (q.lastSigned == nil || m.Number > q.lastSigned.Number) {
		cp := *m
		cp.Body = append([]byte(nil), m.Body...)
		cp.Auth = append([]byte(nil), m.Auth...)
		q.lastSigned = &cp
	}
}

// hintReusedNumber: a peer sent us, directly, a number we already saw from
// it: it probably restarted from an old save. Show it the highest signed
// message we hold from it so it can move its counter past it.
func (e *Engine) hintReusedNumber(arrival *conn, q *peer, m *MessagePacket) {
	if q == nil || q.lastSigned == nil || arrival == nil || arrival.key != q.key {
		return
	}
	if !e.now.Before(q.lastHint.Add(time.Second)) || q.lastHint.IsZero() {
		q.lastHint = e.now
		e.sendDirect(arrival, &NumberHintPacket{Message: *q.lastSigned})
	}
}

// handleNumberHint: if the hint is our own valid signature on a number at
// or above our counter, skip past it (plus a margin).
func (e *Engine) handleNumberHint(p *NumberHintPacket) {
	m := &p.Message
	if m.Number < e.nextNumber {
		return
	}
	if !e.verifyMessage(e.self, m.Number, m.Kind, m.Body, m.Auth) {
		return
	}
	e.nextNumber = m.Number + restartMargin
	e.persistMeta()
}

func (e *Engine) windowOf(origin identity.PublicKey, q *peer) *seenWindow {
	if origin == e.self {
		return &e.selfSeen
	}
	if q == nil {
		q = e.peers.byKey[origin]
	}
	if q == nil {
		return nil
	}
	return &q.seen
}

// dispatch applies a verified, first-seen message and reports whether it
// is relayed: stored kinds that turn out to be duplicates and leaves that
// do not name their sender are not.
func (e *Engine) dispatch(c *conn, origin identity.PublicKey, q *peer, m *MessagePacket, body []byte) bool {
	switch m.Kind {
	case KindPing:
		prev, _ := bodyPrev(body)
		e.sync.notePrev(e, origin, prev, c.key)
	case KindNewPeer:
		np, _ := decodeNewPeer(body)
		if np.Key == origin {
			e.learnSelfAnnouncement(np)
		} else {
			e.addHint(np.Key, np.Number, np.Addresses, "") // unsigned by np.Key: a hint only
		}
	case KindKillPeer, KindFreezePeer:
		return e.handleLeave(origin, q, m.Kind, body)
	case KindName, KindTitle, KindMessage, KindAction:
		rec := Record{Origin: origin, Number: m.Number, Kind: m.Kind, Body: body, Signature: m.Auth}
		if !e.acceptRecord(rec, false) {
			return false
		}
		if c.key == origin {
			e.noteHolding(origin)
		}
		e.sync.notePrev(e, origin, rec.Prev(), c.key)
	}
	return true
}

// learnSelfAnnouncement applies a member's own signed NEW_PEER (fresh). A
// key that becomes a member this way has not heard from most of us; we
// answer with our own signed NEW_PEER (once per tick, however many joined)
// so it lists us promptly instead of holding us as hints. A joiner whose
// announcement is Listed already holds our signed word (its introducer's
// Peer Proofs) unless it names our number as missing: then we answer
// even if we knew it already (it does not know that we do); otherwise no
// answer, which saves one flood per member per join.
func (e *Engine) learnSelfAnnouncement(np newPeerBody) {
	known := e.peers.byKey[np.Key] != nil
	q := e.addPeerFrom(np.Key, np.Number, np.Addresses, true, true)
	switch {
	case q == nil:
	case !np.Listed:
		e.announceSelf = e.announceSelf || !known
	case slices.Contains(np.Missing, e.selfNumber):
		// A known member could repeat a listed announcement that names
		// everyone: each of them answers it at most once a minute.
		if q.answeredAt.IsZero() || !e.now.Before(q.answeredAt.Add(answerInterval)) {
			q.answeredAt = e.now
			e.announceSelf = true
		}
	}
}

// answerInterval bounds how often we answer one member's listed
// announcements that name us missing.
const answerInterval = time.Minute

// handleLeave: KILL deletes and FREEZE freezes the sender, only if the body
// names the sender itself (signature makes that unforgeable).
func (e *Engine) handleLeave(origin identity.PublicKey, q *peer, kind byte, body []byte) bool {
	n := newReader(body).u16()
	if q == nil || n != q.number || origin != q.key {
		return false
	}
	if kind == KindFreezePeer {
		e.freeze(q)
		return true
	}
	e.dropPeer(q)
	e.persist(PeerDeletedRow{Key: q.key})
	e.emit(PeerLeft{Key: q.key})
	return true
}

// relay forwards the message to every online connection except the arrival
// one. Deviation: Tox also sends it back to the arrival one if that is the
// origin (§3.4.3 step 7); we answer the origin with one HOLDING per turn
// instead (noteHolding).
func (e *Engine) relay(arrival *conn, m *MessagePacket) {
	n := 0
	for _, c := range e.conns {
		if c.online && c != arrival && e.sessions[c.key] {
			n++
		}
	}
	if n == 0 {
		return
	}
	// One encoding, copied into one backing array of exactly n copies (so
	// no append moves it): the copies differ only in the receiver's group
	// number (bytes 1-2).
	size := m.encodedLen()
	all := m.appendEncode(make([]byte, 0, n*size))
	i := 0
	for _, c := range e.conns {
		if !c.online || c == arrival || !e.sessions[c.key] {
			continue
		}
		if i > 0 {
			all = append(all, all[:size]...)
		}
		pkt := all[i*size : (i+1)*size : (i+1)*size]
		pkt[1], pkt[2] = byte(c.remoteGroup>>8), byte(c.remoteGroup)
		e.sendRaw(c.key, pkt)
		i++
	}
}

// flood sends our own message to every online connection.
func (e *Engine) flood(m *MessagePacket) {
	for _, c := range e.conns {
		if !c.online {
			continue
		}
		out := *m
		out.Group = c.remoteGroup
		e.sendRaw(c.key, out.Encode())
	}
}

// floodUnsealed queues our own message, not yet sealed, for every online
// connection: each packet is a 3-byte placeholder (id, receiver's group
// number) that seal replaces with the encoded message.
func (e *Engine) floodUnsealed() {
	for _, c := range e.conns {
		if !c.online {
			continue
		}
		e.sendRaw(c.key, []byte{PacketMessageBatch, byte(c.remoteGroup >> 8), byte(c.remoteGroup)})
	}
}
