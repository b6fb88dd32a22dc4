package node

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"confchat/conference"
)

// TestLazyRestoreServesOldHistory: a node opens a saved conference
// without restoring its engine (listed, history readable), restores it
// lazily with only the newest bodies in memory, and still serves a
// returning member messages older than that window (read back from the
// database), and the member rejoins.
func TestLazyRestoreServesOldHistory(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	p := newPair(t)
	dirA, dirB := p.a.cfg.Profile, p.b.cfg.Profile
	addrA, addrB := p.meA.Addresses[0], p.meB.Addresses[0]
	p.subA.Close()
	p.subB.Close()
	closeNode(t, p.b)
	const old = conference.DefaultHotWindow + 60
	for i := range old {
		if _, err := p.a.Send(ctx, p.conf, fmt.Sprintf("old %d", i), false); err != nil {
			t.Fatal(err)
		}
	}
	closeNode(t, p.a)

	reopen := func(dir, addr string) *Node {
		n, err := Open(ctx, Config{Profile: dir, Listen: addr, FreezeAfter: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	a := reopen(dirA, addrA)
	defer closeNode(t, a)
	cs, err := a.Conferences(ctx)
	if err != nil || len(cs) != 1 || cs[0].Title != "pair" || cs[0].FrozenCount != 1 {
		t.Fatalf("alice's conferences after reopening: %+v, %v", cs, err)
	}
	hist, err := a.History(ctx, p.conf, 5, 0)
	if err != nil || len(hist) != 5 || hist[4].Text != fmt.Sprintf("old %d", old-1) {
		t.Fatalf("alice's history after reopening: %+v, %v", hist, err)
	}

	b := reopen(dirB, addrB)
	defer closeNode(t, b)
	deadline := time.Now().Add(60 * time.Second)
	for {
		hist, err := b.History(ctx, p.conf, 2*old, 0)
		if err != nil {
			t.Fatal(err)
		}
		texts := make([]string, 0, len(hist))
		for _, h := range hist {
			texts = append(texts, h.Text)
		}
		if slices.Contains(texts, "old 0") && slices.Contains(texts, fmt.Sprintf("old %d", old-1)) && len(texts) >= old {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bob holds %d of alice's %d messages after rejoining", len(texts), old)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if a.Counters().HistoryLoads == 0 {
		t.Fatal("alice served the old messages without reading them back: nothing was left on disk only")
	}
	for {
		ps, err := a.Peers(ctx, p.conf)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) == 2 && !ps[1].Frozen {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bob did not rejoin alice's conference: %+v", ps)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestShellThenRestored: right after Open a saved conference is listed
// from storage (Loading, unread counted up to quickUnread); the node
// restores it in the background and then counts exactly.
func TestShellThenRestored(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	p := newPair(t)
	const sent = quickUnread + 20
	for i := range sent {
		if _, err := p.b.Send(ctx, p.conf, fmt.Sprintf("unread %d", i), false); err != nil {
			t.Fatal(err)
		}
	}
	received(t, p.subA, fmt.Sprintf("unread %d", sent-1), 20*time.Second)
	dirA := p.a.cfg.Profile
	p.close(t)
	a, err := Open(ctx, Config{Profile: dirA, Listen: "127.0.0.1:0", FreezeAfter: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer closeNode(t, a)
	cs, err := a.Conferences(ctx)
	if err != nil || len(cs) != 1 {
		t.Fatalf("conferences after reopening: %+v, %v", cs, err)
	}
	if cs[0].Loading && cs[0].Unread != quickUnread {
		t.Fatalf("a conference not restored yet counts %d unread, want the cap %d", cs[0].Unread, quickUnread)
	}
	deadline := time.Now().Add(20 * time.Second)
	for cs[0].Loading {
		if time.Now().After(deadline) {
			t.Fatal("the conference was never restored in the background")
		}
		time.Sleep(20 * time.Millisecond)
		if cs, err = a.Conferences(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if cs[0].Unread != sent || cs[0].Title != "pair" || cs[0].FrozenCount != 1 {
		t.Fatalf("after the restore: %+v, want %d unread", cs[0], sent)
	}
}
