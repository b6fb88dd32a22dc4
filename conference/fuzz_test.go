package conference

import (
	"bytes"
	"testing"
	"time"

	"confchat/identity"
)

func fuzzKey(b byte) *identity.KeyPair {
	seed := make([]byte, identity.SeedSize)
	seed[0] = b
	kp, _ := identity.FromSeed(seed)
	return kp
}

// seedPackets returns one valid encoding of every packet type.
func seedPackets() [][]byte {
	var id ID
	id[5] = 9
	k := fuzzKey(1).Public()
	rec := Record{Origin: k, Number: 7, Kind: KindMessage, Body: []byte{0, 0, 0, 3, 'h', 'i'}, Signature: make([]byte, 64)}
	title := Record{Origin: k, Number: 8, Kind: KindTitle, Body: append(make([]byte, 12), 't'), Signature: make([]byte, 64)}
	msg := &MessagePacket{Group: 3, Sender: 4, Number: 5, Kind: KindMessage, Body: []byte{0, 0, 0, 0, 'x'}, Auth: make([]byte, 64)}
	// a batch of three sealed by fuzzKey(1): real auths of every path length
	kp := fuzzKey(1)
	var signed [][]byte
	bodies := [][]byte{{0, 0, 0, 0, 'a'}, {0, 0, 0, 0, 'b'}, {0, 0, 0, 0, 'c'}}
	for i, b := range bodies {
		signed = append(signed, signedBytes(id, k, uint32(10+i), KindMessage, b))
	}
	auths, _ := sealRun(kp, id, signed)
	bmsg := &MessagePacket{Group: 3, Sender: 4, Number: 10, Kind: KindMessage, Body: bodies[0], Auth: auths[0]}
	brec := Record{Origin: k, Number: 12, Kind: KindMessage, Body: bodies[2], Signature: auths[2]}
	return [][]byte{
		(&InvitePacket{InviterGroup: 1, ID: id}).Encode(),
		(&InviteAcceptPacket{JoinerGroup: 2, InviterGroup: 1, ID: id}).Encode(),
		(&InviteAcceptPacket{JoinerGroup: 2, InviterGroup: 1, ID: id, Member: true, PeerNumber: 9}).Encode(),
		(&OnlinePacket{SenderGroup: 1, ID: id}).Encode(),
		(&RejoinPacket{ID: id}).Encode(),
		(&PeerIntroducedPacket{Group: 1}).Encode(),
		(&PeerQueryPacket{Group: 1}).Encode(),
		(&PeerResponsePacket{Group: 1, Entries: []PeerEntry{{Number: 1, Key: k, Addresses: []string{"a:1", "b:2"}, Name: "n"}}}).Encode(),
		(&TitleResponsePacket{Group: 1, Title: title}).Encode(),
		msg.Encode(),
		bmsg.Encode(),
		(&SummaryPacket{Group: 1, Entries: []SummaryEntry{{Origin: k, Floor: 1, HWM: 3, Top: 5, Fingerprint: 7}}}).Encode(),
		(&RequestPacket{Group: 1, Entries: []RequestEntry{{Origin: k, From: 1, To: 9}}}).Encode(),
		(&BatchPacket{Group: 1, Records: []Record{rec, title}}).Encode(),
		(&BatchPacket{Group: 1, Records: []Record{brec, rec, brec}}).Encode(),
		(&FloorsPacket{Group: 1, Entries: []FloorEntry{{Origin: k, Floor: 4}}}).Encode(),
		(&HistoryRequestPacket{Group: 1, Count: 100}).Encode(),
		(&NumberHintPacket{Group: 1, Message: *msg}).Encode(),
		(&NumberHintPacket{Group: 1, Message: *bmsg}).Encode(),
		(&HoldingPacket{Group: 1, UpTo: 12}).Encode(),
		(&PeerProofPacket{Group: 1, Message: *msg}).Encode(),
		(&PeerProofPacket{Group: 1, Message: *bmsg}).Encode(),
		(&MessagePacket{Group: 3, Sender: 4, Number: 6, Kind: KindNewPeer, Auth: make([]byte, 64),
			Body: newPeerBody{Number: 4, Key: k, Addresses: []string{"a:1"}, Listed: true, Missing: []uint16{7, 9}}.encode()}).Encode(),
	}
}

func addSeeds(f *testing.F) {
	for _, s := range seedPackets() {
		f.Add(s)
	}
}

// roundTrip checks that a decoded packet re-encodes to something that
// decodes to the same encoding (encoders are canonical).
func roundTrip(t *testing.T, w Wire) {
	enc := w.Encode()
	w2, err := DecodePacket(enc)
	if err != nil {
		t.Fatalf("re-decode of %x: %v", enc, err)
	}
	if !bytes.Equal(w2.Encode(), enc) {
		t.Fatalf("encoding not stable: %x vs %x", enc, w2.Encode())
	}
}

func FuzzDecodePacket(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := DecodePacket(data)
		_, rerr := RouteOf(data)
		if (err == nil) != (rerr == nil) {
			t.Fatalf("DecodePacket err %v, RouteOf err %v", err, rerr)
		}
		if err == nil {
			roundTrip(t, w)
		}
	})
}

func FuzzDecodeInviteFamily(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if w, err := DecodeInviteFamily(data); err == nil {
			roundTrip(t, w)
		}
		if len(data) > 2 {
			if p, err := DecodeCookie(data[2:]); err == nil && !bytes.Equal(p.Cookie(), data[2:]) {
				t.Fatal("cookie does not round-trip")
			}
		}
	})
}

func FuzzDecodeOnlineRejoin(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if p, err := DecodeOnline(data); err == nil && !bytes.Equal(p.Encode(), data) {
			t.Fatal("online does not round-trip")
		}
		if p, err := DecodeRejoin(data); err == nil && !bytes.Equal(p.Encode(), data[:34]) {
			t.Fatal("rejoin does not round-trip")
		}
	})
}

func FuzzDecodeDirect(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if w, err := DecodeDirect(data); err == nil {
			roundTrip(t, w)
		}
	})
}

func FuzzDecodeMessage(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeMessage(data)
		if err != nil {
			return
		}
		if !bytes.Equal(m.Encode(), data) {
			t.Fatal("message does not round-trip")
		}
		if m.Batched() {
			if _, ok := parseBatchAuth(m.Auth); !ok {
				t.Fatal("decoded a malformed batch auth")
			}
		}
		body := m.Body
		if validateBody(m.Kind, body) == nil && storedKind(m.Kind) {
			_ = Record{Kind: m.Kind, Body: body}.Prev()
			_, _, _ = titleBody(body)
		}
		if m.Kind == KindNewPeer {
			if np, err := decodeNewPeer(body); err == nil {
				if _, err := decodeNewPeer(np.encode()); err != nil {
					t.Fatal("new peer body does not round-trip")
				}
			}
		}
	})
}

// FuzzEngineHandlePacket feeds arbitrary bytes to a connected engine with
// an online connection: it must never panic.
func FuzzEngineHandlePacket(f *testing.F) {
	addSeeds(f)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		e, _ := Create(Config{Self: fuzzKey(2), GroupNumber: 1}, now)
		other := fuzzKey(1).Public()
		e.SessionUp(now, other)
		c := e.addConn(other, reasonIntroducing)
		c.online, c.remoteGroup = true, 1
		e.addPeer(other, 4, nil, true)
		e.sync.linkUp(e, c)
		_ = e.HandlePacket(now, other, data)
		if len(data) > 3 {
			d := append([]byte(nil), data...)
			d[1], d[2] = 0, 1 // address our group number
			_ = e.HandlePacket(now, other, d)
		}
		e.Tick(now.Add(time.Second))
		e.Ready()
		e.Advance()
	})
}

// FuzzVerifyAuth feeds arbitrary auths for the messages of one sealed
// batch: parsing never panics, the engine's cached check always agrees
// with the uncached one, and the only auth that verifies for a message is
// the one its origin made (auths cannot be malleated).
func FuzzVerifyAuth(f *testing.F) {
	kp := fuzzKey(1)
	id := ID{0, 5}
	var bodies, signed [][]byte
	for i := range 5 {
		b := []byte{0, 0, 0, byte(i), 'm'}
		bodies = append(bodies, b)
		signed = append(signed, signedBytes(id, kp.Public(), uint32(i+1), KindMessage, b))
	}
	auths, _ := sealRun(kp, id, signed)
	for i, a := range auths {
		f.Add(byte(i), a)
	}
	f.Add(byte(0), kp.Sign(signed[0]))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e, _ := Create(Config{Self: fuzzKey(2), GroupNumber: 1}, now)
	e.id = id
	f.Fuzz(func(t *testing.T, which byte, auth []byte) {
		i := int(which) % len(bodies)
		cached := e.verifyMessage(kp.Public(), uint32(i+1), KindMessage, bodies[i], auth)
		plain := verifyAuth(id, kp.Public(), signed[i], auth)
		if cached != plain {
			t.Fatalf("cached check %v, uncached %v", cached, plain)
		}
		if plain && !bytes.Equal(auth, auths[i]) && !bytes.Equal(auth, kp.Sign(signed[i])) {
			t.Fatalf("a different auth %x verifies message %d", auth, i)
		}
		if len(e.auths.set) > authCacheSize {
			t.Fatal("cache over its bound")
		}
	})
}
