package netlayer

import (
	"context"
	"testing"
	"time"
)

func TestConnectAndExchange(t *testing.T) {
	leakCheck(t)
	a, b := newNode(t, newKey(t), nil), newNode(t, newKey(t), nil)
	sa := a.open(b)
	a.waitState(b, Connected)
	sb := b.waitState(a, Connected)
	go sendN(t, sa, 50, 100)
	sendN(t, sb, 40, 3000)
	waitFor(t, "frames at b", func() bool { return len(b.rec.frames(a.pub())) == 50 })
	waitFor(t, "frames at a", func() bool { return len(a.rec.frames(b.pub())) == 40 })
	checkStream(t, b.rec.frames(a.pub()), 50)
	checkStream(t, a.rec.frames(b.pub()), 40)
	if _, ok := b.rec.first(func(ev Event) bool { o, ok := ev.(SessionOpened); return ok && o.Inbound }); !ok {
		t.Fatal("b reported no inbound SessionOpened")
	}
	if sessionID(sa) != sessionID(sb) {
		t.Fatal("the two sides disagree on the session id")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sa.Send(ctx, make([]byte, DefaultMaxFrameSize+1)); err == nil {
		t.Fatal("oversized Send accepted")
	}
}
