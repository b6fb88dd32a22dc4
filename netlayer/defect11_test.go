package netlayer

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// idleFlood keeps sockets open to addr that never send a byte: each of
// conns slots dials from one of the source IPs, waits until the listener
// closes it, pauses and dials again, for at most budget dials in all.
type idleFlood struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	dials  atomic.Int64
	live   atomic.Int64
}

func startIdleFlood(t *testing.T, addr string, sources []string, conns int, budget int64) *idleFlood {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f := &idleFlood{cancel: cancel}
	for i := range conns {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(sources[i%len(sources)])}}
		f.wg.Go(func() {
			for ctx.Err() == nil && f.dials.Add(1) <= budget {
				c, err := d.DialContext(ctx, "tcp", addr)
				if err != nil {
					time.Sleep(5 * time.Millisecond)
					continue
				}
				f.live.Add(1)
				stop := context.AfterFunc(ctx, func() { _ = c.Close() })
				_, _ = c.Read(make([]byte, 1)) // blocks until the listener cuts it
				stop()
				_ = c.Close()
				f.live.Add(-1)
				select {
				case <-ctx.Done():
				case <-time.After(20 * time.Millisecond):
				}
			}
		})
	}
	t.Cleanup(f.stop)
	return f
}

func (f *idleFlood) stop() { f.cancel(); f.wg.Wait() }

// Issue 9 defect 11 (slowloris): 80 idle sockets that reconnect whenever
// they are cut used to fill the 64 half-open slots for the whole handshake
// timeout, and a genuine dialer was refused until they timed out. Now the
// genuine dialer connects while the flood runs: its connection displaces
// an idle one of the flood's source (one source), or of the source holding
// the most slots (ten sources). The handshake timeout is a minute here, so
// only displacement can let it in.
func TestDefect11IdleFloodDoesNotLockOut(t *testing.T) {
	leakCheck(t)
	for _, tc := range []struct {
		name    string
		sources []string
	}{
		{"one source", []string{"127.0.0.1"}},
		{"ten sources", func() (s []string) {
			for i := 2; i < 12; i++ {
				s = append(s, fmt.Sprintf("127.0.0.%d", i))
			}
			return s
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newNode(t, newKey(t), func(c *Config) { c.HandshakeTimeout = time.Minute })
			f := startIdleFlood(t, b.addr(), tc.sources, 80, 4000)
			waitFor(t, "the flood holding its share of half-open slots", func() bool {
				want := min(DefaultMaxHalfOpen, DefaultMaxHalfOpenSource*len(tc.sources))
				return b.ep.halfOpen.len() >= want || f.live.Load() >= 80
			})
			a := newNode(t, newKey(t), func(c *Config) { c.DialFrom = net.ParseIP("127.0.0.1") })
			s := a.open(b)
			waitFor(t, "genuine dialer connected during the flood", func() bool { return s.State() == Connected })
			sendN(t, s, 10, 50)
			waitFor(t, "frames through", func() bool { return len(b.rec.frames(a.pub())) == 10 })
			if n := b.ep.halfOpen.len(); n > DefaultMaxHalfOpen {
				t.Fatalf("%d half-open connections held, limit %d", n, DefaultMaxHalfOpen)
			}
			t.Logf("flood: %d dials, %d sockets open when the dialer got through", f.dials.Load(), f.live.Load())
			f.stop()
		})
	}
}
