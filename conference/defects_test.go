package conference_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"slices"
	"testing"
	"time"

	"confchat/conference"
	"confchat/conference/simnet"
	"confchat/identity"
)

// signAs builds a flooded message packet from sender (as number) signed
// by kp, for receiver group g.
func signAs(kp *identity.KeyPair, id conference.ID, g, sender uint16, number uint32, kind byte, body []byte) []byte {
	sig := kp.Sign(conference.SignedBytes(id, kp.Public(), number, kind, body))
	return forged(nil, g, sender, number, kind, body, sig)
}

func record(kp *identity.KeyPair, id conference.ID, number uint32, kind byte, body []byte) conference.Record {
	return conference.Record{Origin: kp.Public(), Number: number, Kind: kind, Body: body,
		Signature: kp.Sign(conference.SignedBytes(id, kp.Public(), number, kind, body))}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// Defect 1: a flood of HISTORY REQUESTs from a member keeps the queued
// history bytes under a fixed cap (and the heap growth small).
func TestDefect01HistoryRequestQueueBounded(t *testing.T) {
	net, nodes := buildChain(t, 51, 2, 10*time.Second)
	a, b := nodes[0], nodes[1]
	for i := range 60 {
		_ = a.Send(fmt.Sprintf("message %d with some length to it", i))
	}
	net.Run(2 * time.Second)
	before := heapInUse()
	req := (&conference.HistoryRequestPacket{Group: a.GroupNumber(), Count: math.MaxUint16}).Encode()
	for range 10000 {
		net.Inject(b, a, req)
	}
	net.Run(50 * time.Millisecond)
	queued := a.Engine.QueuedHistoryBytes()
	grown := int64(heapInUse()) - int64(before)
	const capBytes = 2 << 20
	if queued > capBytes || grown > 32<<20 {
		t.Fatalf("after 10,000 history requests: %d bytes queued (cap %d), heap grew %d MiB", queued, capBytes, grown>>20)
	}
}

// Defect 5: summaries naming origins that are not members are not
// remembered, so a summary costs work linear in its own size.
func TestDefect05SummaryOriginsBounded(t *testing.T) {
	net, nodes := buildChain(t, 55, 2, 10*time.Second)
	a, b := nodes[0], nodes[1]
	for round := range 16 {
		var entries []conference.SummaryEntry
		for i := range 256 {
			var k identity.PublicKey
			binary.BigEndian.PutUint32(k[:], uint32(round*256+i+1))
			entries = append(entries, conference.SummaryEntry{Origin: k, Floor: 1, HWM: 5, Top: 9})
		}
		net.Inject(b, a, (&conference.SummaryPacket{Group: a.GroupNumber(), Entries: entries}).Encode())
	}
	net.Run(50 * time.Millisecond)
	if n := a.Engine.RemoteOrigins(b.Key()); n > 8 {
		t.Fatalf("a remembers %d origins from b's summaries; only members count", n)
	}
}

// Defect 6: a BATCH nobody asked for, or records of keys that are not
// members, are not stored; the store stays within its retention.
func TestDefect06BatchFromNonMembersRefused(t *testing.T) {
	net := simnet.New(56)
	net.Config.FreezeAfter = 10 * time.Second
	net.Config.RetentionCount = 40
	nodes := net.AddN("n", 2)
	net.Linear(nodes)
	a, b := nodes[0], nodes[1]
	b.AutoJoin = true
	a.Create()
	_ = a.Invite(b)
	if !net.RunUntil(10*time.Second, allActive(nodes, 2)) {
		t.Fatal("join")
	}
	net.Run(6 * time.Second)
	id := a.Engine.ID()
	stored := a.Engine.StoredCount()
	for i := range 200 {
		stranger := mustKey(t, byte(i+10))
		recs := []conference.Record{
			record(stranger, id, 1, conference.KindName, append([]byte{0, 0, 0, 0}, "junk name"...)),
			record(stranger, id, 2, conference.KindMessage, append([]byte{0, 0, 0, 1}, "junk"...)),
		}
		net.Inject(b, a, (&conference.BatchPacket{Group: a.GroupNumber(), Records: recs}).Encode())
	}
	net.Run(time.Second)
	if got := a.Engine.StoredCount(); got != stored || got > 40 {
		t.Fatalf("store went from %d to %d messages (retention 40) on junk batches", stored, got)
	}
	for _, x := range a.Received {
		if x.Text == "junk" {
			t.Fatal("a junk record was shown")
		}
	}
}

// Defect 7: a TITLE with stamp 2^64-1 cannot lock the title: stamps never
// wrap, such titles are refused, and set_title keeps working.
func TestDefect07TitleStampNoWrap(t *testing.T) {
	net, nodes := buildChain(t, 57, 2, 10*time.Second)
	a, b := nodes[0], nodes[1]
	net.Run(6 * time.Second)
	id := a.Engine.ID()
	body := binary.BigEndian.AppendUint32(nil, 0)
	body = binary.BigEndian.AppendUint64(body, math.MaxUint64)
	body = append(body, "locked"...)
	n := b.Engine.NextNumber() + 10
	net.Inject(b, a, signAs(b.KeyPair(), id, a.GroupNumber(), b.Engine.SelfNumber(), n, conference.KindTitle, body))
	net.Run(time.Second)
	if err := a.SetTitle("changed"); err != nil {
		t.Fatalf("set title after the max-stamp title: %v", err)
	}
	net.Run(2 * time.Second)
	if a.Engine.Title() != "changed" || b.Engine.Title() != "changed" {
		t.Fatalf("titles %q %q, want \"changed\"", a.Engine.Title(), b.Engine.Title())
	}
}

// Defect 8: a NEW_PEER from member M naming V cannot change V's addresses
// nor unfreeze V.
func TestDefect08NewPeerCannotRewriteOthers(t *testing.T) {
	net, nodes := buildChain(t, 58, 3, 6*time.Second)
	a, m, v := nodes[0], nodes[1], nodes[2]
	net.Run(3 * time.Second)
	addrs := func() []string {
		for _, p := range a.Engine.Peers() {
			if p.Key == v.Key() {
				return p.Addresses
			}
		}
		return nil
	}
	want := addrs()
	v.Pause()
	if !net.RunUntil(20*time.Second, func() bool { return a.ActiveCount() == 2 }) {
		t.Fatal("v never froze at a")
	}
	body := binary.BigEndian.AppendUint16(nil, v.Engine.SelfNumber())
	vk := v.Key()
	body = append(body, vk[:]...)
	body = append(body, 1, byte(len("6.6.6.6:6666")))
	body = append(body, "6.6.6.6:6666"...)
	n := m.Engine.NextNumber() + 10
	net.Inject(m, a, signAs(m.KeyPair(), a.Engine.ID(), a.GroupNumber(), m.Engine.SelfNumber(), n, conference.KindNewPeer, body))
	net.Run(100 * time.Millisecond)
	if got := addrs(); !slices.Equal(got, want) {
		t.Fatalf("v's addresses at a became %v (were %v)", got, want)
	}
	if a.ActiveCount() != 2 {
		t.Fatalf("m's NEW_PEER unfroze v at a (active %d)", a.ActiveCount())
	}
}

// Defect 2: an Invite for our conference from a session that is not a
// known member gains no online connection: no live flood, no history, no
// peer list — only the member response.
func TestDefect02InviteFromNonMemberGetsNothing(t *testing.T) {
	net, nodes := buildChain(t, 52, 2, 10*time.Second)
	a := nodes[0]
	x := net.Add("stranger")
	net.MakeFriends(a, x)
	net.Run(time.Second)
	got := map[byte]int{}
	net.SetTap(func(from, to *simnet.Node, data []byte) {
		if from == a && to == x && len(data) > 1 {
			got[data[0]]++
			if data[0] == 0x60 && data[1] != 0x02 {
				got[0xFF]++
			}
		}
	})
	id := a.Engine.ID()
	g := a.GroupNumber()
	net.Inject(x, a, (&conference.InvitePacket{InviterGroup: 7, ID: id}).Encode())
	net.Inject(x, a, (&conference.OnlinePacket{SenderGroup: 7, ID: id}).Encode())
	net.Inject(x, a, (&conference.PeerQueryPacket{Group: g}).Encode())
	net.Inject(x, a, (&conference.HistoryRequestPacket{Group: g, Count: 100}).Encode())
	net.Inject(x, a, (&conference.SummaryPacket{Group: g}).Encode())
	net.Run(100 * time.Millisecond)
	_ = a.Send("secret")
	net.Run(5 * time.Second)
	net.SetTap(nil)
	if got[0x60] != 1 || got[0xFF] != 0 || len(got) != 1 {
		t.Fatalf("the stranger received packets by id %v; want only the member response", got)
	}
	if slices.Contains(a.Engine.ConnectedPeers(), x.Key()) {
		t.Fatal("the stranger holds an online connection")
	}
}

// Defect 9: unsigned Peer Response entries cannot make us renumber, and
// cannot grow the peer table past its bound.
func TestDefect09PeerResponseClaimsBounded(t *testing.T) {
	net, nodes := buildChain(t, 59, 2, 10*time.Second)
	a, b := nodes[0], nodes[1]
	net.Run(6 * time.Second)
	self := a.Engine.SelfNumber()
	g := a.GroupNumber()
	for i := range 50 {
		var k identity.PublicKey // smaller than any real key
		k[31] = byte(i + 1)
		net.Inject(b, a, (&conference.PeerResponsePacket{Group: g, Entries: []conference.PeerEntry{
			{Number: a.Engine.SelfNumber(), Key: k, Name: "claim"}}}).Encode())
		net.Run(10 * time.Millisecond)
	}
	renumbered := 0
	for _, ev := range a.Events {
		if _, ok := ev.(conference.Renumbered); ok {
			renumbered++
		}
	}
	if renumbered != 0 || a.Engine.SelfNumber() != self {
		t.Fatalf("%d renumberings from unsigned claims (number %d -> %d)", renumbered, self, a.Engine.SelfNumber())
	}
	for p := range 100 {
		var entries []conference.PeerEntry
		for i := range 300 {
			var k identity.PublicKey
			binary.BigEndian.PutUint32(k[:], uint32(p*300+i+1))
			k[31] = 0xEE
			entries = append(entries, conference.PeerEntry{Number: uint16(p*300 + i + 1000), Key: k})
		}
		net.Inject(b, a, (&conference.PeerResponsePacket{Group: g, Entries: entries}).Encode())
	}
	net.Run(10 * time.Millisecond)
	if n := a.ActiveCount() + a.Engine.FrozenCount(); n > 1025 {
		t.Fatalf("30,000 unsigned entries made %d peers", n)
	}
}

// Defect 9: entries about keys that never signed anything for the
// conference (Peer Response entries for third parties, a member's NEW_PEER
// naming another key) are hints: never members, never events or rows,
// bounded; a hint whose key then signs a message becomes a member.
func TestDefect09UnsignedPeersAreHintsOnly(t *testing.T) {
	net, nodes := buildChain(t, 69, 2, 10*time.Second)
	a, b := nodes[0], nodes[1]
	net.Run(6 * time.Second)
	g, id := a.GroupNumber(), a.Engine.ID()
	before, rows, events := a.Engine.Peers(), len(a.DB.State().Peers), len(a.Events)
	for p := range 100 { // 100 packets of about 15 KB: 30,000 fake entries
		var entries []conference.PeerEntry
		for i := range 300 {
			var k identity.PublicKey
			binary.BigEndian.PutUint32(k[:], uint32(p*300+i+1))
			k[31] = 0xEE
			entries = append(entries, conference.PeerEntry{Number: uint16(p*300 + i + 1000), Key: k,
				Addresses: []string{"10.0.0.1:1"}, Name: "fake"})
		}
		entries = append(entries, conference.PeerEntry{Number: a.Engine.SelfNumber() + 1, Key: b.Key()})
		pkt := (&conference.PeerResponsePacket{Group: g, Entries: entries}).Encode()
		if p == 0 && len(pkt) < 15000 {
			t.Fatalf("attack packet is %d bytes, want about 15 KB", len(pkt))
		}
		net.Inject(b, a, pkt)
	}
	// A member's own signed NEW_PEER naming another key is unsigned by that key.
	var sybil identity.PublicKey
	sybil[0] = 0x77
	body := binary.BigEndian.AppendUint16(nil, 4242)
	body = append(body, sybil[:]...)
	body = append(body, 0)
	net.Inject(b, a, signAs(b.KeyPair(), id, g, b.Engine.SelfNumber(), b.Engine.NextNumber()+10, conference.KindNewPeer, body))
	net.Run(100 * time.Millisecond)
	if got := a.Engine.Peers(); !slices.Equal(keysOf(got), keysOf(before)) {
		t.Fatalf("unsigned entries changed the members: %d -> %d", len(before), len(got))
	}
	if a.ActiveCount() != 2 || a.Engine.FrozenCount() != 0 {
		t.Fatalf("active %d frozen %d after the attack", a.ActiveCount(), a.Engine.FrozenCount())
	}
	if n := a.Engine.HintCount(); n == 0 || n > 256 {
		t.Fatalf("hint table holds %d, want 1..256", n)
	}
	for _, ev := range a.Events[events:] {
		if j, ok := ev.(conference.PeerJoined); ok {
			t.Fatalf("unsigned entry emitted %+v", j)
		}
	}
	if n := len(a.DB.State().Peers); n != rows {
		t.Fatalf("peer rows %d -> %d", rows, n)
	}
	if got := a.Engine.Peers()[1]; got.Key != b.Key() || got.Number != b.Engine.SelfNumber() {
		t.Fatalf("member b displaced: %+v", got)
	}

	// An honest hint: a key the member names, that then signs a ping.
	kp := mustKey(t, 0x99)
	net.Inject(b, a, (&conference.PeerResponsePacket{Group: g, Entries: []conference.PeerEntry{
		{Number: 777, Key: kp.Public(), Name: "real"}}}).Encode())
	net.Run(10 * time.Millisecond)
	if a.Engine.Knows(kp.Public()) {
		t.Fatal("a hint is a known member before it signed anything")
	}
	net.Inject(b, a, signAs(kp, id, g, 777, 1, conference.KindPing, make([]byte, 4)))
	net.Run(10 * time.Millisecond)
	if !a.Engine.Knows(kp.Public()) || a.ActiveCount() != 3 || a.Engine.Name(kp.Public()) != "real" {
		t.Fatalf("a signed ping did not make the hint a member (active %d, name %q)",
			a.ActiveCount(), a.Engine.Name(kp.Public()))
	}
	joined := false
	for _, ev := range a.Events[events:] {
		if j, ok := ev.(conference.PeerJoined); ok && j.Key == kp.Public() && j.Number == 777 {
			joined = true
		}
	}
	if !joined {
		t.Fatal("no PeerJoined for the vouched key")
	}
}

func keysOf(ps []conference.PeerInfo) []identity.PublicKey {
	var out []identity.PublicKey
	for _, p := range ps {
		out = append(out, p.Key)
	}
	return out
}
