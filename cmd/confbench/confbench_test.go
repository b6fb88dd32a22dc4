package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"confchat/internal/srcwatch"
)

// testBin is the confchat binary built once for every test here; tests
// use builtBinary().
var testBin string

// trackSources opens the module's sources for the go test cache: the
// binary is built by a child `go build`, so without it a change to a
// package this one does not import would replay a stale result.
var trackSources = srcwatch.Once("../..")

// builtBinary returns testBin; tests call it, not testBin, so trackSources runs.
func builtBinary() string {
	trackSources()
	return testBin
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "confbench-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testBin = filepath.Join(dir, "confchat")
	build := exec.Command("go", "build", "-o", testBin, "confchat/cmd/confchat")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// small is a two-node run of the given phases with few messages.
func small(phases ...string) options {
	o := defaultOptions()
	o.n, o.phases, o.bin = 2, phases, builtBinary()
	o.latCount, o.burstCount, o.burstStall = 10, 200, 3*time.Second
	o.timeout = 2 * time.Minute
	return o
}

func runSmall(t *testing.T, o options) *report {
	t.Helper()
	var out strings.Builder
	r := run(context.Background(), o, &out)
	t.Logf("%s", out.String())
	return r
}

func metricOf(t *testing.T, r *report, name string) float64 {
	t.Helper()
	v := r.value(name)
	if math.IsNaN(v) {
		t.Fatalf("%s not measured; errors: %v", name, r.Errors)
	}
	return v
}

// A link that adds 100 ms each way raises lat_all_recv_median by at
// least that much: the metric is measured on the wire, not derived.
func TestSlowLinkRaisesLatency(t *testing.T) {
	base := runSmall(t, small("lat"))
	fast := metricOf(t, base, "lat_all_recv_median")

	const delay = 100 * time.Millisecond
	o := small("lat")
	o.faults = &faults{}
	o.faults.setDelay(link{0, 1}, delay)
	o.faults.setDelay(link{1, 0}, delay)
	slowed := metricOf(t, runSmall(t, o), "lat_all_recv_median")
	if slowed < float64(delay.Milliseconds()) {
		t.Fatalf("median %.2f ms over a link delayed by %v", slowed, delay)
	}
	if slowed <= fast {
		t.Fatalf("slowed median %.2f ms is not above the plain one %.2f ms", slowed, fast)
	}
}

// Dropping every frame from node 0 to node 1 during the burst lowers
// burst_delivered_to_all.
func TestDroppedFramesLowerBurstDelivery(t *testing.T) {
	o := small("burst")
	o.faults = &faults{}
	o.beforePhase = func(string) { o.faults.dropChunks(link{0, 1}, 1<<30) }
	r := runSmall(t, o)
	if got := metricOf(t, r, "burst_delivered_to_all"); got >= float64(o.burstCount) {
		t.Fatalf("burst_delivered_to_all %v with node 0's frames to node 1 dropped", got)
	}
	if o.faults.dropped.Load() == 0 {
		t.Fatal("the proxy dropped nothing")
	}
}

// A single dropped chunk mid-burst corrupts the stream; the nodes
// reconnect and the session resends, so every message still arrives
// once.
func TestDroppedFrameHealed(t *testing.T) {
	o := small("burst")
	o.faults = &faults{}
	o.beforePhase = func(string) { o.faults.dropChunks(link{0, 1}, 1) }
	r := runSmall(t, o)
	if o.faults.dropped.Load() != 1 {
		t.Fatalf("dropped %d chunks, want 1", o.faults.dropped.Load())
	}
	if got := metricOf(t, r, "burst_delivered_to_all"); got != float64(o.burstCount) {
		t.Fatalf("burst_delivered_to_all %v of %d after one dropped chunk", got, o.burstCount)
	}
	if got := metricOf(t, r, "msg_duplicates"); got != 0 {
		t.Fatalf("%v duplicates", got)
	}
}

// Interrupting a run (SIGINT) stops every node and removes the temporary
// directory.
func TestCancelCleansUp(t *testing.T) {
	o := small("lat", "burst", "freeze", "save")
	ctx, cancel := context.WithCancel(context.Background())
	var dir string
	o.beforePhase = func(p string) {
		if p == "burst" {
			matches, _ := filepath.Glob(filepath.Join(os.TempDir(), fmt.Sprintf("%s%d-*", tempPrefix, os.Getpid())))
			if len(matches) > 0 {
				dir = matches[0]
			}
			cancel()
		}
	}
	start := time.Now()
	r := run(ctx, o, io.Discard)
	if r.OK {
		t.Fatal("cancelled run reported OK")
	}
	if time.Since(start) > time.Minute {
		t.Fatalf("cancelled run took %v", time.Since(start))
	}
	if dir == "" {
		t.Fatal("no temporary directory seen")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("temporary directory %s still there: %v", dir, err)
	}
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range cmdlines {
		if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), dir) {
			t.Errorf("process %s still runs: %q", f, b)
		}
	}
}

func TestStats(t *testing.T) {
	r := &report{OK: true}
	r.stats("x", []float64{0.004, 0.001, 0.003, 0.002}, 1000, "ms")
	want := map[string]float64{"x_min": 1, "x_median": 2.5, "x_p90": 4, "x_max": 4}
	for k, w := range want {
		if got := r.value(k); math.Abs(got-w) > 1e-9 {
			t.Errorf("%s = %v, want %v", k, got, w)
		}
	}
	r.stats("y", nil, 1, "ms")
	if !math.IsNaN(r.value("y_median")) {
		t.Error("no samples must be NA")
	}
	if formatValue(math.NaN()) != "NA" || formatValue(3) != "3" || formatValue(0.25) != "0.2500" {
		t.Error("formatValue")
	}
}

func TestParseFlags(t *testing.T) {
	bad := [][]string{{"-n", "1"}, {"-g", "ring"}, {"-phases", "lat,nap"}, {"-freeze-after", "1ms"},
		{"-timeout", "0s"}, {"extra"}}
	for _, args := range bad {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	o, err := parseFlags([]string{"-n", "16", "-g", "star", "-phases", "lat, burst", "-freeze-after", "3s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.n != 16 || o.graph != "star" || !o.has("burst") || o.has("save") || o.freezeAfter != 3*time.Second {
		t.Fatalf("%+v", o)
	}
}

func TestReadProcSelf(t *testing.T) {
	s, err := readProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.hwmMiB <= 0 || s.rssMiB <= 0 || s.cpu < 0 {
		t.Fatalf("%+v", s)
	}
	pss, anon, err := readRollup(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if anon <= 0 || anon > s.hwmMiB {
		t.Fatalf("Anonymous %.2f MiB, VmHWM %.2f MiB", anon, s.hwmMiB)
	}
	if pss <= 0 || pss > s.hwmMiB {
		t.Fatalf("Pss %.2f MiB, VmHWM %.2f MiB: Pss must be positive and at most the peak RSS", pss, s.hwmMiB)
	}
}

func TestNodeStateTracksMembership(t *testing.T) {
	want := map[string]string{"a": "node 0", "b": "node 1", "c": "node 2"}
	s := newNodeState()
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) string { return t0.Add(d).Format(time.RFC3339Nano) }
	s.apply("conference.peer_joined", []byte(`{"public_key":"b","name":"node 1","at":"`+at(1)+`"}`), t0, "a", want)
	if !s.fullAt.IsZero() || !s.namesAt.IsZero() {
		t.Fatal("full with one of two others")
	}
	s.apply("conference.peer_joined", []byte(`{"public_key":"c","name":""}`), t0.Add(time.Hour), "a", want)
	if !s.fullAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("fullAt %v: a note without at is timed by its read", s.fullAt)
	}
	s.apply("conference.name", []byte(`{"public_key":"c","name":"node 2","at":"`+at(3)+`"}`), t0, "a", want)
	if !s.namesAt.Equal(t0.Add(3)) {
		t.Fatalf("namesAt %v", s.namesAt)
	}
	s.apply("conference.message", []byte(`{"from":"b","number":7,"text":"hi","time":"`+at(5)+`"}`), t0, "a", want)
	s.apply("conference.message", []byte(`{"from":"b","number":7,"text":"hi","time":"`+at(6)+`"}`), t0, "a", want)
	if s.dups != 1 || s.received != 1 || !s.msgs["hi"].at.Equal(t0.Add(5)) {
		t.Fatalf("dups %d received %d at %v", s.dups, s.received, s.msgs["hi"].at)
	}
	s.apply("conference.peer_frozen", []byte(`{"public_key":"c"}`), t0, "a", want)
	if s.active["c"] || len(s.active) != 1 {
		t.Fatalf("active %v", s.active)
	}
}

// The kernel's per-socket count sees the bytes a socket of this process
// sent, and only its own sockets' inodes are ours.
func TestSocketBytes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	defer s.Close()
	const n = 10000
	if _, err := c.Write(make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(s, make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	inodes, err := socketInodes(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	all, err := tcpSockets()
	if err != nil {
		t.Skipf("no sock_diag here: %v", err)
	}
	local := netip.MustParseAddrPort(c.LocalAddr().String())
	found := false
	for ino := range inodes {
		if sc, ok := all[ino]; ok && sc.local == local {
			found = true
			if sc.acked < n || sc.acked > n+1 { // the SYN counts as one
				t.Errorf("bytes_acked %d, want %d", sc.acked, n)
			}
		}
	}
	if !found {
		t.Fatalf("the dialled socket %v is not among this process's sockets", local)
	}
	if d := (wireSnapshot{1: 500, 2: 70}).sentSince(wireSnapshot{1: 200, 3: 9}); d != 370 {
		t.Fatalf("sentSince %d, want 370", d)
	}
}

// Proxies sit between the nodes only where a fault needs them.
func TestProxiedOnlyForFaults(t *testing.T) {
	o := defaultOptions()
	if !o.proxied() {
		t.Error("the default phases include freeze: proxied")
	}
	o.phases = []string{"lat", "burst"}
	if o.proxied() {
		t.Error("lat,burst need no proxy")
	}
	o.faults = &faults{}
	if !o.proxied() {
		t.Error("link faults need proxies")
	}
	o.faults, o.proxy = nil, "on"
	if !o.proxied() {
		t.Error("-proxy on")
	}
	if _, err := parseFlags([]string{"-proxy", "off"}, io.Discard); err == nil {
		t.Error("-proxy off with the freeze phase accepted")
	}
	if _, err := parseFlags([]string{"-proxy", "off", "-phases", "lat"}, io.Discard); err != nil {
		t.Error(err)
	}
	if _, err := parseFlags([]string{"-proxy", "maybe"}, io.Discard); err == nil {
		t.Error("-proxy maybe accepted")
	}
}

// A line whose params do not fit noteParams is still read: its reply is
// delivered, its notification counts, without its params.
func TestReadKeepsLinesWithOddParams(t *testing.T) {
	c := &cluster{want: map[string]string{}}
	c.cond = sync.NewCond(&c.mu)
	p := &proc{c: c, st: newNodeState(), pending: map[int]chan reply{}, done: make(chan struct{})}
	ch := make(chan reply, 1)
	p.pending[7] = ch
	ready := make(chan line, 1)
	in := strings.Join([]string{
		`{"jsonrpc":"2.0","method":"ready","params":{"id":"ID","public_key":"K"}}`,
		`{"jsonrpc":"2.0","method":"conference.joined","params":{"conference":"C","at":"2026-12-01T00:00:00Z","number":"not a number"}}`,
		`{"jsonrpc":"2.0","id":7,"result":{"number":3}}`,
	}, "\n") + "\n"
	p.read(strings.NewReader(in), ready)
	if r := <-ready; r.Params.ID != "ID" || r.Params.PublicKey != "K" {
		t.Fatalf("ready params %+v", r.Params)
	}
	if r := <-ch; r.err != nil || string(r.result) != `{"number":3}` {
		t.Fatalf("reply %+v", r)
	}
	// kept without its params: no node stamp, so confbench's read time
	if c.fallback != 1 || p.st.joined.IsZero() {
		t.Fatalf("odd params: fallback %d, joined %v (want the line kept, stamped when read)", c.fallback, p.st.joined)
	}
}
