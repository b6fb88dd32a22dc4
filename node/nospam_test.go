package node

import (
	"context"
	"testing"
	"time"
)

// A nospam change reaches confirmed friends over their session, so they
// keep our full current ID (what a DHT lookup needs), and is kept across
// their restart.
func TestNospamChangeReachesFriends(t *testing.T) {
	p := newPair(t)
	defer p.close(t)
	ctx := context.Background()
	want := uint32(0x0badcafe)
	newID, err := p.b.SetNospam(ctx, &want)
	if err != nil || newID.Nospam != want {
		t.Fatalf("SetNospam = %v, %v", newID, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		fs, err := p.a.Friends(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) == 1 && fs[0].ID == newID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice still holds %+v, want bob's ID %v", fs, newID)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
