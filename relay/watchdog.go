package relay

import (
	"sync"
	"sync/atomic"
	"time"
)

// watchdog fires expired once nothing has touched it for limit. Touching
// is one atomic store, so a copy loop can touch it on every read; the
// timer re-arms itself for the remainder when it wakes early.
type watchdog struct {
	clock   Clock
	limit   time.Duration
	last    atomic.Int64  // clock.Now().UnixNano() of the last touch
	expired chan struct{} // closed once

	mu      sync.Mutex // guards timer and stopped against the timer's own goroutine
	timer   Timer
	stopped bool
}

func newWatchdog(clock Clock, limit time.Duration) *watchdog {
	w := &watchdog{clock: clock, limit: limit, expired: make(chan struct{})}
	w.touch()
	w.mu.Lock()
	w.timer = clock.AfterFunc(limit, w.check)
	w.mu.Unlock()
	return w
}

func (w *watchdog) touch() { w.last.Store(w.clock.Now().UnixNano()) }

func (w *watchdog) check() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	left := w.limit - time.Duration(w.clock.Now().UnixNano()-w.last.Load())
	if left > 0 {
		w.timer.Reset(left)
		return
	}
	w.stopped = true
	close(w.expired)
}

func (w *watchdog) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	w.timer.Stop()
}
