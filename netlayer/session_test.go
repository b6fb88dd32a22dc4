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

// The Connected transition names the remote address of its connection.
func TestConnectedRemoteAddr(t *testing.T) {
	leakCheck(t)
	a, b := newNode(t, newKey(t), nil), newNode(t, newKey(t), nil)
	a.open(b)
	waitFor(t, "dialer's Connected event", func() bool { _, ok := a.rec.first(toState(Connected)); return ok })
	ev, _ := a.rec.first(toState(Connected))
	if ev.(SessionStateChanged).RemoteAddr != b.addr() {
		t.Fatalf("dialer's Connected event %+v, want RemoteAddr %s", ev, b.addr())
	}
	waitFor(t, "listener's Connected event", func() bool { _, ok := b.rec.first(toState(Connected)); return ok })
	ev, _ = b.rec.first(toState(Connected))
	if got := ev.(SessionStateChanged).RemoteAddr; got == "" || got == b.addr() {
		t.Fatalf("listener's Connected event has RemoteAddr %q", got)
	}
	if ev, ok := a.rec.first(func(ev Event) bool {
		c, ok := ev.(SessionStateChanged)
		return ok && c.To != Connected && c.RemoteAddr != ""
	}); ok {
		t.Fatalf("non-Connected event carries an address: %+v", ev)
	}
}
