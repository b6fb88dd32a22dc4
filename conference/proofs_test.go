package conference

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"confchat/identity"
)

func TestNewPeerBodyListed(t *testing.T) {
	k := fuzzKey(1).Public()
	plain := newPeerBody{Number: 3, Key: k, Addresses: []string{"127.0.0.1:1"}}
	legacy := plain.encode()
	np, err := decodeNewPeer(legacy)
	if err != nil || np.Listed || np.Missing != nil || np.Number != 3 || np.Key != k {
		t.Fatalf("body without flags: %+v, %v", np, err)
	}
	listed := plain
	listed.Listed, listed.Missing = true, []uint16{7, 9}
	enc := listed.encode()
	if !bytes.Equal(enc, append(bytes.Clone(legacy), 0x01, 2, 0, 7, 0, 9)) {
		t.Fatalf("listed body %x", enc)
	}
	np, err = decodeNewPeer(enc)
	if err != nil || !np.Listed || !slices.Equal(np.Missing, []uint16{7, 9}) {
		t.Fatalf("listed body: %+v, %v", np, err)
	}
	// Flag bits other than Listed are ignored; a flags byte without it
	// carries nothing more.
	if np, err := decodeNewPeer(append(bytes.Clone(legacy), 0x02)); err != nil || np.Listed {
		t.Fatalf("unknown flag: %+v, %v", np, err)
	}
	if np, err := decodeNewPeer(append(bytes.Clone(legacy), 0x03, 0)); err != nil || !np.Listed || len(np.Missing) != 0 {
		t.Fatalf("listed with an unknown flag: %+v, %v", np, err)
	}
	tooMany := append(bytes.Clone(legacy), 0x01, maxMissing+1)
	tooMany = append(tooMany, make([]byte, 2*(maxMissing+1))...)
	for name, b := range map[string][]byte{
		"truncated missing":  append(bytes.Clone(legacy), 0x01, 2, 0, 7),
		"no count":           append(bytes.Clone(legacy), 0x01),
		"trailing":           append(bytes.Clone(enc), 0),
		"unknown flag, more": append(bytes.Clone(legacy), 0x02, 0),
		"too many missing":   tooMany,
	} {
		if _, err := decodeNewPeer(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v, want malformed", name, err)
		}
	}
}

func TestPeerProofRoundTrip(t *testing.T) {
	found := 0
	for _, w := range seedPackets() {
		if len(w) > 3 && w[0] == PacketDirect && (w[3] == directPeerProof || w[3] == directPeerProofBatch) {
			p, err := DecodeDirect(w)
			if err != nil {
				t.Fatal(err)
			}
			pp, ok := p.(*PeerProofPacket)
			if !ok || !bytes.Equal(pp.Encode(), w) {
				t.Fatalf("%x decodes to %#v", w, p)
			}
			if (w[3] == directPeerProofBatch) != pp.Message.Batched() {
				t.Fatalf("sub-id %#x for a message batched=%v", w[3], pp.Message.Batched())
			}
			found++
		}
	}
	if found != 2 {
		t.Fatalf("%d peer proof seeds, want a plain and a batched one", found)
	}
}

// proofEngine is onlineEngine (us fuzzKey(2), member fuzzKey(1) online
// under number 4) with a hint for fuzzKey(3) under number 9.
func proofEngine(t *testing.T, now time.Time) (*Engine, identity.PublicKey, identity.PublicKey) {
	t.Helper()
	e, other, _ := onlineEngine(t)
	e.now = now
	v := fuzzKey(3).Public()
	e.addHint(v, 9, []string{"127.0.0.1:9"}, "vee")
	return e, other, v
}

// signedNewPeer is signer's own NEW_PEER under number, as a proof.
func signedNewPeer(e *Engine, signer *identity.KeyPair, number uint16) *PeerProofPacket {
	body := newPeerBody{Number: number, Key: signer.Public()}.encode()
	auths, _ := sealRun(signer, e.ID(), [][]byte{signedBytes(e.ID(), signer.Public(), 1, KindNewPeer, body)})
	return &PeerProofPacket{Group: 1, Message: MessagePacket{Sender: number, Number: 1, Kind: KindNewPeer, Body: body, Auth: auths[0]}}
}

func TestPeerProofPromotesOnlyTheSigner(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e, other, v := proofEngine(t, now)
	// signed by another key: the hint stays a hint
	if err := e.HandlePacket(now, other, signedNewPeer(e, fuzzKey(4), 9).Encode()); err != nil {
		t.Fatal(err)
	}
	if e.Knows(v) || e.HintCount() != 1 {
		t.Fatalf("a proof signed by another key: knows %v, hints %d", e.Knows(v), e.HintCount())
	}
	// under another number than the hint's: nothing to promote
	if err := e.HandlePacket(now, other, signedNewPeer(e, fuzzKey(3), 8).Encode()); err != nil {
		t.Fatal(err)
	}
	if e.Knows(v) {
		t.Fatal("a proof under a number no hint holds promoted the key")
	}
	p := signedNewPeer(e, fuzzKey(3), 9)
	if err := e.HandlePacket(now, other, p.Encode()); err != nil {
		t.Fatal(err)
	}
	if !e.Knows(v) || e.HintCount() != 0 || e.Name(v) != "vee" {
		t.Fatalf("its own signature: knows %v, hints %d, name %q", e.Knows(v), e.HintCount(), e.Name(v))
	}
	r := e.Ready()
	joined := false
	for _, ev := range r.Events {
		if j, ok := ev.(PeerJoined); ok && j.Key == v {
			joined = true
		}
	}
	if !joined {
		t.Fatalf("no PeerJoined for the proven hint: %#v", r.Events)
	}
	e.Advance()
	// the proof is kept and passed on to the next asker, after our Peer
	// Response, once a second at most
	proofsTo := func(r Ready) int {
		n := 0
		for _, o := range r.Packets {
			if w, err := DecodeDirect(o.Data); err == nil && o.To == other {
				if pp, ok := w.(*PeerProofPacket); ok && bytes.Equal(pp.Message.Auth, p.Message.Auth) {
					n++
				}
			}
		}
		return n
	}
	query := (&PeerQueryPacket{Group: 1}).Encode()
	if err := e.HandlePacket(now, other, query); err != nil {
		t.Fatal(err)
	}
	if n := proofsTo(e.Ready()); n != 1 {
		t.Fatalf("%d proofs of the new member after a Peer Query, want 1", n)
	}
	e.Advance()
	if err := e.HandlePacket(now.Add(time.Second/2), other, query); err != nil {
		t.Fatal(err)
	}
	if n := proofsTo(e.Ready()); n != 0 {
		t.Fatalf("%d proofs half a second later, want none", n)
	}
	e.Advance()
}

func TestListedAnnouncementAnsweredOnlyIfMissing(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		body    func(self uint16) newPeerBody
		known   bool // we list the announcer before its announcement
		answers bool
	}{
		{"unlisted, new to us", func(uint16) newPeerBody { return newPeerBody{} }, false, true},
		{"unlisted, known", func(uint16) newPeerBody { return newPeerBody{} }, true, false},
		{"listed, we are not missing", func(uint16) newPeerBody { return newPeerBody{Listed: true, Missing: []uint16{77}} }, false, false},
		{"listed, we are missing", func(self uint16) newPeerBody { return newPeerBody{Listed: true, Missing: []uint16{77, self}} }, false, true},
		{"listed, we are missing, known", func(self uint16) newPeerBody { return newPeerBody{Listed: true, Missing: []uint16{self}} }, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, other, _ := proofEngine(t, now)
			w := fuzzKey(5)
			if tc.known {
				e.addPeer(w.Public(), 11, nil, true)
			}
			np := tc.body(e.selfNumber)
			np.Number, np.Key = 11, w.Public()
			body := np.encode()
			auths, _ := sealRun(w, e.ID(), [][]byte{signedBytes(e.ID(), w.Public(), 1, KindNewPeer, body)})
			m := &MessagePacket{Group: 1, Sender: 11, Number: 1, Kind: KindNewPeer, Body: body, Auth: auths[0]}
			if err := e.HandlePacket(now, other, m.Encode()); err != nil {
				t.Fatal(err)
			}
			if !e.Knows(w.Public()) {
				t.Fatal("the announcer is not a member")
			}
			e.Tick(now)
			answered := false
			for _, o := range e.Ready().Packets {
				if a, err := DecodeMessage(o.Data); err == nil && a.Kind == KindNewPeer {
					if got, err := decodeNewPeer(a.Body); err == nil && got.Key == e.self {
						answered = true
					}
				}
			}
			if answered != tc.answers {
				t.Fatalf("answered %v, want %v", answered, tc.answers)
			}
		})
	}
}

// A member that repeats a listed announcement naming us missing gets one
// answer a minute, not one per announcement.
func TestListedAnnouncementAnswersBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e, other, _ := proofEngine(t, now)
	w := fuzzKey(5)
	announce := func(i int) (answered bool) {
		at := now.Add(time.Duration(i) * 5 * time.Second)
		body := newPeerBody{Number: 11, Key: w.Public(), Listed: true, Missing: []uint16{e.selfNumber}}.encode()
		number := uint32(i + 1)
		auths, _ := sealRun(w, e.ID(), [][]byte{signedBytes(e.ID(), w.Public(), number, KindNewPeer, body)})
		m := &MessagePacket{Group: 1, Sender: 11, Number: number, Kind: KindNewPeer, Body: body, Auth: auths[0]}
		if err := e.HandlePacket(at, other, m.Encode()); err != nil {
			t.Fatal(err)
		}
		e.Tick(at)
		for _, o := range e.Ready().Packets {
			if a, err := DecodeMessage(o.Data); err == nil && a.Kind == KindNewPeer && o.To == other {
				if got, err := decodeNewPeer(a.Body); err == nil && got.Key == e.self {
					answered = true
				}
			}
		}
		e.Advance()
		return answered
	}
	var got []bool
	for i := range 4 { // 0, 5, 10 and 15 s
		got = append(got, announce(i))
	}
	if !slices.Equal(got, []bool{true, false, false, false}) {
		t.Fatalf("answers to four announcements within 15 s: %v, want only the first", got)
	}
	q := e.peers.byKey[w.Public()]
	q.answeredAt = q.answeredAt.Add(-answerInterval) // a minute later
	if !announce(4) {
		t.Fatal("no answer a minute after the last one")
	}
}

// A self announcement that makes its key a member is seen once: its
// copy over a second connection is a duplicate (not applied, answered or
// relayed again).
func TestNewMemberAnnouncementCopyIsDuplicate(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e, other, _ := proofEngine(t, now)
	third := fuzzKey(6).Public()
	e.SessionUp(now, third)
	c := e.addConn(third, reasonIntroducing)
	c.online, c.remoteGroup = true, 3
	e.addPeer(third, 6, nil, true)
	e.Tick(now)
	e.Ready()
	e.Advance()
	w := fuzzKey(5)
	body := newPeerBody{Number: 11, Key: w.Public()}.encode()
	auths, _ := sealRun(w, e.ID(), [][]byte{signedBytes(e.ID(), w.Public(), 1, KindNewPeer, body)})
	m := &MessagePacket{Group: 1, Sender: 11, Number: 1, Kind: KindNewPeer, Body: body, Auth: auths[0]}
	sent := func(from identity.PublicKey) int {
		if err := e.HandlePacket(now, from, m.Encode()); err != nil {
			t.Fatal(err)
		}
		e.Tick(now)
		n := len(e.Ready().Packets)
		e.Advance()
		return n
	}
	if n := sent(other); n == 0 || !e.Knows(w.Public()) {
		t.Fatalf("first copy: %d packets out, member %v", n, e.Knows(w.Public()))
	}
	if n := sent(third); n != 0 {
		t.Fatalf("the copy from another connection sent %d packets (relayed or answered again)", n)
	}
}
