package storage

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"confchat/identity"
)

var ctx = context.Background()

func TestFriendsAndRequests(t *testing.T) {
	db, _ := openTemp(t)
	now := time.UnixMilli(1_700_000_000_000)
	a := Friend{Key: identity.PublicKey{1}, Name: "alice", Addresses: []string{"127.0.0.1:1", "[::1]:2"},
		Nospam: 7, AddedAt: now}
	b := Friend{Key: identity.PublicKey{2}, Name: "bob", AddedAt: now.Add(time.Second), Confirmed: true}
	for _, f := range []Friend{a, b} {
		if err := db.PutFriend(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	a.Confirmed, a.LastSeen = true, now.Add(time.Minute)
	if err := db.PutFriend(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := db.Friend(ctx, a.Key)
	if err != nil || !reflect.DeepEqual(got, a) {
		t.Fatalf("Friend = %+v, %v; want %+v", got, err, a)
	}
	all, err := db.Friends(ctx)
	if err != nil || len(all) != 2 || all[0].Key != a.Key || all[1].Addresses == nil {
		t.Fatalf("Friends = %+v, %v", all, err)
	}
	if err := db.DeleteFriend(ctx, a.Key); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Friend(ctx, a.Key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted friend: err = %v", err)
	}

	r := FriendRequest{Key: identity.PublicKey{3}, Message: "hi", Addresses: []string{"127.0.0.1:9"}, ReceivedAt: now}
	if err := db.PutFriendRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	r.Message = "hi again"
	if err := db.PutFriendRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	reqs, err := db.FriendRequests(ctx)
	if err != nil || len(reqs) != 1 || !reflect.DeepEqual(reqs[0], r) {
		t.Fatalf("FriendRequests = %+v, %v", reqs, err)
	}
	if err := db.DeleteFriendRequest(ctx, r.Key); err != nil {
		t.Fatal(err)
	}
	if reqs, _ := db.FriendRequests(ctx); len(reqs) != 0 {
		t.Fatalf("request not deleted: %+v", reqs)
	}
}

func TestNospamAndSettings(t *testing.T) {
	db, _ := openTemp(t)
	if err := db.SetNospam(ctx, 5); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SetNospam without identity: %v", err)
	}
	_, id, err := db.LoadIdentity(ctx, identityRand{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetNospam(ctx, id.Nospam+1); err != nil {
		t.Fatal(err)
	}
	_, id2, _ := db.LoadIdentity(ctx, identityRand{})
	if id2.Key != id.Key || id2.Nospam != id.Nospam+1 || id2.String() == id.String() {
		t.Fatalf("nospam change: %v -> %v", id, id2)
	}
	if _, ok, err := db.Setting(ctx, "name"); ok || err != nil {
		t.Fatalf("unset setting: ok=%v err=%v", ok, err)
	}
	db.SetSetting(ctx, "name", "a")
	db.SetSetting(ctx, "name", "b")
	if v, ok, err := db.Setting(ctx, "name"); v != "b" || !ok || err != nil {
		t.Fatalf("Setting = %q %v %v", v, ok, err)
	}
}

// identityRand is a deterministic reader for tests.
type identityRand struct{}

func (identityRand) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i * 7)
	}
	return len(p), nil
}

func TestConferencesPeersNextNumber(t *testing.T) {
	db, _ := openTemp(t)
	id := identity.ConferenceID{0, 1}
	c := Conference{ID: id, Title: "t", TitleStamp: 3, TitleBy: identity.PublicKey{4},
		NextNumber: 10, CreatedAt: time.UnixMilli(5)}
	if err := db.PutConference(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := db.Conference(ctx, id)
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("Conference = %+v, %v", got, err)
	}
	// next_number never goes down, whichever way it is written.
	c.NextNumber = 2
	db.PutConference(ctx, c)
	db.RaiseNextNumber(ctx, id, 5)
	if got, _ := db.Conference(ctx, id); got.NextNumber != 10 {
		t.Fatalf("next number lowered to %d", got.NextNumber)
	}
	db.RaiseNextNumber(ctx, id, 11)
	if got, _ := db.Conference(ctx, id); got.NextNumber != 11 {
		t.Fatalf("next number = %d, want 11", got.NextNumber)
	}
	if err := db.RaiseNextNumber(ctx, identity.ConferenceID{9}, 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("raise on unknown conference: %v", err)
	}

	p := Peer{Conference: id, Key: identity.PublicKey{7}, Number: 3, Name: "p", Addresses: []string{"a:1"},
		Frozen: true, LastActive: time.UnixMilli(9)}
	if err := db.PutPeer(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := db.PutPeer(ctx, Peer{Conference: identity.ConferenceID{8}, Key: identity.PublicKey{1}}); err == nil {
		t.Fatal("peer of unknown conference accepted (foreign keys off?)")
	}
	peers, err := db.Peers(ctx, id)
	if err != nil || len(peers) != 1 || !reflect.DeepEqual(peers[0], p) {
		t.Fatalf("Peers = %+v, %v", peers, err)
	}
	all, _ := db.Conferences(ctx)
	if len(all) != 1 {
		t.Fatalf("Conferences = %+v", all)
	}
	if err := db.DeleteConference(ctx, id); err != nil {
		t.Fatal(err)
	}
	if peers, _ := db.Peers(ctx, id); len(peers) != 0 {
		t.Fatal("peers survive their conference")
	}
}

func TestMessagesDedupPagingPrune(t *testing.T) {
	db, _ := openTemp(t)
	id := identity.ConferenceID{0, 2}
	db.PutConference(ctx, Conference{ID: id})
	base := time.UnixMilli(1_000_000)
	for n := uint32(1); n <= 10; n++ {
		m := Message{Conference: id, Origin: identity.PublicKey{1}, Number: n, Prev: n - 1, Kind: 1,
			Body: []byte{byte(n)}, Signature: []byte{1}, ReceivedAt: base.Add(time.Duration(n) * time.Second)}
		if ok, err := db.InsertMessage(ctx, m); !ok || err != nil {
			t.Fatalf("insert %d: %v %v", n, ok, err)
		}
		if ok, err := db.InsertMessage(ctx, m); ok || err != nil {
			t.Fatalf("duplicate insert %d: %v %v", n, ok, err)
		}
	}
	last3, err := db.Messages(ctx, id, 3, 0)
	if err != nil || len(last3) != 3 || last3[0].Number != 8 || last3[2].Number != 10 {
		t.Fatalf("Messages(3) = %+v, %v", last3, err)
	}
	prev, _ := db.Messages(ctx, id, 3, last3[0].Seq)
	if len(prev) != 3 || prev[0].Number != 5 || prev[2].Number != 7 {
		t.Fatalf("page back = %+v", prev)
	}
	span, _ := db.MessagesFrom(ctx, id, identity.PublicKey{1}, 4, 6)
	if len(span) != 3 || span[0].Number != 4 || span[0].Prev != 3 {
		t.Fatalf("MessagesFrom = %+v", span)
	}
	// Keep 6 newest, and drop anything received before second 3.
	n, err := db.PruneMessages(ctx, id, base.Add(3*time.Second), 6)
	if err != nil || n != 4 {
		t.Fatalf("prune by count: deleted %d, %v", n, err)
	}
	n, _ = db.PruneMessages(ctx, id, base.Add(8*time.Second), 100)
	if n != 3 { // 5, 6 and 7
		t.Fatalf("prune by age: deleted %d", n)
	}
	rest, _ := db.Messages(ctx, id, 100, 0)
	if len(rest) != 3 || rest[0].Number != 8 {
		t.Fatalf("after prune: %+v", rest)
	}
}

func TestRoutesAndTx(t *testing.T) {
	db, _ := openTemp(t)
	r := Route{Key: identity.PublicKey{5}, Route: "relay", Switch: "to_direct", Address: "127.0.0.1:4",
		UpdatedAt: time.UnixMilli(77)}
	if err := db.PutRoute(ctx, r); err != nil {
		t.Fatal(err)
	}
	routes, err := db.Routes(ctx)
	if err != nil || len(routes) != 1 || !reflect.DeepEqual(routes[0], r) {
		t.Fatalf("Routes = %+v, %v", routes, err)
	}
	// A failing transaction leaves nothing behind.
	boom := errors.New("boom")
	err = db.Update(ctx, func(tx *Tx) error {
		if err := tx.PutRoute(ctx, Route{Key: identity.PublicKey{6}}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update err = %v", err)
	}
	if routes, _ := db.Routes(ctx); len(routes) != 1 {
		t.Fatalf("rolled-back write visible: %+v", routes)
	}
}

func TestCorruptRowsGiveErrors(t *testing.T) {
	db, _ := openTemp(t)
	if _, err := db.sql.Exec(`INSERT INTO friends (public_key, addresses, added_at) VALUES (?, 'not json', 0)`,
		make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Friends(ctx); err == nil {
		t.Fatal("bad address list read without error")
	}
}

func TestMigrationsAreWellFormed(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || SchemaVersion() != len(ms) {
		t.Fatalf("%d migrations, version %d", len(ms), SchemaVersion())
	}
}

// The restore read: newest first, fingerprints as stored, bodies only for
// the newest chat messages, other kinds and rows without a fingerprint;
// MessagesRange pages one origin by number; UnreadCountUpTo caps.
func TestEachMessageNewestFirstAndRange(t *testing.T) {
	db, _ := openTemp(t)
	id := identity.ConferenceID{0, 3}
	db.PutConference(ctx, Conference{ID: id})
	origin := identity.PublicKey{2}
	for n := uint32(1); n <= 10; n++ {
		m := Message{Conference: id, Origin: origin, Number: n, Prev: n - 1, Kind: kindMessage,
			Body: []byte{byte(n)}, Signature: []byte{9}, Fingerprint: uint64(100 + n)}
		switch n {
		case 3:
			m.Kind = 0x10 // not a chat kind: always read with its body
		case 4:
			m.Fingerprint = 0 // stored before schema 5
		}
		if _, err := db.InsertMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	var got []Message
	err := db.EachMessageNewestFirst(ctx, id, 2, func(m *Message) error {
		c := *m
		c.Body, c.Signature = append([]byte(nil), m.Body...), append([]byte(nil), m.Signature...)
		got = append(got, c)
		return nil
	})
	if err != nil || len(got) != 10 {
		t.Fatalf("read %d rows: %v", len(got), err)
	}
	for i, m := range got {
		n := uint32(10 - i)
		withBody := n >= 9 || n == 3 || n == 4
		if m.Number != n || (len(m.Body) > 0) != withBody || (len(m.Signature) > 0) != withBody {
			t.Fatalf("row %d: number %d, body %v sig %v (want body %v)", i, m.Number, m.Body, m.Signature, withBody)
		}
		if want := uint64(100 + n); n != 4 && m.Fingerprint != want || n == 4 && m.Fingerprint != 0 {
			t.Fatalf("number %d: fingerprint %d", n, m.Fingerprint)
		}
	}
	r, err := db.MessagesRange(ctx, id, origin, 2, 9, 3)
	if err != nil || len(r) != 3 || r[0].Number != 2 || r[2].Number != 4 || !reflect.DeepEqual(r[0].Body, []byte{2}) {
		t.Fatalf("MessagesRange = %+v, %v", r, err)
	}
	if n, err := db.UnreadCountUpTo(ctx, id, identity.PublicKey{7}, 0, 5); err != nil || n != 5 {
		t.Fatalf("UnreadCountUpTo = %d, %v", n, err)
	}
	if n, _ := db.UnreadCountUpTo(ctx, id, identity.PublicKey{7}, 0, 100); n != 9 {
		t.Fatalf("uncapped unread = %d, want 9 chat messages", n)
	}
}
