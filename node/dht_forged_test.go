package node

import (
	"context"
	"crypto/rand"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"confchat/discovery"
	"confchat/discovery/dhttest"
	"confchat/identity"
	"confchat/storage"
)

// lookupLog records the node's "dht lookup" failures.
type lookupLog struct {
	mu   sync.Mutex
	errs []string
}

func (l *lookupLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *lookupLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *lookupLog) WithGroup(string) slog.Handler            { return l }
func (l *lookupLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "dht lookup" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" {
			l.mu.Lock()
			l.errs = append(l.errs, a.Value.String())
			l.mu.Unlock()
		}
		return true
	})
	return nil
}

func (l *lookupLog) count(sub string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.errs {
		if strings.Contains(e, sub) {
			n++
		}
	}
	return n
}

func openLoggedDHTNode(t *testing.T, dir string, net *dhttest.Network, log *lookupLog) *Node {
	t.Helper()
	n, err := Open(context.Background(), Config{Profile: dir, Listen: "127.0.0.1:0", Name: "alice",
		Advertise: []string{deadAddr}, Logger: slog.New(log),
		DHT: DHTConfig{Enabled: true, Bootstrap: net.Addrs[:2], LookupInterval: 100 * time.Millisecond,
			LookupTimeout: 5 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// profileKey reads a closed profile's key pair and ID.
func profileKey(t *testing.T, dir string) (*identity.KeyPair, identity.ID) {
	t.Helper()
	db, err := storage.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	kp, id, err := db.LoadIdentity(context.Background(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return kp, id
}

func waitLookups(t *testing.T, log *lookupLog, sub string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for log.count(sub) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no background lookup failed with %q; seen %q", sub, log.errs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Forged items for a friend who went away — one validly signed by the
// friend's key but with a corrupted ciphertext, one signed by another key
// under the friend's salt, and (after a restart, on a network holding
// only that) a replay of an item older than one already seen — are all
// rejected, and the friend's stored addresses do not change.
func TestDHTForgedItemsChangeNoAddress(t *testing.T) {
	ctx := context.Background()
	net := dhttest.Start(t, 8)
	log := &lookupLog{}
	dirA, dirB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	a := openLoggedDHTNode(t, dirA, net, log)
	b := openDHTNode(t, dirB, "bob", net)
	subB := b.Subscribe()
	first := waitPublished(t, subB, 0)
	subB.Close()
	closeNode(t, b) // bob moves once, so a replay of his first item is older than what alice sees
	b = openDHTNode(t, dirB, "bob", net)
	subA := a.Subscribe()
	subB = b.Subscribe()
	pub := waitPublished(t, subB, first.Seq)
	meB, _ := b.Self(ctx)
	if err := a.AddFriend(ctx, meB.ID, "", ""); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, subB, 10*time.Second, func(ev Event) bool { _, ok := ev.(FriendRequestReceived); return ok })
	meA, _ := a.Self(ctx)
	if err := b.AcceptFriend(ctx, meA.Key); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, subA, 10*time.Second, func(ev Event) bool { o, ok := ev.(FriendOnline); return ok && o.Friend == meB.Key })
	subB.Close()
	closeNode(t, b)
	stored := friendAddrs(t, a, meB.Key)

	kpB, idB := profileKey(t, dirB)
	keys := discovery.DeriveKeys(idB)
	bad, err := discovery.Seal(kpB, keys, pub.Seq+100, discovery.Record{Addresses: []string{"192.0.2.66:1"}}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	bad.V[len(bad.V)-3] ^= 0x40
	copy(bad.Sig[:], kpB.Sign(discovery.SignedBytes(bad.Salt, bad.Seq, bad.V)))
	net.Put(t, bad)
	other, err := identity.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := discovery.Seal(other, keys, pub.Seq+200, discovery.Record{Addresses: []string{"192.0.2.67:1"}}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	net.Put(t, forged) // lands at the other key's target: bob's ID never reaches it

	waitLookups(t, log, "decrypt")
	if got := friendAddrs(t, a, meB.Key); !slices.Equal(got, stored) {
		t.Fatalf("after forged items alice stores %v for bob, had %v", got, stored)
	}

	// Restart alice on a network that holds only a replay of bob's item
	// below the highest sequence number she saw (kept in her profile).
	subA.Close()
	closeNode(t, a)
	net.Close() // alice's saved routing table names only dead nodes now
	other8 := dhttest.Start(t, 8)
	replay, err := discovery.Seal(kpB, keys, first.Seq, discovery.Record{Addresses: []string{"192.0.2.68:1"}}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other8.Put(t, replay)
	log2 := &lookupLog{}
	a = openLoggedDHTNode(t, dirA, other8, log2)
	defer closeNode(t, a)
	seen, err := a.db.DHTSeen(ctx, meB.Key)
	if err != nil || seen < pub.Seq {
		t.Fatalf("alice's profile keeps seen seq %d (%v), bob published %d", seen, err, pub.Seq)
	}
	if replay.Seq >= seen {
		t.Fatalf("test bug: the replay's seq %d is not below the seen %d", replay.Seq, seen)
	}
	waitLookups(t, log2, "lower than one already seen")
	if got := friendAddrs(t, a, meB.Key); !slices.Equal(got, stored) {
		t.Fatalf("after a replay alice stores %v for bob, had %v", got, stored)
	}
}
