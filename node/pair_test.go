package node

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// pair is two befriended nodes in one conference that alice created.
type pair struct {
	a, b       *Node
	subA, subB *Subscription
	meA, meB   SelfInfo
	conf       ConferenceID
}

func newPair(t testing.TB) *pair { return newPairFreezing(t, 3*time.Second) }

// newPairFreezing makes a pair whose nodes freeze silent peers after
// freeze (and ping every third of it).
func newPairFreezing(t testing.TB, freeze time.Duration) *pair {
	t.Helper()
	ctx := context.Background()
	p := &pair{}
	open := func(name string) *Node {
		n, err := Open(ctx, Config{Profile: filepath.Join(t.TempDir(), name), Listen: "127.0.0.1:0",
			Name: name, FreezeAfter: freeze})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	p.a, p.b = open("alice"), open("bob")
	p.subA, p.subB = p.a.Subscribe(), p.b.Subscribe()
	p.meA, _ = p.a.Self(ctx)
	p.meB, _ = p.b.Self(ctx)
	if err := p.a.AddFriend(ctx, p.meB.ID, p.meB.Addresses[0], ""); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, p.subB, 10*time.Second, func(ev Event) bool { _, ok := ev.(FriendRequestReceived); return ok })
	if err := p.b.AcceptFriend(ctx, p.meA.Key); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, p.subA, 10*time.Second, func(ev Event) bool { o, ok := ev.(FriendOnline); return ok && o.Friend == p.meB.Key })
	var err error
	if p.conf, err = p.a.CreateConference(ctx, "pair"); err != nil {
		t.Fatal(err)
	}
	if err := p.a.Invite(ctx, p.conf, p.meB.Key); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, p.subB, 10*time.Second, func(ev Event) bool { i, ok := ev.(ConferenceInvited); return ok && i.Conference == p.conf })
	if err := p.b.Join(ctx, p.conf); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, p.subB, 10*time.Second, func(ev Event) bool { _, ok := ev.(ConferenceJoined); return ok })
	return p
}

func (p *pair) close(t testing.TB) {
	p.subA.Close()
	p.subB.Close()
	closeNode(t, p.a)
	closeNode(t, p.b)
}

// received waits for b to report a message with text.
func received(t *testing.T, sub *Subscription, text string, timeout time.Duration) MessageReceived {
	t.Helper()
	return waitEvent(t, sub, timeout, func(ev Event) bool {
		m, ok := ev.(MessageReceived)
		return ok && m.Message.Text == text
	}).(MessageReceived)
}
