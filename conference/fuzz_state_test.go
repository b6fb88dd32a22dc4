package conference

import (
	"encoding/binary"
	"testing"
	"time"

	"confchat/identity"
)

// FuzzEngineSequence is the stateful target: the input is a program of
// operations by three member keys (raw packets, validly signed flooded
// messages and history batches, session changes, timer ticks, own user
// actions, Advance and Abort). After every step the engine's state must
// stay within its bounds.
func FuzzEngineSequence(f *testing.F) {
	for _, s := range seedPackets() {
		f.Add(append([]byte{0, 0, byte(len(s))}, s...))
	}
	f.Add([]byte{1, 1, 8, KindMessage, 0, 0, 0, 2, 0, 0, 0, 0, 3, 2, 1, 9, 6, 0, 0, 5, 0, 2, 'h', 'i', 7, 0, 0})
	f.Add([]byte{1, 0, 9, KindTitle, 0, 0, 0, 3, 0, 0, 0, 0, 0xff, 2, 2, 9, KindName, 0, 0, 0, 4, 0, 0, 0, 0, 'n'})
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, prog []byte) {
		now := start
		e, _ := Create(Config{Self: fuzzKey(9), GroupNumber: 1, RetentionCount: 50, JoinHistory: 4, HotWindow: 8}, now)
		var members [3]*identity.KeyPair
		for i := range members {
			members[i] = fuzzKey(byte(i + 1))
			k := members[i].Public()
			e.SessionUp(now, k)
			c := e.addConn(k, reasonClosest)
			c.online, c.remoteGroup = true, uint16(10+i)
			e.addPeer(k, uint16(100+i), nil, true)
			e.sync.linkUp(e, c)
		}
		e.Ready()
		e.Advance()
		for len(prog) >= 3 {
			op, who, n := prog[0], int(prog[1])%3, int(prog[2])
			prog = prog[3:]
			n = min(n, len(prog))
			data := prog[:n]
			prog = prog[n:]
			now = stepEngine(e, now, op, members[who], uint16(100+who), data)
			checkBounds(t, e)
		}
	})
}

func stepEngine(e *Engine, now time.Time, op byte, kp *identity.KeyPair, number uint16, data []byte) time.Time {
	from := kp.Public()
	switch op % 8 {
	case 0: // raw bytes, addressed to our group
		d := append([]byte(nil), data...)
		if len(d) > 3 {
			d[1], d[2] = 0, 1
		}
		_ = e.HandlePacket(now, from, d)
	case 1: // a validly signed flooded message
		if len(data) < 5 {
			return now
		}
		kind, num, body := data[0], binary.BigEndian.Uint32(data[1:5]), data[5:]
		if num%2 == 0 { // plain
			sig := kp.Sign(signedBytes(e.id, from, num, kind, body))
			m := &MessagePacket{Group: 1, Sender: number, Number: num, Kind: kind, Body: append([]byte(nil), body...), Auth: sig}
			_ = e.HandlePacket(now, from, m.Encode())
			break
		}
		// a sealed batch: this message and the next number with the same body
		signed := [][]byte{signedBytes(e.id, from, num, kind, body), signedBytes(e.id, from, num+1, kind, body)}
		auths, _ := sealRun(kp, e.id, signed)
		for i, a := range auths {
			m := &MessagePacket{Group: 1, Sender: number, Number: num + uint32(i), Kind: kind, Body: append([]byte(nil), body...), Auth: a}
			_ = e.HandlePacket(now, from, m.Encode())
		}
	case 2: // a history batch of validly signed records of the sender
		var recs []Record
		for len(data) >= 6 {
			kind, num, l := data[0], binary.BigEndian.Uint32(data[1:5]), int(data[5])
			data = data[6:]
			l = min(l, len(data))
			body := append([]byte(nil), data[:l]...)
			data = data[l:]
			recs = append(recs, Record{Origin: from, Number: num, Kind: kind, Body: body,
				Signature: kp.Sign(signedBytes(e.id, from, num, kind, body))})
		}
		if len(recs)%2 == 0 && len(recs) > 0 { // sealed in one batch instead
			signed := make([][]byte, len(recs))
			for i, r := range recs {
				signed[i] = signedBytes(e.id, r.Origin, r.Number, r.Kind, r.Body)
			}
			auths, _ := sealRun(kp, e.id, signed)
			for i := range recs {
				recs[i].Signature = auths[i]
			}
		}
		_ = e.HandlePacket(now, from, (&BatchPacket{Group: 1, Records: recs}).Encode())
	case 3: // time passes
		if len(data) > 0 {
			now = now.Add(time.Duration(data[0]) * 100 * time.Millisecond)
		}
		e.Tick(now)
	case 4: // the session goes down or comes back
		if e.sessions[from] {
			e.SessionDown(now, from)
		} else {
			e.SessionUp(now, from)
		}
	case 5: // own user actions
		text := string(data)
		switch len(data) % 3 {
		case 0:
			_ = e.SendMessage(now, text)
		case 1:
			_ = e.SetTitle(now, text)
		default:
			_ = e.SetName(now, text)
		}
	case 6:
		r := e.Ready()
		for _, p := range r.Packets { // sealed: no placeholder of an own message leaves Ready
			if len(p.Data) == 3 && p.Data[0] == PacketMessageBatch {
				panic("an own message left Ready unsealed")
			}
		}
		e.Advance()
		for _, ld := range r.Loads { // the disk does not have them (or failed)
			e.Loaded(now, ld, nil)
		}
	case 7:
		e.Ready()
		e.Abort()
	}
	return now
}

func checkBounds(t *testing.T, e *Engine) {
	t.Helper()
	if n := len(e.peers.byKey); n > maxPeers || n != len(e.peers.active)+len(e.peers.frozen) {
		t.Fatalf("peer table %d (active %d frozen %d)", n, len(e.peers.active), len(e.peers.frozen))
	}
	if n := e.out.count(); n > MaxPendingOutputs+4096 {
		t.Fatalf("%d pending outputs", n)
	}
	for _, l := range e.sync.links {
		sum := 0
		for _, b := range l.queue {
			sum += len(b)
		}
		if sum != l.queued || sum > maxQueuedBytes {
			t.Fatalf("history queue %d bytes (counted %d)", sum, l.queued)
		}
	}
	if len(e.echoes) > maxEchoes || len(e.held) > e.store.count {
		t.Fatalf("echoes %d held %d stored %d", len(e.echoes), len(e.held), e.store.count)
	}
	if e.store.count > e.cfg.RetentionCount+len(e.peers.byKey)+2 {
		t.Fatalf("store %d past retention %d", e.store.count, e.cfg.RetentionCount)
	}
	for k, o := range e.store.origins {
		if o.dirty {
			continue
		}
		kept := o.summary
		o.rebuild()
		if kept != o.summary {
			t.Fatalf("origin %s: incremental summary %+v, rebuilt %+v", k.Short(), kept, o.summary)
		}
		if len(o.hot) > len(o.slots) {
			t.Fatalf("origin %s: %d bodies for %d slots", k.Short(), len(o.hot), len(o.slots))
		}
	}
	if len(e.conns) > maxConnections+maxPendingInvites {
		t.Fatalf("%d connections", len(e.conns))
	}
	if e.nextNumber == 0 {
		t.Fatal("own number wrapped to 0")
	}
	if len(e.auths.set) > authCacheSize || len(e.unsealed) > e.out.count() {
		t.Fatalf("auth cache %d, unsealed %d", len(e.auths.set), len(e.unsealed))
	}
}
