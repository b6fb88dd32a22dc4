package node

import (
	"context"
	"testing"
	"time"

	"confchat/identity"
	"confchat/peers"
)

// FuzzNodeFrames feeds arbitrary frames to a node's frame handler, as if
// they came over the session of a confirmed friend who is a conference
// member (the first input byte's low bit) or of a stranger: friend packets,
// conference packets and junk, routed, applied and persisted like real
// ones. The node must neither panic nor stop answering, and must keep its
// own conference.
func FuzzNodeFrames(f *testing.F) {
	p := newPair(f)
	f.Cleanup(func() { p.close(f) })
	ctx := context.Background()
	stranger := identity.PublicKey{0x42}

	hello, _ := peers.EncodeHello(peers.PacketAddresses, peers.Hello{Name: "bob", Addresses: []string{"127.0.0.1:1"}})
	req, _ := peers.EncodeRequest(peers.Request{Name: "eve", Message: "hi"})
	for _, seed := range [][]byte{
		{0}, {1, peers.PacketFriendRemove}, append([]byte{1}, hello...), append([]byte{0}, req...),
		{1, 0x60, 0x00}, {1, 0x62, 0, 0, 0x20}, {0, 0x63, 0, 0, 0, 0, 0, 1, 0x40},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		from := stranger
		if in[0]&1 == 1 {
			from = p.meB.Key
		}
		frame := append([]byte(nil), in[1:]...)
		err := p.a.do(ctx, func(now time.Time) error {
			p.a.handleFrame(now, from, frame)
			return nil
		})
		if err != nil {
			t.Fatalf("node stopped answering: %v", err)
		}
		cs, err := p.a.Conferences(ctx)
		if err != nil || len(cs) == 0 {
			t.Fatalf("Conferences after a frame = %v, %v", cs, err)
		}
	})
}
