package peers

import (
	"fmt"
	"testing"
	"time"

	"confchat/identity"
	"confchat/netlayer"
)

// FuzzBookFrames drives a Book the way the node does with frames from
// peers: each step is (key byte, source byte, op byte, length byte,
// frame); friend packets are decoded and handed to the book, a few ops
// stand for the user (add, accept, decline) and the clock. Whatever
// arrives, the book keeps its bounds and its invariants.
func FuzzBookFrames(f *testing.F) {
	req, _ := EncodeRequest(Request{Nospam: 7, Name: "n", Message: "m", Addresses: []string{"h:1"}})
	hello, _ := EncodeHello(PacketFriendAccept, Hello{Name: "x", Addresses: []string{"a:1", "b:2"}})
	seed := append([]byte{1, 1, 0, byte(len(req))}, req...)
	seed = append(seed, append([]byte{1, 1, 0, byte(len(hello))}, hello...)...)
	seed = append(seed, 2, 3, 1, 0, 2, 3, 2, 0, 4, 4, 3, 0, 5, 5, 4, 0, 6, 6, 5, 0)
	f.Add(seed)
	f.Fuzz(func(t *testing.T, in []byte) {
		b := NewBook(nil, nil, NewLimiter(2, time.Minute))
		now := t0
		const ours = 7
		for len(in) >= 4 {
			k := identity.PublicKey{in[0] % 16}
			src := SourceOf(fmt.Sprintf("10.0.%d.1:1", in[1]%8))
			op, n := in[2], int(in[3])
			in = in[4:]
			frame := in[:min(n, len(in))]
			in = in[len(frame):]
			switch op % 8 {
			case 0: // a frame from k
				if len(frame) == 0 {
					continue
				}
				switch frame[0] {
				case PacketFriendRequest:
					if r, err := DecodeRequest(frame); err == nil {
						b.HandleRequest(k, r, src, ours, now)
					}
				case PacketFriendAccept, PacketAddresses:
					if h, err := DecodeHello(frame); err == nil {
						if frame[0] == PacketFriendAccept {
							b.Confirm(k, h)
						} else {
							b.Learn(k, h)
						}
					}
				case PacketFriendRemove:
					b.Remove(k)
				}
			case 1:
				b.Add(k, ours, []string{"u:1"}, now)
			case 2:
				b.Accept(k, now)
			case 3:
				b.Decline(k)
			case 4:
				now = now.Add(time.Duration(n) * time.Hour * 24)
				b.ExpireRequests(now)
			case 5:
				b.DroppedRequests()
			case 6:
				b.SetOnline(k, n%2 == 0, netlayer.RouteDirect)
			case 7:
				now = now.Add(time.Duration(n) * time.Second)
			}
		}
		if b.PendingCount() > MaxPendingRequests {
			t.Fatalf("%d pending", b.PendingCount())
		}
		for _, r := range b.Requests() {
			if b.IsFriend(r.Key) {
				t.Fatalf("%x is both a friend and pending", r.Key[:1])
			}
		}
		if (b.PendingCount() > 0) == b.NextRequestExpiry().IsZero() {
			t.Fatalf("%d pending, next expiry %v", b.PendingCount(), b.NextRequestExpiry())
		}
		for _, fr := range b.Friends() {
			if len(fr.Addresses) > MaxAddresses {
				t.Fatalf("%d addresses kept", len(fr.Addresses))
			}
			if fr.Online && !fr.Confirmed {
				t.Fatal("an unconfirmed friend is online")
			}
		}
	})
}
