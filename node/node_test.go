package node

import (
	"context"
	crand "crypto/rand"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"confchat/identity"
)

func openNode(t *testing.T, dir, name string) *Node {
	t.Helper()
	n, err := Open(context.Background(), Config{Profile: dir, Listen: "127.0.0.1:0", Name: name,
		FreezeAfter: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func closeNode(t testing.TB, n *Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
}

// waitEvent reads sub until match returns true or the timeout passes.
func waitEvent(t testing.TB, sub *Subscription, timeout time.Duration, match func(Event) bool) Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		ev, ok := sub.Next(ctx)
		if !ok {
			t.Fatalf("no matching event within %v", timeout)
		}
		if match(ev) {
			return ev
		}
	}
}

func TestTwoNodesChatAndRestart(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	dirA, dirB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	a, b := openNode(t, dirA, "alice"), openNode(t, dirB, "bob")
	subA, subB := a.Subscribe(), b.Subscribe()

	meB, err := b.Self(ctx)
	if err != nil {
		t.Fatal(err)
	}
	meA, _ := a.Self(ctx)
	if err := a.AddFriend(ctx, meB.ID, meB.Addresses[0], "hello"); err != nil {
		t.Fatal(err)
	}
	req := waitEvent(t, subB, 5*time.Second, func(ev Event) bool { _, ok := ev.(FriendRequestReceived); return ok })
	if r := req.(FriendRequestReceived); r.From != meA.Key || r.Message != "hello" || r.Name != "alice" {
		t.Fatalf("request = %+v", r)
	}
	if err := b.AcceptFriend(ctx, meA.Key); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, subA, 5*time.Second, func(ev Event) bool { o, ok := ev.(FriendOnline); return ok && o.Friend == meB.Key })

	conf, err := a.CreateConference(ctx, "tea")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Invite(ctx, conf, meB.Key); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, subB, 5*time.Second, func(ev Event) bool { i, ok := ev.(ConferenceInvited); return ok && i.Conference == conf })
	if err := b.Join(ctx, conf); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, subB, 5*time.Second, func(ev Event) bool { _, ok := ev.(ConferenceJoined); return ok })
	num, err := a.Send(ctx, conf, "first", false)
	if err != nil {
		t.Fatal(err)
	}
	got := waitEvent(t, subB, 5*time.Second, func(ev Event) bool { _, ok := ev.(MessageReceived); return ok }).(MessageReceived)
	if got.Message.Text != "first" || got.Message.From != meA.Key || got.Message.Number != num || got.Message.Name != "alice" {
		t.Fatalf("message = %+v", got.Message)
	}
	hist, err := b.History(ctx, conf, 10, 0)
	if err != nil || len(hist) != 1 || hist[0].Text != "first" {
		t.Fatalf("history = %+v, %v", hist, err)
	}
	if got.Message.Seq == 0 || got.Message.Seq != hist[0].Seq || hist[0].Pending {
		t.Fatalf("event seq %d, history %+v", got.Message.Seq, hist[0])
	}
	if cs, err := b.Conferences(ctx); err != nil || len(cs) != 1 || cs[0].Unread != 1 {
		t.Fatalf("bob's conferences = %+v, %v", cs, err)
	}
	if err := b.MarkRead(ctx, conf, hist[0].Seq); err != nil {
		t.Fatal(err)
	}
	if cs, _ := b.Conferences(ctx); cs[0].Unread != 0 || cs[0].LastRead != hist[0].Seq {
		t.Fatalf("after MarkRead: %+v", cs[0])
	}
	ps, err := b.Peers(ctx, conf)
	if err != nil || len(ps) != 2 || ps[1].Key != meA.Key || ps[1].LastActive.IsZero() || len(ps[1].Addresses) == 0 {
		t.Fatalf("bob's peers = %+v, %v", ps, err)
	}
	if st, err := a.Status(ctx); err != nil || st.Connected != 1 || len(st.Routes) != 1 || st.Routes[0].Peer != meB.Key {
		t.Fatalf("alice's status = %+v, %v", st, err)
	}

	// Restart bob: the conference is listed at once, alice frozen.
	subA.Close()
	subB.Close()
	closeNode(t, b)
	if _, err := b.Self(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("call after close: %v", err)
	}
	if err := b.Close(ctx); err != nil {
		t.Fatalf("second close: %v", err)
	}
	b = openNode(t, dirB, "")
	cs, err := b.Conferences(ctx)
	if err != nil || len(cs) != 1 || cs[0].ID != conf || cs[0].Title != "tea" {
		t.Fatalf("conferences after restart = %+v, %v", cs, err)
	}
	if me, _ := b.Self(ctx); me.Name != "bob" || me.Key != meB.Key {
		t.Fatalf("self after restart = %+v", me)
	}
	closeNode(t, a)
	closeNode(t, b)
}

func TestAPIErrors(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	n := openNode(t, filepath.Join(t.TempDir(), "p"), "x")
	defer closeNode(t, n)
	me, _ := n.Self(ctx)
	var unknown ConferenceID
	checks := []struct {
		name string
		err  error
		want error
	}{
		{"add self", n.AddFriend(ctx, me.ID, "127.0.0.1:1", ""), ErrSelf},
		{"bad address", n.AddFriend(ctx, identity.ID{Key: otherKey(t)}, "nowhere", ""), ErrBadAddress},
		{"accept unknown", n.AcceptFriend(ctx, identity.PublicKey{2}), ErrNoRequest},
		{"remove unknown", n.RemoveFriend(ctx, identity.PublicKey{2}), ErrNotFriend},
		{"join uninvited", n.Join(ctx, unknown), ErrNoInvite},
		{"leave unknown", n.Leave(ctx, unknown), ErrUnknownConference},
		{"invite stranger", func() error {
			id, err := n.CreateConference(ctx, "")
			if err != nil {
				return err
			}
			return n.Invite(ctx, id, identity.PublicKey{3})
		}(), ErrNotFriend},
	}
	for _, c := range checks {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, c.err, c.want)
		}
	}
	if _, err := n.Send(ctx, unknown, "x", false); !errors.Is(err, ErrUnknownConference) {
		t.Errorf("send to unknown: %v", err)
	}
}

func TestProfileInUse(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "p")
	n := openNode(t, dir, "x")
	defer closeNode(t, n)
	if _, err := Open(context.Background(), Config{Profile: dir, Listen: "127.0.0.1:0"}); err == nil {
		t.Fatal("second node opened the same profile")
	}
}

// otherKey returns a fresh valid public key.
func otherKey(t *testing.T) identity.PublicKey {
	t.Helper()
	kp, err := identity.Generate(crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return kp.Public()
}
