package node

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestFriendRenameReachesFrontEnds: a friend's /nick over a live session
// changes the friend list at once and says so with a FriendRenamed event,
// so front ends do not show the old name until a restart.
func TestFriendRenameReachesFrontEnds(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	a := openNode(t, filepath.Join(t.TempDir(), "a"), "alice")
	defer closeNode(t, a)
	b := openNode(t, filepath.Join(t.TempDir(), "b"), "bob")
	defer closeNode(t, b)
	subA, subB := a.Subscribe(), b.Subscribe()
	befriendNodes(t, a, b, subA, subB)
	meB, _ := b.Self(ctx)

	if err := b.SetName(ctx, "bobby"); err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, subA, 10*time.Second, func(ev Event) bool {
		r, ok := ev.(FriendRenamed)
		return ok && r.Friend == meB.Key
	}).(FriendRenamed)
	if ev.Name != "bobby" {
		t.Fatalf("renamed to %q, want bobby", ev.Name)
	}
	friends, err := a.Friends(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(friends) != 1 || friends[0].Name != "bobby" {
		t.Fatalf("friend list after the rename: %+v", friends)
	}
	// Telling the same name again is not a rename.
	if err := b.SetName(ctx, "bobby"); err != nil {
		t.Fatal(err)
	}
	if err := b.SetName(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	ev = waitEvent(t, subA, 10*time.Second, func(ev Event) bool { _, ok := ev.(FriendRenamed); return ok }).(FriendRenamed)
	if ev.Name != "bob" {
		t.Fatalf("second rename event %q, want bob (a repeated name must not emit)", ev.Name)
	}
}

// A pending request lists the name it gave, so front ends can show it and
// /accept NAME can find it.
func TestFriendRequestListsName(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	a := openNode(t, filepath.Join(t.TempDir(), "a"), "alice")
	defer closeNode(t, a)
	b := openNode(t, filepath.Join(t.TempDir(), "b"), "bob")
	defer closeNode(t, b)
	subB := b.Subscribe()
	meB, _ := b.Self(ctx)
	if err := a.AddFriend(ctx, meB.ID, meB.Addresses[0], "hi"); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, subB, 10*time.Second, func(ev Event) bool { _, ok := ev.(FriendRequestReceived); return ok })
	rs, err := b.FriendRequests(ctx)
	if err != nil || len(rs) != 1 || rs[0].Name != "alice" || rs[0].Message != "hi" {
		t.Fatalf("requests %+v, %v", rs, err)
	}
}
