package discovery

import (
	"errors"
	"slices"
	"testing"
	"time"

	"confchat/identity"
)

// A background lookup that finds only the item already seen is no news:
// it reports ErrUnchanged and backs off; the next item after a republish
// is a Found event.
func TestBackgroundLookupNeedsNews(t *testing.T) {
	p := startPrivateDHT(t, 8)
	kp := newKey(t)
	id := identity.ID{Key: kp.Public(), Nospam: 11}
	pub := startService(t, Config{Key: kp, ID: id, Addresses: testAddrs[:1], Bootstrap: p.addrs[:1]})
	first := nextEvent[Published](t, pub)
	if first.Err != nil {
		t.Fatal(first.Err)
	}
	other := newKey(t)
	res := startService(t, Config{Key: other, ID: identity.ID{Key: other.Public()}, Bootstrap: p.addrs[3:4],
		MinInterval: 20 * time.Millisecond})
	if f, err := lookupEventually(t, res, id); err != nil || f.Seq != first.Seq {
		t.Fatalf("explicit lookup: %+v %v", f, err)
	}
	res.RequestLookup(id)
	failed := nextEvent[LookupFailed](t, res)
	if !errors.Is(failed.Err, ErrUnchanged) {
		t.Fatalf("same item again: %v", failed.Err)
	}
	pub.SetAddresses(testAddrs[1:2])
	again := nextEvent[Published](t, pub)
	if again.Err != nil || again.Seq <= first.Seq {
		t.Fatalf("republish %+v", again)
	}
	res.RequestLookup(id) // runs once the backoff has passed
	found := nextEvent[Found](t, res)
	if found.Seq != again.Seq || !slices.Equal(found.Record.Addresses, testAddrs[1:2]) {
		t.Fatalf("found %+v, want seq %d", found, again.Seq)
	}
}

// Config.Seen carries what an earlier run saw: a lower item is refused.
func TestSeenFromEarlierRun(t *testing.T) {
	p := startPrivateDHT(t, 8)
	kp := newKey(t)
	id := identity.ID{Key: kp.Public(), Nospam: 12}
	pub := startService(t, Config{Key: kp, ID: id, Addresses: testAddrs[:1], Bootstrap: p.addrs[:1]})
	if ev := nextEvent[Published](t, pub); ev.Err != nil {
		t.Fatal(ev.Err)
	}
	other := newKey(t)
	res := startService(t, Config{Key: other, ID: identity.ID{Key: other.Public()}, Bootstrap: p.addrs[5:6],
		Seen: map[identity.ID]int64{id: 1000}})
	if _, err := res.Lookup(lookupCtx(t), id); !errors.Is(err, ErrStaleSeq) {
		t.Fatalf("item below the seen sequence number: %v", err)
	}
}

// A saved routing table whose nodes are all gone does not strand the
// service: the bootstrap routers are asked as well.
func TestStaleTableUsesRouters(t *testing.T) {
	gone := startPrivateDHT(t, 8)
	kp := newKey(t)
	id := identity.ID{Key: kp.Public(), Nospam: 13}
	first := startService(t, Config{Key: kp, ID: id, Bootstrap: gone.addrs[:1]})
	waitReady(t, first)
	table := first.RoutingTable()
	if len(table) == 0 {
		t.Fatal("no routing table to go stale")
	}
	for _, s := range gone.servers {
		s.Close()
	}
	live := startPrivateDHT(t, 8)
	other := newKey(t)
	otherID := identity.ID{Key: other.Public(), Nospam: 14}
	pub := startService(t, Config{Key: other, ID: otherID, Addresses: testAddrs[:1], Bootstrap: live.addrs[:1]})
	if ev := nextEvent[Published](t, pub); ev.Err != nil {
		t.Fatal(ev.Err)
	}
	second := startService(t, Config{Key: kp, ID: id, Bootstrap: live.addrs[2:3], RoutingTable: table,
		LookupTimeout: 10 * time.Second})
	waitReady(t, second)
	found, err := lookupEventually(t, second, otherID)
	if err != nil || !slices.Equal(found.Record.Addresses, testAddrs[:1]) {
		t.Fatalf("with a stale table: %+v %v", found, err)
	}
}
