package node

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"confchat/discovery"
	"confchat/discovery/dhttest"
	"confchat/identity"
)

// deadAddr is an address nobody listens on: a node advertising it can
// dial out but can never be dialled.
const deadAddr = "127.0.0.1:1"

func openDHTNode(t *testing.T, dir, name string, dnet *dhttest.Network, advertise ...string) *Node {
	t.Helper()
	n, err := Open(context.Background(), Config{Profile: dir, Listen: "127.0.0.1:0", Name: name,
		FreezeAfter: 3 * time.Second, Advertise: advertise,
		DHT: DHTConfig{Enabled: true, Bootstrap: dnet.Addrs[:2], LookupInterval: 300 * time.Millisecond,
			LookupTimeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func waitPublished(t *testing.T, sub *Subscription, minSeq int64) DHTPublished {
	t.Helper()
	ev := waitEvent(t, sub, 30*time.Second, func(ev Event) bool {
		p, ok := ev.(DHTPublished)
		return ok && p.Seq > minSeq
	})
	return ev.(DHTPublished)
}

func friendAddrs(t *testing.T, n *Node, key identity.PublicKey) []string {
	t.Helper()
	fs, err := n.Friends(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Key == key {
			return f.Addresses
		}
	}
	t.Fatalf("%s is not a friend", key.Short())
	return nil
}

// Two nodes that know only each other's IDs become friends through the
// DHT; when one moves to a new port the other finds it there. Alice
// advertises a dead address, so Bob can never dial her: every connection
// is Alice's, made from what the DHT told her.
func TestDHTFriendByIDAndMoved(t *testing.T) {
	ctx := context.Background()
	dnet := dhttest.Start(t, 8)
	dirA, dirB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	a := openDHTNode(t, dirA, "alice", dnet, deadAddr)
	defer closeNode(t, a)
	b := openDHTNode(t, dirB, "bob", dnet)
	subA, subB := a.Subscribe(), b.Subscribe()
	defer subA.Close()
	meA, _ := a.Self(ctx)
	meB, _ := b.Self(ctx)
	first := waitPublished(t, subB, 0)
	if !slices.Equal(first.Addresses, meB.Addresses) {
		t.Fatalf("published %v, advertised %v", first.Addresses, meB.Addresses)
	}

	if err := a.AddFriend(ctx, meB.ID, "", "found you"); err != nil {
		t.Fatal(err)
	}
	req := waitEvent(t, subB, 10*time.Second, func(ev Event) bool { _, ok := ev.(FriendRequestReceived); return ok })
	if r := req.(FriendRequestReceived); r.From != meA.Key || r.Message != "found you" {
		t.Fatalf("request %+v", r)
	}
	if err := b.AcceptFriend(ctx, meA.Key); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, subA, 10*time.Second, func(ev Event) bool { o, ok := ev.(FriendOnline); return ok && o.Friend == meB.Key })
	if got := friendAddrs(t, a, meB.Key); !slices.Contains(got, meB.Addresses[0]) {
		t.Fatalf("alice stored %v for bob, the DHT said %v", got, meB.Addresses)
	}
	if got := friendAddrs(t, b, meA.Key); !slices.Equal(got, []string{deadAddr}) {
		t.Fatalf("bob knows %v for alice, want only the dead address", got)
	}
	st, _ := a.Status(ctx)
	if !st.Self.DHT.Enabled || !st.Self.DHT.Ready || st.Self.DHT.Nodes == 0 || st.Self.DHT.Listen == "" {
		t.Fatalf("alice's DHT status %+v", st.Self.DHT)
	}

	// Bob moves: a new port, a newer item.
	subB.Close()
	closeNode(t, b)
	waitEvent(t, subA, 10*time.Second, func(ev Event) bool { o, ok := ev.(FriendOffline); return ok && o.Friend == meB.Key })
	b = openDHTNode(t, dirB, "bob", dnet)
	defer closeNode(t, b)
	subB = b.Subscribe()
	defer subB.Close()
	moved, _ := b.Self(ctx)
	if moved.Addresses[0] == meB.Addresses[0] {
		t.Fatalf("bob did not move: %v", moved.Addresses)
	}
	second := waitPublished(t, subB, first.Seq)
	if !slices.Equal(second.Addresses, moved.Addresses) {
		t.Fatalf("republished %v, want %v", second.Addresses, moved.Addresses)
	}
	waitEvent(t, subA, 30*time.Second, func(ev Event) bool { o, ok := ev.(FriendOnline); return ok && o.Friend == meB.Key })
	if got := friendAddrs(t, a, meB.Key); len(got) == 0 || got[0] != moved.Addresses[0] {
		t.Fatalf("alice stored %v for bob after the move, want %s first", got, moved.Addresses[0])
	}
}

// Without an address: the DHT off is ErrNoAddress, an ID nobody
// published is ErrNotOnDHT, an ID whose nospam changed is not found by
// the old ID; nothing is added in those cases.
func TestDHTAddFriendErrors(t *testing.T) {
	ctx := context.Background()
	off := openNode(t, filepath.Join(t.TempDir(), "off"), "off")
	defer closeNode(t, off)
	stranger := identity.ID{Key: otherKey(t), Nospam: 7}
	if err := off.AddFriend(ctx, stranger, "", ""); !errors.Is(err, ErrNoAddress) {
		t.Fatalf("DHT off: %v", err)
	}
	if st, _ := off.Status(ctx); st.Self.DHT.Enabled || st.Self.DHT.PacketsSent != 0 {
		t.Fatalf("DHT off status %+v", st.Self.DHT)
	}

	dnet := dhttest.Start(t, 8)
	a := openDHTNode(t, filepath.Join(t.TempDir(), "a"), "alice", dnet)
	defer closeNode(t, a)
	b := openDHTNode(t, filepath.Join(t.TempDir(), "b"), "bob", dnet)
	defer closeNode(t, b)
	subB := b.Subscribe()
	defer subB.Close()
	first := waitPublished(t, subB, 0)
	if err := a.AddFriend(ctx, stranger, "", ""); !errors.Is(err, ErrNotOnDHT) {
		t.Fatalf("unpublished ID: %v", err)
	}
	meB, _ := b.Self(ctx)
	newID, err := b.SetNospam(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitPublished(t, subB, first.Seq)
	// The old ID's item is emptied right after the new one is published.
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := a.AddFriend(ctx, meB.ID, "", "")
		if errors.Is(err, ErrNotOnDHT) {
			break
		}
		if err == nil { // the old item is not emptied yet: undo, try again
			if err := a.RemoveFriend(ctx, meB.Key); err != nil {
				t.Fatal(err)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("old ID: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if fs, _ := a.Friends(ctx); len(fs) != 0 {
		t.Fatalf("a failed add left friends %+v", fs)
	}
	subB2 := b.Subscribe()
	defer subB2.Close()
	if err := a.AddFriend(ctx, newID, "", "new id"); err != nil {
		t.Fatalf("new ID: %v", err)
	}
	waitEvent(t, subB2, 10*time.Second, func(ev Event) bool {
		r, ok := ev.(FriendRequestReceived)
		return ok && r.Message == "new id"
	})
}

// A DHT that cannot start (its UDP address is taken) is shown in the
// status and in AddFriend's error; the node runs on.
func TestDHTStartFailureNotFatal(t *testing.T) {
	ctx := context.Background()
	taken, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	n, err := Open(ctx, Config{Profile: filepath.Join(t.TempDir(), "p"), Listen: "127.0.0.1:0",
		DHT: DHTConfig{Enabled: true, Bootstrap: []string{}, Listen: taken.LocalAddr().String()}})
	if err != nil {
		t.Fatalf("a DHT that cannot start made Open fail: %v", err)
	}
	defer closeNode(t, n)
	st, err := n.Status(ctx)
	if err != nil || st.Self.DHT.Enabled || st.Self.DHT.Error == "" {
		t.Fatalf("status %+v, %v", st.Self.DHT, err)
	}
	err = n.AddFriend(ctx, identity.ID{Key: otherKey(t), Nospam: 1}, "", "")
	if !errors.Is(err, ErrNoAddress) || !strings.Contains(err.Error(), "failed to start") {
		t.Fatalf("add by ID with a failed DHT: %v", err)
	}
}

// The routing table is saved in the profile: a restart with no
// bootstrap router at all still finds a friend's item.
func TestDHTRoutingTableInProfile(t *testing.T) {
	ctx := context.Background()
	dnet := dhttest.Start(t, 8)
	b := openDHTNode(t, filepath.Join(t.TempDir(), "b"), "bob", dnet)
	defer closeNode(t, b)
	subB := b.Subscribe()
	defer subB.Close()
	waitPublished(t, subB, 0)
	meB, _ := b.Self(ctx)

	dirA := filepath.Join(t.TempDir(), "a")
	a := openDHTNode(t, dirA, "alice", dnet)
	subA := a.Subscribe()
	waitPublished(t, subA, 0) // bootstrapped; the table is saved with the publish
	subA.Close()
	closeNode(t, a)
	a, err := Open(ctx, Config{Profile: dirA, Listen: "127.0.0.1:0",
		DHT: DHTConfig{Enabled: true, Bootstrap: []string{}, LookupTimeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	defer closeNode(t, a)
	if err := a.AddFriend(ctx, meB.ID, "", ""); err != nil {
		t.Fatalf("after a restart without routers: %v", err)
	}
}

// What is published is what we announce, relays in the record's form;
// what is found is dialled direct first.
func TestDHTAddressForms(t *testing.T) {
	key := strings.Repeat("ab", 32)
	n := &Node{log: slog.New(slog.DiscardHandler),
		addrs: []string{"192.0.2.1:7000", "relay:" + key + "@relay.example:443", key + "@r2.example:443", "no port"}}
	want := []string{"192.0.2.1:7000", "relay:" + key + "@relay.example:443", "relay:" + key + "@r2.example:443"}
	if got := n.dhtAddrs(); !slices.Equal(got, want) {
		t.Fatalf("published %q, want %q", got, want)
	}
	rec := discovery.Record{Addresses: []string{"relay:" + key + "@relay.example:443", "192.0.2.1:7000", "[2001:db8::1]:7000"}}
	if got := dialAddrs(rec); !slices.Equal(got, []string{"192.0.2.1:7000", "[2001:db8::1]:7000", "relay:" + key + "@relay.example:443"}) {
		t.Fatalf("dialled %q", got)
	}
}
