package conference

import (
	"fmt"
	"time"
)

// originate numbers, applies and floods one message of ours. Stored kinds
// get prev prepended, are stored and shown at once; inside an own user
// action they are staged instead and enter the store on Advance. The new
// next number is persisted (MetaRow) before the packet is returned.
//
// The message is not signed here: it joins the run of own messages that
// seal signs together (one signature for up to maxRunLeaves messages)
// before the outputs leave the engine (Ready, Advance, Abort). Until then
// its staged record, its MessageRow and its flood packets hold no auth; a
// stored kind that enters the store at once (it could be served before
// the next Ready) seals the run at once.
func (e *Engine) originate(kind byte, payload []byte) {
	number := e.nextNumber
	e.nextNumber++
	if e.nextNumber == 0 {
		e.nextNumber = 1
	}
	body := payload
	if storedKind(kind) {
		body = putU32(make([]byte, 0, 4+len(payload)), e.prevNumber())
		body = append(body, payload...)
	}
	e.persistMeta()
	u := unsealedMsg{number: number, kind: kind, body: body, sender: e.selfNumber, row: -1,
		signed: signedBytes(e.id, e.self, number, kind, body)}
	rec := Record{Origin: e.self, Number: number, Kind: kind, Body: body}
	switch {
	case storedKind(kind) && e.stage.active != 0:
		u.st, u.row = e.originateStaged(rec)
	case storedKind(kind):
		e.unsealed = append(e.unsealed, u)
		rec.Signature = e.seal()
		e.lastStored = number
		e.acceptRecord(rec, false)
		e.selfSeen.mark(number)
		e.flood(&MessagePacket{Sender: e.selfNumber, Number: number, Kind: kind, Body: body, Auth: rec.Signature})
		return
	}
	e.selfSeen.mark(number)
	u.pktFrom = len(e.out.packets)
	e.floodUnsealed()
	u.pktTo = len(e.out.packets)
	if u.st == nil && u.pktFrom == u.pktTo {
		return // an ephemeral message nobody will receive needs no signature
	}
	e.unsealed = append(e.unsealed, u)
}

// unsealedMsg is an own message waiting for its auth, and where the
// outputs that carry it are.
type unsealedMsg struct {
	number         uint32
	kind           byte
	body           []byte
	sender         uint16
	signed         []byte  // signedBytes of the message
	st             *stored // its staged record, or nil
	row            int     // index of its MessageRow in out.rows, or -1
	pktFrom, pktTo int     // its flood packets in out.packets
}

// seal signs the run of unsealed own messages (sealRun) and fills their
// auths in: the staged record and its hash, its MessageRow (signature and
// fingerprint), the title if it is this TITLE, and the flood packets. It
// returns the auth of the last message of the run. It only runs while
// nothing but originate has touched the outbox since the run began, so the
// recorded indices are still valid.
func (e *Engine) seal() []byte {
	if len(e.unsealed) == 0 {
		return nil
	}
	signed := make([][]byte, len(e.unsealed))
	for i := range e.unsealed {
		signed[i] = e.unsealed[i].signed
	}
	auths, n := sealRun(e.cfg.Self, e.id, signed)
	e.signs += n
	for i := range e.unsealed {
		e.fillAuth(&e.unsealed[i], auths[i])
	}
	clear(e.unsealed)
	e.unsealed = e.unsealed[:0]
	return auths[len(auths)-1]
}

func (e *Engine) fillAuth(u *unsealedMsg, auth []byte) {
	if u.st != nil {
		u.st.rec.Signature = auth
		u.st.hash = hashOf(u.signed, auth)
		if u.row >= 0 {
			r := e.out.rows[u.row].(MessageRow)
			r.Signature, r.Fingerprint = auth, fingerprint(u.st.hash)
			e.out.rows[u.row] = r
		}
	}
	if t := &e.title; u.kind == KindTitle && t.has && t.rec.Origin == e.self && t.rec.Number == u.number {
		t.rec.Signature = auth
	}
	m := MessagePacket{Sender: u.sender, Number: u.number, Kind: u.kind, Body: u.body, Auth: auth}
	for j := u.pktFrom; j < u.pktTo; j++ {
		p := &e.out.packets[j]
		m.Group = uint16(p.Data[1])<<8 | uint16(p.Data[2])
		data := m.Encode()
		e.out.bytes += len(data) - len(p.Data)
		p.Data = data
	}
}

// originateStaged applies an own record of a user action without storing
// it: its row, name/title effect and event are tagged for Abort. It
// returns the staged record and the index of its MessageRow (seal fills
// their auth in).
func (e *Engine) originateStaged(rec Record) (*stored, int) {
	st := &stored{rec: rec, received: e.now, shown: true}
	e.stageRecord(st)
	row := len(e.out.rows)
	e.persistRecord(st, e.store.origin(e.self).forked)
	e.applyRecord(rec)
	if rec.Kind == KindMessage || rec.Kind == KindAction {
		e.emit(MessageReceived{Origin: e.self, Number: rec.Number, Action: rec.Kind == KindAction,
			Text: textOf(rec.Body), Own: true})
	}
	return st, row
}

func (e *Engine) checkSendable(now time.Time) error {
	e.now = now
	switch e.status {
	case statusJoining:
		return ErrNotConnected
	case statusLeft:
		return ErrLeft
	}
	return nil
}

// SendMessage sends a chat message. It appears at once as our own
// MessageReceived event; it is stored and synced even if no connection is
// online (deviation: Tox returns NO_CONNECTION).
func (e *Engine) SendMessage(now time.Time, text string) error {
	return e.sendText(now, KindMessage, text)
}

// SendAction sends an action ("/me").
func (e *Engine) SendAction(now time.Time, text string) error {
	return e.sendText(now, KindAction, text)
}

func (e *Engine) sendText(now time.Time, kind byte, text string) error {
	if err := e.checkSendable(now); err != nil {
		return fmt.Errorf("conference: send: %w", err)
	}
	if len(text) == 0 {
		return fmt.Errorf("conference: send: %w", ErrEmpty)
	}
	if len(text) > MaxTextLength {
		return fmt.Errorf("conference: send: %w", ErrTooLong)
	}
	e.beginAction()
	defer e.endAction()
	if e.sync.selfSync {
		e.sync.queued = append(e.sync.queued, queuedOwn{kind: kind, text: text, tag: e.stage.active})
		return nil
	}
	e.originate(kind, []byte(text))
	return nil
}

// SetTitle sets the title (1..128 bytes). Its Lamport stamp is one more
// than the largest known; it is signed and stored even when we are alone.
func (e *Engine) SetTitle(now time.Time, title string) error {
	if err := e.checkSendable(now); err != nil {
		return fmt.Errorf("conference: set title: %w", err)
	}
	if len(title) == 0 {
		return fmt.Errorf("conference: set title: %w", ErrEmpty)
	}
	if len(title) > MaxNameLength {
		return fmt.Errorf("conference: set title: %w", ErrTooLong)
	}
	if title == e.title.text {
		return nil
	}
	if e.title.stamp >= MaxTitleStamp {
		return fmt.Errorf("conference: set title: %w", ErrTitleLocked)
	}
	e.beginAction()
	defer e.endAction()
	if e.sync.selfSync { // the stamp is computed after self-sync
		e.sync.queued = append(e.sync.queued, queuedOwn{kind: KindTitle, text: title, tag: e.stage.active})
		return nil
	}
	payload := putU64(nil, e.title.stamp+1)
	e.originate(KindTitle, append(payload, title...))
	return nil
}

// SetName sets our name (≤ 128 bytes) and floods a signed NAME (Tox sends
// it even if unchanged). While joining it is sent once connected.
func (e *Engine) SetName(now time.Time, name string) error {
	e.now = now
	if len(name) > MaxNameLength {
		return fmt.Errorf("conference: set name: %w", ErrTooLong)
	}
	e.beginAction()
	defer e.endAction()
	e.name = name
	if e.status != statusConnected || e.sync.selfSync {
		e.sendName = e.status == statusConnected
		return nil
	}
	e.originate(KindName, []byte(name))
	return nil
}

// SetAddresses changes the addresses we announce; connected members flood a
// self NEW_PEER with them.
func (e *Engine) SetAddresses(now time.Time, addrs []string) {
	e.now = now
	e.cfg.Addresses = sanitizeAddresses(addrs)
	e.announceSelf = e.status == statusConnected
}

// Leave leaves for good: floods KILL_PEER for ourselves (best effort), then
// stops. The node should delete the conference afterwards.
func (e *Engine) Leave(now time.Time) {
	e.leaveWith(now, KindKillPeer)
}

// Shutdown is a temporary leave (the profile is closing): floods
// FREEZE_PEER so others freeze us at once, then stops. Restore later.
func (e *Engine) Shutdown(now time.Time) {
	e.leaveWith(now, KindFreezePeer)
}

func (e *Engine) leaveWith(now time.Time, kind byte) {
	e.now = now
	if e.status == statusConnected && e.onlineCount() > 0 {
		e.originate(kind, putU16(nil, e.selfNumber))
	}
	_ = e.setStatus(statusLeft) // always legal: left is reachable from every status
	if kind == KindKillPeer {
		e.persistMeta()
	}
	e.conns = nil
}

func (e *Engine) floodNewPeer(q *peer) {
	e.originate(KindNewPeer, newPeerBody{Number: q.number, Key: q.key, Addresses: q.addrs}.encode())
}

func (e *Engine) floodSelfAnnouncement() {
	np := newPeerBody{Number: e.selfNumber, Key: e.self, Addresses: e.cfg.Addresses}
	if e.announceListed && len(e.peers.hints) <= maxMissing {
		np.Listed = true
		for _, h := range e.peers.hints {
			np.Missing = append(np.Missing, h.number)
		}
	}
	e.announceSelf, e.announceListed = false, false
	e.originate(KindNewPeer, np.encode())
}

// maybePing floods a PING when the ping interval has passed and some
// connection is online. Extension: the body carries our last stored number
// so receivers notice a lost tail message.
func (e *Engine) maybePing() {
	if e.status != statusConnected || e.sync.selfSync || e.onlineCount() == 0 {
		return
	}
	if !e.lastPing.IsZero() && e.now.Before(e.lastPing.Add(e.cfg.pingInterval())) {
		return
	}
	e.lastPing = e.now
	e.originate(KindPing, putU32(nil, e.lastStored))
}

// flushNameAndAnnounce sends the batched self announcement and NAME (one
// per tick however many peers thawed, Tox §5.3).
func (e *Engine) flushNameAndAnnounce() {
	if e.sync.selfSync {
		return
	}
	if e.announceSelf {
		e.floodSelfAnnouncement()
	}
	if e.sendName && !e.staged() { // after Advance: never chained to an undoable message
		e.sendName = false
		e.originate(KindName, []byte(e.name))
	}
}
