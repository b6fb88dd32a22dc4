package node

import (
	"context"
	crand "crypto/rand"
	"log/slog"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"confchat/identity"
	"confchat/netlayer"
)

// countingHandler counts records at Info and above.
type countingHandler struct{ n *atomic.Int64 }

func (h countingHandler) Enabled(_ context.Context, l slog.Level) bool { return true }
func (h countingHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelInfo {
		h.n.Add(1)
	}
	return nil
}
func (h countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h countingHandler) WithGroup(string) slog.Handler      { return h }

// handshake connects one fresh key to the node and drops the connection
// at once (the attacker's side costs it nothing).
func handshake(t *testing.T, to SelfInfo) {
	kp, err := identity.Generate(crand.Reader)
	if err != nil {
		t.Error(err)
		return
	}
	ep, err := netlayer.New(netlayer.Config{Key: kp, EventBuffer: 16})
	if err != nil {
		t.Error(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := ep.Open(to.Key, to.Addresses); err != nil {
		t.Error(err)
	}
	for ev := range ep.Events() {
		if sc, ok := ev.(netlayer.SessionStateChanged); ok && (sc.To == netlayer.Connected || sc.To == netlayer.Closed) {
			break
		}
		if ctx.Err() != nil {
			t.Error("stranger handshake timed out")
			break
		}
	}
	done, stop := context.WithCancel(context.Background())
	stop()
	go func() {
		for range ep.Events() {
		}
	}()
	ep.Close(done) // abort: no graceful close
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// Defect 4: every session from an unknown key held a 4096-slot send
// queue and buffers for about 40 s, wrote a permanent routes row and an
// INFO log line: 3,000 handshakes took a bot from 10 to 165 MiB.
func TestDefect04StrangersAreCheap(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	var infos atomic.Int64
	n, err := Open(ctx, Config{Profile: filepath.Join(t.TempDir(), "p"), Listen: "127.0.0.1:0",
		Logger: slog.New(countingHandler{&infos})})
	if err != nil {
		t.Fatal(err)
	}
	defer closeNode(t, n)
	me, _ := n.Self(ctx)
	strangers := 3000
	if raceEnabled {
		strangers = 600 // the race detector slows each handshake down
	}
	base := heapInUse()
	var wg sync.WaitGroup
	work := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for range work {
				handshake(t, me)
			}
		})
	}
	for range strangers {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	// Every handshake has reached the node's loop once a call gets through
	// after the loop drained the events (the endpoint's queue is FIFO).
	var sessions, pumps int
	deadline := time.Now().Add(10 * time.Second)
	for {
		n.do(ctx, func(time.Time) error {
			sessions, pumps = len(n.sessions), 0
			for _, s := range n.sessions {
				if s.pump != nil {
					pumps++
				}
			}
			return nil
		})
		if sessions <= maxStrangers || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	growth := int64(heapInUse()) - int64(base)
	t.Logf("%d strangers: %d sessions kept, heap growth %d KiB, %d info+ log lines", strangers, sessions, growth>>10, infos.Load())
	if sessions > maxStrangers || pumps != 0 {
		t.Errorf("%d stranger sessions (%d with a send pump) kept, want <= %d and none", sessions, pumps, maxStrangers)
	}
	if growth > 32<<20 {
		t.Errorf("heap grew by %d MiB, want < 32 MiB", growth>>20)
	}
	if rs, err := n.db.Routes(ctx); err != nil || len(rs) != 0 {
		t.Errorf("%d routes rows stored for strangers (%v)", len(rs), err)
	}
	if c := infos.Load(); c > 10 {
		t.Errorf("%d log lines at info or above for strangers", c)
	}
}
