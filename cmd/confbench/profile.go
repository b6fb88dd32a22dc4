package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// profileSeconds is how long a burst-phase CPU profile records.
const profileSeconds = 10

// profile starts fetching every node's CPU profile (-cpuprofile) for
// profileSeconds; the returned func waits for them and writes
// DIR/nodeNN-burst.pprof.
func (b *bench) profile(ctx context.Context) func() {
	return b.capture(ctx, "cpuprofile", b.c.opts.profileDir, "profile", "burst.pprof", profileSeconds)
}

// traceSeconds is how long a latency-phase execution trace records.
const traceSeconds = 3

// trace starts fetching every node's execution trace (-trace) of the
// first traceSeconds of the latency phase; the returned func waits for
// them and writes DIR/nodeNN-lat.trace (read with `go tool trace`).
func (b *bench) trace(ctx context.Context) func() {
	wait := b.capture(ctx, "trace", b.c.opts.traceDir, "trace", "lat.trace", traceSeconds)
	if b.c.opts.traceDir != "" {
		time.Sleep(100 * time.Millisecond) // let the traces start before the first message
	}
	return wait
}

// capture fetches /debug/pprof/KIND?seconds=N from every node into
// DIR/nodeNN-SUFFIX, in the background; the returned func waits for all.
// Nothing happens when dir is empty (the flag was not given).
func (b *bench) capture(ctx context.Context, flagName, dir, kind, suffix string, seconds int) func() {
	if dir == "" {
		return func() {}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.r.fail("%s: %v", flagName, err)
		return func() {}
	}
	var wg sync.WaitGroup
	for _, p := range b.c.procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := filepath.Join(dir, fmt.Sprintf("node%02d-%s", p.idx, suffix))
			url := fmt.Sprintf("http://%s/debug/pprof/%s?seconds=%d", p.pprof, kind, seconds)
			if err := fetch(ctx, url, seconds, path); err != nil {
				fmt.Fprintf(os.Stderr, "confbench: %s: %s: %v\n", p.name, kind, err)
			}
		}()
	}
	return wg.Wait
}

func fetch(ctx context.Context, url string, seconds int, path string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(seconds+20)*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
