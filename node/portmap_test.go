package node

import (
	"context"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"confchat/identity"
	"confchat/portmap"
	"confchat/relay"
)

// An observed address is announced only once two relays agree on it;
// private, loopback and shared (CGNAT) addresses never are; a mapping
// comes first.
func TestNATStateAnnounce(t *testing.T) {
	s := newNATState()
	r1 := relay.Addr{Key: identity.PublicKey{1}, HostPort: "198.18.0.1:7447"}
	r2 := relay.Addr{Key: identity.PublicKey{2}, HostPort: "198.18.0.2:7447"}
	pub := netip.MustParseAddrPort("203.0.113.9:7400")
	s.observe(r1, pub)
	if got := s.announce(); len(got) != 0 {
		t.Fatalf("one relay's observation announced: %q", got)
	}
	if s.Observed() != pub {
		t.Fatalf("latest observed %v, want %v", s.Observed(), pub)
	}
	for _, bad := range []string{"10.1.2.3:7400", "127.0.0.1:7400", "100.64.1.1:7400", "192.168.1.2:7400", "[fe80::1]:7400"} {
		s.observe(r2, netip.MustParseAddrPort(bad))
	}
	if got := s.announce(); len(got) != 0 || s.Observed() != pub {
		t.Fatalf("non-public observations taken: %q, latest %v", got, s.Observed())
	}
	s.observe(r2, pub)
	if got := s.announce(); !slices.Equal(got, []string{pub.String()}) {
		t.Fatalf("announce %q, want %v", got, pub)
	}
	s.setMapping(portmap.Mapping{Protocol: portmap.ProtoUPnP, External: netip.MustParseAddrPort("198.51.100.7:4444"), Internal: 7400})
	if got := s.announce(); !slices.Equal(got, []string{"198.51.100.7:4444", pub.String()}) {
		t.Fatalf("announce %q, want the mapping, then the observed address", got)
	}
	s.observe(r1, netip.MustParseAddrPort("203.0.113.9:5555")) // r1 now sees another port
	if got := s.announce(); !slices.Equal(got, []string{"198.51.100.7:4444"}) {
		t.Fatalf("announce %q after the relays disagree", got)
	}
	s.setMapping(portmap.Mapping{})
	if got := s.announce(); len(got) != 0 {
		t.Fatalf("announce %q after the mapping went", got)
	}
}

// A mapping (as the port mapper reports it) joins our announced
// addresses, before the relays, and a connected friend learns it; when
// it goes, it leaves them again.
func TestMappedAddressAnnouncedToFriends(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	ra, stopRelay := startRelay(t)
	defer stopRelay()
	dirA, dirB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	a, err := Open(ctx, Config{Profile: dirA, Listen: "127.0.0.1:0", Name: "alice", Relays: []relay.Addr{ra}})
	if err != nil {
		t.Fatal(err)
	}
	b := openNode(t, dirB, "bob")
	closed := false
	defer func() {
		if !closed { // a failure: close them anyway, so no goroutine outlives the test
			closeNode(t, a)
			closeNode(t, b)
		}
	}()
	subA, subB := a.Subscribe(), b.Subscribe()
	defer subA.Close()
	defer subB.Close()
	meA, _ := a.Self(ctx)
	meB, _ := b.Self(ctx)
	if err := a.AddFriend(ctx, meB.ID, meB.Addresses[0], "hi"); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, subB, 10*time.Second, func(ev Event) bool { _, ok := ev.(FriendRequestReceived); return ok })
	if err := b.AcceptFriend(ctx, meA.Key); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, subA, 10*time.Second, func(ev Event) bool { o, ok := ev.(FriendOnline); return ok && o.Friend == meB.Key })

	mapped := "198.51.100.7:4444"
	a.nat.setMapping(portmap.Mapping{Protocol: portmap.ProtoUPnP, External: netip.MustParseAddrPort(mapped), Internal: 7400})
	deadline := time.Now().Add(10 * time.Second)
	for {
		fs, _ := b.Friends(ctx)
		self, _ := a.Self(ctx) // after bob's view: alice changed hers first
		if len(fs) == 1 && slices.Contains(fs[0].Addresses, mapped) {
			if i := slices.Index(self.Addresses, mapped); i != 1 || self.Addresses[2] != ra.String() {
				t.Fatalf("alice announces %q: want direct, mapped, relay", self.Addresses)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bob never learned the mapped address: alice %q, bob's friends %+v", self.Addresses, fs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	a.nat.setMapping(portmap.Mapping{})
	for {
		self, _ := a.Self(ctx)
		if !slices.Contains(self.Addresses, mapped) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lost mapping is still announced: %q", self.Addresses)
		}
		time.Sleep(20 * time.Millisecond)
	}
	closed = true
	closeNode(t, a)
	closeNode(t, b)
}
