package storage

import (
	"context"
	"database/sql"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"confchat/identity"
)

// TestUpgradeFromVersion1 builds a version-1 database with data in it and
// checks that Open upgrades it without losing anything.
func TestUpgradeFromVersion1(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "p")
	lock, err := lockProfile(dir)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", dsn(filepath.Join(dir, DBFile)))
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := migrations()
	conn, _ := raw.Conn(context.Background())
	if err := applyMigrations(context.Background(), conn, ms[:1]); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	id := []byte("0123456789012345678901234567890123")[:33]
	if _, err := raw.Exec(`INSERT INTO conferences (id, title, next_number, created_at) VALUES (?, 'old', 42, 1)`, id); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO messages (conference, origin, number, kind, body, signature, received_at)
		VALUES (?, ?, 7, 64, x'01', x'02', 5)`, id, make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	lock.release()

	db, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	defer db.Close()
	if v := pragmaInt(t, db.sql, "user_version"); v != SchemaVersion() || v < 2 {
		t.Fatalf("user_version = %d", v)
	}
	var cid identity.ConferenceID
	copy(cid[:], id)
	c, err := db.Conference(ctx, cid)
	if err != nil || c.Title != "old" || c.NextNumber != 42 || c.Connected {
		t.Fatalf("conference after upgrade: %+v, %v", c, err)
	}
	msgs, err := db.ConferenceMessages(ctx, cid)
	if err != nil || len(msgs) != 1 || msgs[0].Number != 7 || msgs[0].Forked {
		t.Fatalf("messages after upgrade: %+v, %v", msgs, err)
	}
}

func TestEngineStateRoundTrip(t *testing.T) {
	db, _ := openTemp(t)
	id := identity.ConferenceID{0, 9}
	c := Conference{ID: id, Title: "x", NextNumber: 3, CreatedAt: time.UnixMilli(1),
		SelfNumber: 513, Connected: true, MaxFrozen: 50, InviteCookie: []byte{1, 2, 3}}
	if err := db.PutConference(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Conference(ctx, id); !reflect.DeepEqual(got, c) {
		t.Fatalf("got %+v\nwant %+v", got, c)
	}
	p := Peer{Conference: id, Key: identity.PublicKey{1}, Number: 2, HighestSeen: 100, Addresses: []string{}}
	db.PutPeer(ctx, p)
	p.HighestSeen = 50 // never goes down
	db.PutPeer(ctx, p)
	if ps, _ := db.Peers(ctx, id); len(ps) != 1 || ps[0].HighestSeen != 100 {
		t.Fatalf("peers = %+v", ps)
	}
	for n := range uint32(3) {
		db.InsertMessage(ctx, Message{Conference: id, Origin: identity.PublicKey{1}, Number: n + 1, Kind: 64,
			Forked: n == 1, ReceivedAt: time.UnixMilli(int64(n) + 1)})
	}
	if err := db.DeleteMessage(ctx, id, identity.PublicKey{1}, 1); err != nil {
		t.Fatal(err)
	}
	all, _ := db.ConferenceMessages(ctx, id)
	if len(all) != 2 || all[0].Number != 2 || !all[0].Forked || all[1].Forked {
		t.Fatalf("messages = %+v", all)
	}
	for i, f := range []Floor{{Origin: identity.PublicKey{2}, Floor: 5, Fixed: true}, {Origin: identity.PublicKey{1}, Floor: 9}} {
		if err := db.PutFloor(ctx, id, f); err != nil {
			t.Fatal(i, err)
		}
	}
	db.PutFloor(ctx, id, Floor{Origin: identity.PublicKey{1}, Floor: 10})
	fl, err := db.Floors(ctx, id)
	if err != nil || len(fl) != 2 || fl[0].Floor != 10 || !fl[1].Fixed {
		t.Fatalf("floors = %+v, %v", fl, err)
	}
	db.DeleteConference(ctx, id)
	if fl, _ := db.Floors(ctx, id); len(fl) != 0 {
		t.Fatal("floors survive their conference: " + strconv.Itoa(len(fl)))
	}
}
