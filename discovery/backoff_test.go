package discovery

import (
	"sync"
	"testing"
	"time"

	"confchat/identity"
)

// fakeClock moves only when the test says so.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c     *fakeClock
	ch    chan time.Time
	at    time.Time
	armed bool
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, ch: make(chan time.Time, 1), at: c.now.Add(d), armed: true}
	c.timers = append(c.timers, t)
	return t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for _, t := range c.timers {
		if t.armed && !t.at.After(c.now) {
			t.armed = false
			select {
			case t.ch <- c.now:
			default:
			}
		}
	}
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Reset(d time.Duration) {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	select {
	case <-t.ch:
	default:
	}
	t.at, t.armed = t.c.now.Add(d), true
	if d <= 0 {
		t.armed = false
		t.ch <- t.c.now
	}
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.armed
	t.armed = false
	return was
}

// A lookup that fails is not repeated before its backoff has passed on
// the injected clock, and the backoff doubles.
func TestLookupBackoffPerID(t *testing.T) {
	sink := newCountingListener(t)
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	kp := newKey(t)
	s := startService(t, Config{Key: kp, ID: identity.ID{Key: kp.Public()}, Clock: clock,
		Bootstrap: []string{sink.pc.LocalAddr().String()}, LookupTimeout: 500 * time.Millisecond,
		MinInterval: time.Minute, MaxBackoff: time.Hour})
	target := identity.ID{Key: newKey(t).Public(), Nospam: 1}
	t0 := clock.Now()
	s.RequestLookup(target)
	first := nextEvent[LookupFailed](t, s)
	if first.ID != target || !first.RetryAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("first failure %+v", first)
	}
	s.RequestLookup(target) // within the backoff: waits for the clock
	clock.Advance(time.Minute)
	second := nextEvent[LookupFailed](t, s)
	if want := t0.Add(time.Minute + 2*time.Minute); !second.RetryAt.Equal(want) {
		t.Fatalf("second failure retry at %v, want %v (ran before the backoff passed, or did not double)",
			second.RetryAt.Sub(t0), want.Sub(t0))
	}
	if sink.n.Load() == 0 {
		t.Fatal("no packet reached the router")
	}
}
