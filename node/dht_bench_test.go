package node

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"confchat/discovery/dhttest"
)

// BenchmarkDHTRefind prints, on a private DHT of 8 loopback nodes, what
// adding a friend by ID alone costs (the lookup included) and how long
// after a friend moved to a new port (node open to FriendOnline) the
// other finds it again, with --dht-lookup-interval 300ms. Alice
// advertises a dead address, so every reconnection is through the DHT.
func BenchmarkDHTRefind(b *testing.B) {
	ctx := context.Background()
	dnet := dhttest.Start(b, 8)
	open := func(dir, name string, adv ...string) *Node {
		n, err := Open(ctx, Config{Profile: dir, Listen: "127.0.0.1:0", Name: name, Advertise: adv,
			DHT: DHTConfig{Enabled: true, Bootstrap: dnet.Addrs[:2], LookupInterval: 300 * time.Millisecond,
				LookupTimeout: 10 * time.Second}})
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	dirB := filepath.Join(b.TempDir(), "b")
	alice := open(filepath.Join(b.TempDir(), "a"), "alice", deadAddr)
	defer closeNode(b, alice)
	bob := open(dirB, "bob")
	subA, subB := alice.Subscribe(), bob.Subscribe()
	defer subA.Close()
	waitEvent(b, subB, 30*time.Second, func(ev Event) bool { _, ok := ev.(DHTPublished); return ok })
	meA, _ := alice.Self(ctx)
	meB, _ := bob.Self(ctx)
	start := time.Now()
	if err := alice.AddFriend(ctx, meB.ID, "", ""); err != nil {
		b.Fatal(err)
	}
	add := time.Since(start)
	waitEvent(b, subB, 10*time.Second, func(ev Event) bool { _, ok := ev.(FriendRequestReceived); return ok })
	if err := bob.AcceptFriend(ctx, meA.Key); err != nil {
		b.Fatal(err)
	}
	waitEvent(b, subA, 10*time.Second, func(ev Event) bool { o, ok := ev.(FriendOnline); return ok && o.Friend == meB.Key })
	subB.Close()

	var total time.Duration
	n := 0
	for b.Loop() {
		closeNode(b, bob)
		waitEvent(b, subA, 10*time.Second, func(ev Event) bool { o, ok := ev.(FriendOffline); return ok && o.Friend == meB.Key })
		start := time.Now()
		bob = open(dirB, "bob")
		waitEvent(b, subA, 60*time.Second, func(ev Event) bool { o, ok := ev.(FriendOnline); return ok && o.Friend == meB.Key })
		total += time.Since(start)
		n++
	}
	closeNode(b, bob)
	fmt.Printf("metric dht_add_friend_by_id_ms %.1f ms\n", float64(add)/float64(time.Millisecond))
	fmt.Printf("metric dht_refind_moved_friend_ms %.1f ms\n", float64(total)/float64(n)/float64(time.Millisecond))
}
