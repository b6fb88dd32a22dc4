package discovery

import (
	"crypto/rand"
	"errors"
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"confchat/identity"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestPublishAndLookupByID(t *testing.T) {
	p := startPrivateDHT(t, 8)
	kp := newKey(t)
	id := identity.ID{Key: kp.Public(), Nospam: 0xCAFE}
	seqs := &seqLog{ch: make(chan int64, 16)}
	pub := startService(t, Config{Key: kp, ID: id, Addresses: testAddrs[:2], LastSeq: 4,
		SaveSeq: seqs.save, Bootstrap: p.addrs[:1]})
	ev := nextEvent[Published](t, pub)
	if ev.Err != nil || ev.Seq != 5 || ev.Nodes == 0 || !slices.Equal(ev.Addresses, testAddrs[:2]) {
		t.Fatalf("published %+v", ev)
	}
	if got := <-seqs.ch; got != 5 {
		t.Fatalf("SaveSeq(%d), want 5 before the put", got)
	}
	st := pub.Status()
	if st.PublishSeq != 5 || st.PublishErr != nil || st.LastPublish.IsZero() || st.Nodes == 0 {
		t.Fatalf("status %+v", st)
	}

	other := newKey(t)
	res := startService(t, Config{Key: other, ID: identity.ID{Key: other.Public()}, Bootstrap: p.addrs[3:4]})
	found, err := lookupEventually(t, res, id)
	if err != nil {
		t.Fatal(err)
	}
	if found.Seq != 5 || !slices.Equal(found.Record.Addresses, testAddrs[:2]) {
		t.Fatalf("found %+v", found)
	}

	// A change of addresses is published at once with a higher number.
	pub.SetAddresses(testAddrs[2:])
	ev = nextEvent[Published](t, pub)
	if ev.Err != nil || ev.Seq != 6 {
		t.Fatalf("republished %+v", ev)
	}
	found, err = res.Lookup(lookupCtx(t), id)
	if err != nil || found.Seq != 6 || !slices.Equal(found.Record.Addresses, testAddrs[2:]) {
		t.Fatalf("found %+v, %v", found, err)
	}

	// A background request delivers a Found event.
	if !res.RequestLookup(id) {
		t.Fatal("request refused")
	}
	// MinInterval has not passed since the explicit lookup: nothing is
	// sent until it has, so shorten the wait by asking a fresh resolver.
	res2 := startService(t, Config{Key: other, ID: identity.ID{Key: other.Public()}, Bootstrap: p.addrs[5:6]})
	res2.RequestLookup(id)
	if f := nextEvent[Found](t, res2); f.Seq != 6 || f.ID != id {
		t.Fatalf("found event %+v", f)
	}
}

func TestOldNospamNotFound(t *testing.T) {
	p := startPrivateDHT(t, 8)
	kp := newKey(t)
	oldID := identity.ID{Key: kp.Public(), Nospam: 1}
	newID := identity.ID{Key: kp.Public(), Nospam: 2}
	pub := startService(t, Config{Key: kp, ID: oldID, Addresses: testAddrs[:1], Bootstrap: p.addrs[:1]})
	if ev := nextEvent[Published](t, pub); ev.Err != nil {
		t.Fatal(ev.Err)
	}
	other := newKey(t)
	res := startService(t, Config{Key: other, ID: identity.ID{Key: other.Public()}, Bootstrap: p.addrs[2:3]})
	if _, err := lookupEventually(t, res, oldID); err != nil {
		t.Fatalf("old ID before the change: %v", err)
	}
	if _, err := res.Lookup(lookupCtx(t), newID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("new ID found the item published under the old nospam: %v", err)
	}
	// After the change the item moves to the new ID.
	pub.SetID(newID)
	if ev := nextEvent[Published](t, pub); ev.Err != nil {
		t.Fatal(ev.Err)
	}
	found, err := lookupEventually(t, res, newID)
	if err != nil || !slices.Equal(found.Record.Addresses, testAddrs[:1]) {
		t.Fatalf("new ID: %+v %v", found, err)
	}
	// The old ID's item is emptied right after (a higher seq, no addresses).
	for i := 0; ; i++ {
		found, err = res.Lookup(lookupCtx(t), oldID)
		if err == nil && len(found.Record.Addresses) == 0 {
			break
		}
		if i == 50 {
			t.Fatalf("old ID still yields %+v %v", found, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Items put on the DHT by someone else than the owner's publisher: a
// replay of an old item and a signed but corrupted one.
func TestForgedItemsRejected(t *testing.T) {
	p := startPrivateDHT(t, 8)
	owner, attacker := newKey(t), newKey(t)
	id := identity.ID{Key: owner.Public(), Nospam: 3}
	keys := DeriveKeys(id)
	old, err := Seal(owner, keys, 3, Record{Addresses: []string{"192.0.2.66:1"}}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p.put(t, old) // a replayed, old item

	res := startService(t, Config{Key: attacker, ID: identity.ID{Key: attacker.Public()}, Bootstrap: p.addrs[1:2],
		MinInterval: 10 * time.Millisecond})
	res.Remember(id, 9) // the resolver saw seq 9 before
	if _, err := res.Lookup(lookupCtx(t), id); !errors.Is(err, ErrStaleSeq) {
		t.Fatalf("replayed lower seq: %v", err)
	}
	// A background lookup of it reports the failure and finds nothing.
	res.RequestLookup(id)
	if f, ok := nextEvent[Event](t, res).(LookupFailed); !ok || !errors.Is(f.Err, ErrStaleSeq) {
		t.Fatalf("background lookup of a replay: %#v", f)
	}

	// The attacker's own item under the owner's salt lives at another
	// target: the owner's ID does not find it.
	id2 := identity.ID{Key: owner.Public(), Nospam: 4}
	keys2 := DeriveKeys(id2)
	forged, err := Seal(attacker, keys2, 50, Record{Addresses: []string{"192.0.2.66:1"}}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p.put(t, forged)
	if _, err := res.Lookup(lookupCtx(t), id2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("wrong key: %v", err)
	}

	// Corrupted ciphertext, validly signed (the owner's bit flip).
	id3 := identity.ID{Key: owner.Public(), Nospam: 5}
	keys3 := DeriveKeys(id3)
	bad, err := Seal(owner, keys3, 8, Record{Addresses: testAddrs[:1]}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	bad.V[len(bad.V)-3] ^= 0x40
	copy(bad.Sig[:], owner.Sign(SignedBytes(bad.Salt, bad.Seq, bad.V)))
	p.put(t, bad)
	if _, err := res.Lookup(lookupCtx(t), id3); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("corrupted ciphertext: %v", err)
	}
}

func TestRoutingTableRestartNeedsNoBootstrap(t *testing.T) {
	p := startPrivateDHT(t, 8)
	kp := newKey(t)
	id := identity.ID{Key: kp.Public(), Nospam: 8}
	pub := startService(t, Config{Key: kp, ID: id, Addresses: testAddrs[:1], Bootstrap: p.addrs[:1]})
	if ev := nextEvent[Published](t, pub); ev.Err != nil {
		t.Fatal(ev.Err)
	}
	other := newKey(t)
	first := startService(t, Config{Key: other, ID: identity.ID{Key: other.Public()}, Bootstrap: p.addrs[1:2]})
	if _, err := first.Lookup(lookupCtx(t), id); err != nil {
		t.Fatal(err)
	}
	table := first.RoutingTable()
	if len(table) == 0 || len(table)%38 != 0 {
		t.Fatalf("routing table of %d bytes", len(table))
	}
	second := startService(t, Config{Key: other, ID: identity.ID{Key: other.Public()}, Bootstrap: []string{}, RoutingTable: table})
	found, err := second.Lookup(lookupCtx(t), id)
	if err != nil || !slices.Equal(found.Record.Addresses, testAddrs[:1]) {
		t.Fatalf("after restart: %+v %v", found, err)
	}
}

// countingListener counts UDP packets sent to it and never answers.
type countingListener struct {
	pc net.PacketConn
	n  atomic.Int64
}

func newCountingListener(t *testing.T) *countingListener {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &countingListener{pc: pc}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			c.n.Add(1)
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return c
}

func TestNoDHTSendsNoPacket(t *testing.T) {
	sink := newCountingListener(t)
	kp := newKey(t)
	id := identity.ID{Key: kp.Public(), Nospam: 1}
	s := startService(t, Config{Disabled: true, Key: kp, ID: id, Addresses: testAddrs,
		Bootstrap: []string{sink.pc.LocalAddr().String()}})
	s.SetAddresses(testAddrs[:1])
	s.RequestLookup(id)
	if _, err := s.Lookup(lookupCtx(t), id); !errors.Is(err, ErrDisabled) {
		t.Fatalf("lookup: %v", err)
	}
	if st := s.Status(); st.Enabled || st.PacketsSent != 0 || s.LocalAddr() != "" {
		t.Fatalf("status %+v", st)
	}
	if n := sink.n.Load(); n != 0 {
		t.Fatalf("no-DHT mode sent %d packets", n)
	}

	// Control: the same configuration with the DHT on reaches the sink.
	on := startService(t, Config{Key: kp, ID: id, Addresses: testAddrs,
		Bootstrap: []string{sink.pc.LocalAddr().String()}, LookupTimeout: 3 * time.Second})
	ev := nextEvent[Published](t, on)
	if !errors.Is(ev.Err, ErrNoNodes) {
		t.Fatalf("publish with an unresponsive router: %+v", ev)
	}
	if sink.n.Load() == 0 {
		t.Fatal("the counting listener saw nothing from the enabled service")
	}
	if st := on.Status(); st.LastError == nil || st.PublishErr == nil {
		t.Fatalf("failure not in status: %+v", st)
	}
	// The disabled service, run the whole time, sent nothing.
	before := sink.n.Load()
	s.SetAddresses(testAddrs[1:])
	if _, err := s.Lookup(lookupCtx(t), id); !errors.Is(err, ErrDisabled) {
		t.Fatal(err)
	}
	if st := s.Status(); st.PacketsSent != 0 || sink.n.Load() != before {
		t.Fatalf("disabled service sent packets: %+v", st)
	}
}

func TestRetryDelay(t *testing.T) {
	for _, c := range []struct {
		n    int
		want time.Duration
	}{{0, time.Minute}, {1, time.Minute}, {2, 2 * time.Minute}, {3, 4 * time.Minute}, {10, time.Hour}} {
		if got := retryDelay(c.n, time.Minute, time.Hour); got != c.want {
			t.Errorf("retryDelay(%d) = %v, want %v", c.n, got, c.want)
		}
	}
}

// lookupEventually looks id up, trying again (at most 3 times) when a
// traversal on a loaded machine missed every node that stores the item:
// the tests here are about which IDs find which items, not about how
// reliable one traversal is under load (BenchmarkDHT measures that).
func lookupEventually(t *testing.T, res *Service, id identity.ID) (Found, error) {
	t.Helper()
	var (
		found Found
		err   error
	)
	for i := 0; i < 3; i++ {
		found, err = res.Lookup(lookupCtx(t), id)
		if err == nil {
			return found, nil
		}
		t.Logf("lookup %d of %v: %v", i+1, id, err)
		time.Sleep(100 * time.Millisecond)
	}
	return found, err
}
