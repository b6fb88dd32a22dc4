package conference_test

import (
	"encoding/binary"
	"testing"
	"time"

	"confchat/conference"
	"confchat/conference/simnet"
)

type snapshot struct {
	title    string
	names    map[string]string
	active   []int
	received []int
	msgs     []int
}

func observe(nodes []*simnet.Node) snapshot {
	s := snapshot{title: nodes[0].Engine.Title(), names: map[string]string{}}
	for _, x := range nodes {
		for _, y := range nodes {
			s.names[x.Label+">"+y.Label] = x.Engine.Name(y.Key())
		}
		s.active = append(s.active, x.ActiveCount())
		s.received = append(s.received, len(x.Received))
		s.msgs = append(s.msgs, len(x.Engine.MessageSet()))
	}
	return s
}

func forged(e *conference.Engine, group, sender uint16, number uint32, kind byte, body []byte, sig []byte) []byte {
	p := &conference.MessagePacket{Group: group, Sender: sender, Number: number, Kind: kind,
		Body: append([]byte(nil), body...), Auth: sig}
	return p.Encode()
}

func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

// Acceptance: a malicious member that forges messages, names, titles or
// leaves for others, or replays old messages, changes nothing on honest
// peers.
func TestMaliciousMemberChangesNothing(t *testing.T) {
	net, nodes := buildChain(t, 33, 6, 10*time.Second)
	victim, mal, target := nodes[1], nodes[4], nodes[3]
	var captured [][]byte
	net.SetTap(func(from, to *simnet.Node, data []byte) {
		if from == victim && to == target && len(data) > 0 && (data[0] == conference.PacketMessage || data[0] == conference.PacketMessageBatch) {
			captured = append(captured, append([]byte(nil), data...))
		}
	})
	_ = victim.SetName("victim v1")
	_ = victim.Send("genuine")
	_ = victim.SetTitle("genuine title")
	net.Run(time.Second)
	_ = victim.SetName("victim v2")
	net.Run(time.Second)
	net.SetTap(nil)
	honest := []*simnet.Node{nodes[0], nodes[1], nodes[2], nodes[3], nodes[5]}
	before := observe(honest)
	if before.title != "genuine title" || len(captured) < 4 {
		t.Fatalf("setup: title %q, captured %d", before.title, len(captured))
	}

	id := mal.Engine.ID()
	vn := victim.Engine.SelfNumber()
	mn := mal.Engine.SelfNumber()
	kp := mal.KeyPair()
	hi := mal.Engine.NextNumber() + 5000
	g := target.GroupNumber()
	sign := func(sender uint16, num uint32, kind byte, body []byte) []byte {
		// mal signs with its own key, whatever the sender field says
		return kp.Sign(conference.SignedBytes(id, mal.Key(), num, kind, body))
	}
	prev0 := []byte{0, 0, 0, 0}
	title := append(append(append([]byte(nil), prev0...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0), "forged"...)
	attacks := [][]byte{
		forged(mal.Engine, g, vn, hi, conference.KindMessage, append(prev0, "forged msg"...), sign(vn, hi, conference.KindMessage, append(prev0, "forged msg"...))),
		forged(mal.Engine, g, vn, hi+1, conference.KindName, append(prev0, "forged name"...), sign(vn, hi+1, conference.KindName, append(prev0, "forged name"...))),
		forged(mal.Engine, g, vn, hi+2, conference.KindTitle, title, sign(vn, hi+2, conference.KindTitle, title)),
		forged(mal.Engine, g, vn, hi+3, conference.KindKillPeer, u16(vn), sign(vn, hi+3, conference.KindKillPeer, u16(vn))),
		forged(mal.Engine, g, vn, hi+4, conference.KindFreezePeer, u16(vn), sign(vn, hi+4, conference.KindFreezePeer, u16(vn))),
		// validly signed by mal but naming the victim: "kill other"
		forged(mal.Engine, g, mn, hi+5, conference.KindKillPeer, u16(vn), sign(mn, hi+5, conference.KindKillPeer, u16(vn))),
		forged(mal.Engine, g, mn, hi+6, conference.KindFreezePeer, u16(vn), sign(mn, hi+6, conference.KindFreezePeer, u16(vn))),
		// garbage signature
		forged(mal.Engine, g, vn, hi+7, conference.KindMessage, append(prev0, "x"...), make([]byte, 64)),
	}
	for _, data := range captured { // replays of the victim's genuine messages
		m, err := conference.DecodeMessage(data)
		if err != nil {
			t.Fatal(err)
		}
		m.Group = g
		attacks = append(attacks, m.Encode())
	}
	// A history batch with a tampered record.
	rec := conference.Record{Origin: victim.Key(), Number: hi + 8, Kind: conference.KindMessage,
		Body: append(prev0, "tampered"...), Signature: make([]byte, 64)}
	attacks = append(attacks, (&conference.BatchPacket{Group: g, Records: []conference.Record{rec}}).Encode())
	for _, data := range attacks {
		for _, to := range honest {
			if to == target {
				net.Inject(mal, to, data)
			}
		}
	}
	net.Run(5 * time.Second)
	after := observe(honest)
	if after.title != before.title {
		t.Fatalf("title changed to %q", after.title)
	}
	for k, v := range before.names {
		if after.names[k] != v {
			t.Fatalf("name %s changed from %q to %q", k, v, after.names[k])
		}
	}
	for i := range honest {
		if after.active[i] != before.active[i] || after.received[i] != before.received[i] {
			t.Fatalf("%s: active %d->%d, received %d->%d", honest[i].Label,
				before.active[i], after.active[i], before.received[i], after.received[i])
		}
	}
	if victim.Engine.Name(victim.Key()) != "victim v2" || target.Engine.Name(victim.Key()) != "victim v2" {
		t.Fatalf("victim's name is %q at the target", target.Engine.Name(victim.Key()))
	}
}
