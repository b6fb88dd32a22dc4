package storage

import (
	"bytes"
	"context"
	"testing"

	"confchat/identity"
)

func TestDHTStateSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	db, dir := openTemp(t)
	if seq, err := db.DHTSeq(ctx); err != nil || seq != 0 {
		t.Fatalf("fresh profile: seq %d, %v", seq, err)
	}
	for _, s := range []int64{3, 7, 5} { // 5 after 7 must not lower it
		if err := db.RaiseDHTSeq(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	table := bytes.Repeat([]byte{0, 1, 2, 0xff}, 40)
	if err := db.SetDHTRoutingTable(ctx, table); err != nil {
		t.Fatal(err)
	}
	var key identity.PublicKey
	key[0] = 9
	if err := db.SetDHTSeen(ctx, key, 42); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if seq, err := db.DHTSeq(ctx); err != nil || seq != 7 {
		t.Fatalf("seq after reopen %d, %v; want 7", seq, err)
	}
	if got, err := db.DHTRoutingTable(ctx); err != nil || !bytes.Equal(got, table) {
		t.Fatalf("routing table after reopen: %v %x", err, got)
	}
	if got, err := db.DHTSeen(ctx, key); err != nil || got != 42 {
		t.Fatalf("seen %d, %v; want 42", got, err)
	}
	if err := db.SetDHTSeen(ctx, key, 0); err != nil {
		t.Fatal(err)
	}
	if got, err := db.DHTSeen(ctx, key); err != nil || got != 0 {
		t.Fatalf("forgotten seen %d, %v", got, err)
	}
}
