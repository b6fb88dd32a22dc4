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
	dir := b.c.opts.profileDir
	if dir == "" {
		return func() {}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.r.fail("cpuprofile: %v", err)
		return func() {}
	}
	var wg sync.WaitGroup
	for _, p := range b.c.procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := filepath.Join(dir, fmt.Sprintf("node%02d-burst.pprof", p.idx))
			if err := fetchProfile(ctx, p.pprof, path); err != nil {
				fmt.Fprintf(os.Stderr, "confbench: %s: profile: %v\n", p.name, err)
			}
		}()
	}
	return wg.Wait
}

// traceSeconds is how long a latency-phase execution trace records.
const traceSeconds = 3

// trace starts fetching every node's execution trace (-trace) of the
// first traceSeconds of the latency phase; the returned func waits for
// them and writes DIR/nodeNN-lat.trace (read with `go tool trace`).
func (b *bench) trace(ctx context.Context) func() {
	dir := b.c.opts.traceDir
	if dir == "" {
		return func() {}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.r.fail("trace: %v", err)
		return func() {}
	}
	var wg sync.WaitGroup
	for _, p := range b.c.procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := filepath.Join(dir, fmt.Sprintf("node%02d-lat.trace", p.idx))
			if err := fetch(ctx, fmt.Sprintf("http://%s/debug/pprof/trace?seconds=%d", p.pprof, traceSeconds), traceSeconds, path); err != nil {
				fmt.Fprintf(os.Stderr, "confbench: %s: trace: %v\n", p.name, err)
			}
		}()
	}
	time.Sleep(100 * time.Millisecond) // let the traces start before the first message
	return wg.Wait
}

func fetchProfile(ctx context.Context, addr, path string) error {
	return fetch(ctx, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, profileSeconds), profileSeconds, path)
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
