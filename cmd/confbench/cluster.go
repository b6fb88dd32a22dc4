package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// errTimeout says a wait ran out of time.
var errTimeout = errors.New("timed out")

// tempPrefix names confbench's temporary directories: confbench-PID-*.
const tempPrefix = "confbench-"

// cluster is the set of running nodes, their proxies and what their
// notifications said.
type cluster struct {
	opts options
	dir  string // temporary root: binary, profiles, logs
	bin  string
	f    *faults
	wire atomic.Int64 // bytes forwarded by all proxies

	proxied bool // the nodes talk through proxies (options.proxied)

	procs   []*proc
	proxies []*proxy
	want    map[string]string // public key -> name
	conf    string            // the conference id

	mu       sync.Mutex // guards every proc's st, stamped, unstamped
	cond     *sync.Cond
	stamped  int // notifications timed by the node
	fallback int // notifications timed by confbench's read

	live sync.Map // pid -> *proc, for cleanup
}

func newCluster(opts options) (*cluster, error) {
	sweepStale()
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", tempPrefix, os.Getpid()))
	if err != nil {
		return nil, err
	}
	c := &cluster{opts: opts, dir: dir, f: opts.faults, want: map[string]string{}, proxied: opts.proxied()}
	if c.f == nil {
		c.f = &faults{}
	}
	c.cond = sync.NewCond(&c.mu)
	return c, nil
}

// sweepStale removes directories left by confbench runs whose process no
// longer exists (killed with SIGKILL, so they could not clean up).
func sweepStale() {
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), tempPrefix+"*"))
	for _, m := range matches {
		rest := strings.TrimPrefix(filepath.Base(m), tempPrefix)
		pidStr, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(m)
		}
	}
}

// build compiles confchat into the temporary directory, unless -bin
// names one.
func (c *cluster) build(ctx context.Context) error {
	if c.opts.bin != "" {
		c.bin = c.opts.bin
		return nil
	}
	c.bin = filepath.Join(c.dir, "confchat")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", c.bin, "confchat/cmd/confchat")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build confchat (run confbench inside the confchat module or pass -bin): %w\n%s", err, out)
	}
	return nil
}

// nodeIP is node i's own loopback address.
func nodeIP(i int) string { return fmt.Sprintf("127.0.0.%d", 10+i) }

// sourceOf maps a loopback IP back to its node, -1 if none.
func (c *cluster) sourceOf(ip string) int {
	var i int
	if _, err := fmt.Sscanf(ip, "127.0.0.%d", &i); err != nil || i < 10 || i >= 10+c.opts.n {
		return -1
	}
	return i - 10
}

// freePort finds a port free on ip right now.
func freePort(ip string) (string, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startAll starts every node (behind its proxy when proxied), in
// parallel.
func (c *cluster) startAll(ctx context.Context) error {
	c.procs = make([]*proc, c.opts.n)
	if c.proxied {
		c.proxies = make([]*proxy, c.opts.n)
	}
	for i := range c.procs {
		listen, err := freePort(nodeIP(i))
		if err != nil {
			return fmt.Errorf("node %d: %w", i, err)
		}
		if c.proxied {
			px, err := newProxy(listen, i, c.sourceOf, c.f, &c.wire)
			if err != nil {
				return err
			}
			c.proxies[i] = px
		}
		c.procs[i] = &proc{c: c, idx: i, name: fmt.Sprintf("node %d", i), profile: nodeDir(c.dir, i),
			listen: listen, logPath: nodeDir(c.dir, i) + ".log", st: newNodeState()}
	}
	errs := make(chan error, len(c.procs))
	for _, p := range c.procs {
		go func() { errs <- p.start(ctx, c.nodeFlags(p)) }()
	}
	var first error
	for range c.procs {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return first
	}
	for _, p := range c.procs {
		c.want[p.key] = p.name
	}
	return nil
}

func (c *cluster) track(p *proc)   { c.live.Store(p.pid, p) }
func (c *cluster) untrack(p *proc) { c.live.Delete(p.pid) }

// note is called by a proc's reader for every notification.
func (c *cluster) note(p *proc, method string, params noteParams, read time.Time) {
	c.mu.Lock()
	if p.st.applyNote(method, params, read, p.key, c.want) {
		c.stamped++
	} else {
		c.fallback++
	}
	c.cond.Broadcast()
	c.mu.Unlock()
}

// wait blocks until cond (called with c.mu held) holds, timeout passes
// or ctx ends.
func (c *cluster) wait(ctx context.Context, timeout time.Duration, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for !cond() {
		if ctx.Err() != nil {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return errTimeout
			}
			return ctx.Err()
		}
		c.cond.Wait()
	}
	return nil
}

// addrOf is the address the other nodes reach node i at: its proxy's,
// or its own when the nodes talk directly.
func (c *cluster) addrOf(i int) string {
	if c.proxied {
		return c.proxies[i].addr()
	}
	return c.procs[i].listen
}

// wireBytes is the bytes the nodes sent since before (from wireNow);
// ok is false when it cannot be told.
func (c *cluster) wireBytes(before wireCount) (n int64, ok bool) {
	now := c.wireNow()
	switch {
	case now.err == nil && before.err == nil:
		return now.snap.sentSince(before.snap), true
	case c.proxied:
		return now.proxy - before.proxy, true
	}
	return 0, false
}

// wireCount is a reading of the bytes on the wire: the kernel's count
// for the nodes' sockets and, when proxied, the proxies' own count.
type wireCount struct {
	snap  wireSnapshot
	err   error
	proxy int64
}

func (c *cluster) wireNow() wireCount {
	s, err := c.nodeWire()
	return wireCount{snap: s, err: err, proxy: c.wire.Load()}
}

// cut drops (or forwards again) all traffic of node i. Healing closes
// the connections whose streams lost data, so the nodes reconnect.
// Only a proxied cluster can cut (options.proxied).
func (c *cluster) cut(i int, on bool) {
	if !c.proxied {
		return
	}
	c.f.setCut(i, on)
	if !on {
		for _, px := range c.proxies {
			px.closeTainted()
		}
	}
}

// usage sums CPU seconds over all nodes and returns the highest and the
// summed peak RSS.
func (c *cluster) usage() (cpu, rssMax, rssSum float64) {
	for _, p := range c.procs {
		if p == nil {
			continue
		}
		pc, pr := p.usage()
		cpu += pc
		rssMax = max(rssMax, pr)
		rssSum += pr
	}
	return cpu, rssMax, rssSum
}

// memEvery is how often the nodes' anonymous memory is sampled for its
// peak (from /proc/PID/status, ~35 µs a read); every pssEvery the Pss is
// sampled too, from /proc/PID/smaps_rollup, which walks the process's
// page tables (~0.5 ms a read: at 50 ms for every node it took 16% of a
// core at N=16, the cores the nodes are measured on).
const (
	memEvery = 50 * time.Millisecond
	pssEvery = 250 * time.Millisecond
)

// samplePSS samples every live node's Pss until the returned func is
// called (or ctx ends), keeping each node's peak.
func (c *cluster) samplePSS(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(memEvery)
		defer t.Stop()
		for n := 0; ; n++ {
			rollup := n%int(pssEvery/memEvery) == 0
			for _, p := range c.procs {
				pid := p.livePID()
				if pid == 0 {
					continue
				}
				var pss, anon float64
				var err error
				if rollup {
					pss, anon, err = readRollup(pid)
				} else {
					var s procSample
					s, err = readProc(pid)
					anon = s.anonMiB
				}
				if err == nil {
					c.mu.Lock()
					p.pss = max(p.pss, pss)
					p.anon = max(p.anon, anon)
					c.mu.Unlock()
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}

// pssPeaks returns the highest and the summed Pss peaks of the nodes.
func (c *cluster) pssPeaks() (peak, sum float64) {
	return c.peaks(func(p *proc) float64 { return p.pss })
}

// anonPeaks returns the highest and the summed anonymous-memory peaks.
func (c *cluster) anonPeaks() (peak, sum float64) {
	return c.peaks(func(p *proc) float64 { return p.anon })
}

func (c *cluster) peaks(f func(*proc) float64) (peak, sum float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.procs {
		peak = max(peak, f(p))
		sum += f(p)
	}
	return peak, sum
}

// close kills every node, stops the proxies and removes the temporary
// directory (unless -keep).
func (c *cluster) close() {
	c.live.Range(func(_, v any) bool {
		v.(*proc).kill()
		return true
	})
	for _, px := range c.proxies {
		if px != nil {
			px.close()
		}
	}
	if c.opts.keep {
		fmt.Fprintf(os.Stderr, "confbench: kept %s\n", c.dir)
		return
	}
	os.RemoveAll(c.dir)
}

// nodeFlags are the per-node flags beyond the common ones.
func (c *cluster) nodeFlags(p *proc) []string {
	f := []string{"--advertise", c.addrOf(p.idx)}
	if !c.opts.dht {
		// Friends are added by address; the DHT would only talk to the
		// public bootstrap routers, off loopback.
		f = append(f, "--no-dht")
	}
	if c.opts.profileDir != "" || c.opts.traceDir != "" {
		if p.pprof == "" {
			p.pprof, _ = freePort("127.0.0.1")
		}
		f = append(f, "--pprof", p.pprof)
	}
	return f
}
