package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// allPhases are the phases after connect, in the order they run.
var allPhases = []string{"lat", "burst", "freeze", "save"}

// options is the command line.
type options struct {
	n           int
	graph       string // chain or star
	phases      []string
	freezeAfter time.Duration
	timeout     time.Duration
	jsonPath    string
	bin         string
	keep        bool
	latCount    int
	burstCount  int
	msgLen      int
	burstStall  time.Duration     // burst ends after this long without progress
	profileDir  string            // write each node's CPU profile of the burst phase here
	traceDir    string            // write each node's execution trace of the latency phase here
	dht         bool              // leave the nodes' DHT on (its default: public bootstrap routers)
	proxy       string            // auto, on or off: put confbench's TCP proxies between the nodes
	faults      *faults           // tests inject link faults here
	beforePhase func(name string) // tests: called before each phase after connect
}

func defaultOptions() options {
	return options{n: 8, graph: "chain", phases: allPhases, freezeAfter: 5 * time.Second,
		timeout: 10 * time.Minute, latCount: 50, burstCount: 1000, msgLen: 64, burstStall: 20 * time.Second,
		proxy: "auto"}
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	o := defaultOptions()
	fs := flag.NewFlagSet("confbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	phases := strings.Join(o.phases, ",")
	fs.IntVar(&o.n, "n", o.n, "number of nodes (2 to 64)")
	fs.StringVar(&o.graph, "g", o.graph, "friend graph and invite pattern: `chain` or star")
	fs.StringVar(&phases, "phases", phases, "comma-separated `list` of lat, burst, freeze, save (connect always runs)")
	fs.DurationVar(&o.freezeAfter, "freeze-after", o.freezeAfter, "the nodes' --freeze-after")
	fs.DurationVar(&o.timeout, "timeout", o.timeout, "overall limit; every wait also has its own")
	fs.StringVar(&o.jsonPath, "json", "", "also write the header and metrics as JSON to `FILE`")
	fs.StringVar(&o.bin, "bin", "", "use this confchat `binary` instead of building one")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (profiles, logs)")
	fs.IntVar(&o.latCount, "L", o.latCount, "latency messages")
	fs.IntVar(&o.burstCount, "B", o.burstCount, "burst size")
	fs.IntVar(&o.msgLen, "m", o.msgLen, "message length in bytes")
	fs.StringVar(&o.profileDir, "cpuprofile", "", "run the nodes with --pprof and write each one's CPU profile of the burst phase to `DIR`")
	fs.BoolVar(&o.dht, "dht", false, "leave the nodes' DHT on (it bootstraps from the public routers, off loopback); by default they run with --no-dht")
	fs.StringVar(&o.proxy, "proxy", o.proxy, "`auto`, on or off: carry the nodes' traffic through confbench's TCP proxies "+
		"(auto: only when a phase injects faults, i.e. freeze; otherwise the nodes talk directly)")
	fs.StringVar(&o.traceDir, "trace", "", "run the nodes with --pprof and write each one's execution trace of the first 3 s of the latency phase to `DIR`")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: confbench [flags]\n\nMeasures N confchat bot processes on loopback; "+
			"prints `metric <name> <value> <unit>` lines.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o.phases = nil
	for _, p := range strings.Split(phases, ",") {
		if p = strings.TrimSpace(p); p != "" {
			o.phases = append(o.phases, p)
		}
	}
	return o, o.validate()
}

func (o options) validate() error {
	switch {
	case o.n < 2 || o.n > 64:
		return fmt.Errorf("-n %d: want 2 to 64", o.n)
	case o.graph != "chain" && o.graph != "star":
		return fmt.Errorf("-g %q: want chain or star", o.graph)
	case o.freezeAfter < 300*time.Millisecond:
		return fmt.Errorf("-freeze-after %v: at least 300ms", o.freezeAfter)
	case o.timeout <= 0:
		return fmt.Errorf("-timeout %v: must be positive", o.timeout)
	case o.latCount < 1 || o.latCount > 10000 || o.burstCount < 1 || o.burstCount > 50000:
		return fmt.Errorf("-L 1..10000 and -B 1..50000")
	case o.msgLen < 16 || o.msgLen > 1024:
		return fmt.Errorf("-m %d: want 16 to 1024", o.msgLen)
	case o.proxy != "auto" && o.proxy != "on" && o.proxy != "off":
		return fmt.Errorf("-proxy %q: want auto, on or off", o.proxy)
	case o.proxy == "off" && o.has("freeze"):
		return fmt.Errorf("-proxy off: the freeze phase cuts a node off in the proxies; use auto or on")
	}
	for _, p := range o.phases {
		if !o.known(p) {
			return fmt.Errorf("-phases: unknown phase %q (want %s)", p, strings.Join(allPhases, ","))
		}
	}
	return nil
}

func (o options) known(p string) bool {
	for _, k := range allPhases {
		if p == k {
			return true
		}
	}
	return false
}

func (o options) has(p string) bool {
	for _, k := range o.phases {
		if k == p {
			return true
		}
	}
	return false
}

func (o options) header() map[string]string {
	return map[string]string{"n": fmt.Sprint(o.n), "g": o.graph, "phases": strings.Join(o.phases, ","),
		"freeze_after": o.freezeAfter.String(), "timeout": o.timeout.String(), "L": fmt.Sprint(o.latCount),
		"B": fmt.Sprint(o.burstCount), "m": fmt.Sprint(o.msgLen), "go": runtime.Version(),
		"os": runtime.GOOS + "/" + runtime.GOARCH, "cpus": fmt.Sprint(runtime.NumCPU()),
		"dht": fmt.Sprint(o.dht), "proxy": fmt.Sprint(o.proxied()), "start": time.Now().UTC().Format(time.RFC3339)}
}

// proxied says whether the nodes talk through confbench's proxies: when
// asked, or (auto) when something needs them: the freeze phase's cut or
// a test's link faults. Otherwise the nodes dial each other directly, as
// users' nodes do, and nothing of confbench's sits on the path.
func (o options) proxied() bool {
	switch o.proxy {
	case "on":
		return true
	case "off":
		return false
	}
	return o.faults != nil || o.has("freeze")
}

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

func realMain(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "confbench: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	r := run(ctx, o, stdout)
	if o.jsonPath != "" {
		b, _ := json.MarshalIndent(r, "", "  ")
		if err := os.WriteFile(o.jsonPath, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintf(stderr, "confbench: %v\n", err)
			return 1
		}
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "confbench: interrupted; nodes stopped, temporary files removed")
		return 130
	}
	if !r.OK {
		return 2
	}
	return 0
}

// printHeader writes the header line: every option and the Go version.
func printHeader(w io.Writer, h map[string]string) {
	keys := []string{"n", "g", "phases", "freeze_after", "timeout", "L", "B", "m", "proxy", "go", "os", "cpus", "start"}
	var b strings.Builder
	b.WriteString("# confbench")
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%s", k, h[k])
	}
	fmt.Fprintln(w, b.String())
}
