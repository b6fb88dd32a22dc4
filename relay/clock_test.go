package relay

import (
	"sync"
	"time"
)

// fakeClock is a Clock that moves only when Advance is called. Due timers
// run in their own goroutines, as time.AfterFunc's do.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers map[*fakeTimer]struct{}
}

type fakeTimer struct {
	c    *fakeClock
	when time.Time
	f    func()
}

var _ Clock = (*fakeClock)(nil)

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Unix(1_700_000_000, 0), timers: map[*fakeTimer]struct{}{}}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, when: c.now.Add(d), f: f}
	c.timers[t] = struct{}{}
	return t
}

// Advance moves time by d and starts every timer that is due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	for t := range c.timers {
		if !t.when.After(c.now) {
			due = append(due, t)
			delete(c.timers, t)
		}
	}
	c.mu.Unlock()
	for _, t := range due {
		go t.f()
	}
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	_, ok := t.c.timers[t]
	delete(t.c.timers, t)
	return ok
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	_, ok := t.c.timers[t]
	t.when = t.c.now.Add(d)
	t.c.timers[t] = struct{}{}
	return ok
}

// advancePast moves the clock by d and, until done holds (at most 50
// times, 10 ms apart), by d again. A watchdog check started by an earlier
// jump may still be running: it read the old time and re-arms its timer
// from the new one (a fake clock jumps; a real one does not), which puts
// the timer past the test's last jump. CI saw TestSpliceIdleCut's pair
// stay open once.
func advancePast(c *fakeClock, d time.Duration, done func() bool) {
	c.Advance(d)
	for i := 0; i < 50 && !done(); i++ {
		time.Sleep(10 * time.Millisecond)
		c.Advance(d)
	}
}
