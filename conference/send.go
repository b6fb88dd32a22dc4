package conference

import (
	"fmt"
	"time"
)

// originate signs and floods one message of ours. Stored kinds get prev
// prepended, are stored and shown at once; inside an own user action they
// are staged instead and enter the store on Advance. The new next number
// is persisted (MetaRow) before the packet is returned.
func (e *Engine) originate(kind byte, payload []byte) Record {
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
	sig := e.cfg.Self.Sign(signedBytes(e.id, e.self, number, kind, body))
	e.persistMeta()
	rec := Record{Origin: e.self, Number: number, Kind: kind, Body: body, Signature: sig}
	switch {
	case storedKind(kind) && e.stage.active != 0:
		e.originateStaged(rec)
	case storedKind(kind):
		e.lastStored = number
		e.acceptRecord(rec, false)
	}
	e.selfSeen.mark(number)
	e.flood(&MessagePacket{Sender: e.selfNumber, Number: number, Kind: kind, Data: append(body, sig...)})
	return rec
}

// originateStaged applies an own record of a user action without storing
// it: its row, name/title effect and event are tagged for Abort.
func (e *Engine) originateStaged(rec Record) {
	st := &stored{rec: rec, hash: rec.Hash(e.id), received: e.now, shown: true}
	e.stageRecord(st)
	e.persistRecord(st, e.store.origin(e.self).forked)
	e.applyRecord(rec)
	if rec.Kind == KindMessage || rec.Kind == KindAction {
		e.emit(MessageReceived{Origin: e.self, Number: rec.Number, Action: rec.Kind == KindAction,
			Text: textOf(rec.Body), Own: true})
	}
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
	e.announceSelf = false
	e.originate(KindNewPeer, newPeerBody{Number: e.selfNumber, Key: e.self, Addresses: e.cfg.Addresses}.encode())
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
