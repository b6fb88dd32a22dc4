package netlayer

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// forger is a loopback listener that answers every connection the way an
// attacker on the path can: it reads the dialer's first bytes and sends
// the empty, unauthenticated "wrong key" record (4 zero bytes).
type forger struct {
	ln net.Listener
	wg sync.WaitGroup
}

func newForger(t *testing.T) *forger {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &forger{ln: ln}
	f.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.wg.Go(func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(waitLong))
				_, _ = io.ReadFull(c, make([]byte, 4))
				_, _ = c.Write([]byte{0, 0, 0, 0})
			})
		}
	})
	t.Cleanup(func() { _ = ln.Close(); f.wg.Wait() })
	return f
}

func (f *forger) addr() string { return f.ln.Addr().String() }

// refusedUnauthenticated reports a transition whose reason is a forged or
// unauthenticated refusal, and that it is not fatal.
func refusedUnauthenticated(ev Event) bool {
	c, ok := ev.(SessionStateChanged)
	return ok && errors.Is(c.Reason, ErrUnauthenticatedRefusal) && !IsFatal(c.Reason)
}

// Issue 9 defect 3: a forged 4-byte "wrong key" record is unauthenticated,
// so it neither stops the dialer from trying the peer's later addresses
// nor ends the session: it is reported distinctly and retried with backoff.
func TestDefect03ForgedWrongKeyNotFatal(t *testing.T) {
	leakCheck(t)
	t.Run("later address", func(t *testing.T) {
		a, b := newNode(t, newKey(t), nil), newNode(t, newKey(t), nil)
		f := newForger(t)
		s := a.open(b, f.addr(), b.addr())
		waitFor(t, "session connected through the second address", func() bool {
			select {
			case <-s.Done():
				t.Fatalf("session closed: %v", s.Err())
			default:
			}
			return s.State() == Connected
		})
		sendN(t, s, 3, 10)
		waitFor(t, "frames", func() bool { return len(b.rec.frames(a.pub())) == 3 })
	})
	t.Run("only address", func(t *testing.T) {
		a, b := newNode(t, newKey(t), nil), newNode(t, newKey(t), nil)
		p := newProxy(t, b.addr())
		const forged = 3
		p.setTamper(func(pr *pair, dir int, off int64, chunk []byte) []byte {
			if pr.n <= forged && dir == 1 && off == 0 {
				return []byte{0, 0, 0, 0} // the listener's message 2, replaced
			}
			return chunk
		})
		s := a.open(b, p.addr())
		waitFor(t, "session connected once the path stops forging", func() bool {
			select {
			case <-s.Done():
				t.Fatalf("session closed: %v", s.Err())
			default:
			}
			return s.State() == Connected
		})
		if n := a.rec.count(refusedUnauthenticated); n < forged {
			t.Fatalf("%d transitions reported the unauthenticated refusal, want %d", n, forged)
		}
		if n := a.rec.count(toState(BackingOff)); n < forged-1 {
			t.Fatalf("%d backoffs for %d forged refusals", n, forged)
		}
	})
}
