package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"time"

	"confchat/relay"
)

type relayFlags struct {
	stats      time.Duration
	maxClients int
	maxPerKey  int
	rate       int
	idle       time.Duration
	verbose    bool
}

func relayCommand() *command {
	f := &relayFlags{}
	return &command{
		name:    "relay",
		args:    "--listen ADDR [flags]",
		summary: "run a relay that splices peers who cannot reach each other",
		long: `Listens on --listen and prints the relay's address, KEY@host:port, as one
line on stdout; give it to peers as --relay. The relay's key is kept in
--profile (the file relay.key, mode 0600), so the address stays valid across
restarts; nothing else is stored. It forwards only the peers' end-to-end
encrypted traffic. Logs and stats go to stderr; SIGUSR1 logs the stats
now; SIGINT or SIGTERM shuts it down cleanly. See docs/relay.md.`,
		flags: func(fs *flag.FlagSet) {
			fs.DurationVar(&f.stats, "stats", 0, "log the counters every `INTERVAL` (0: only on SIGUSR1 and at exit)")
			fs.IntVar(&f.maxClients, "max-clients", relay.DefaultMaxClients, "most client connections at once, `N`")
			fs.IntVar(&f.maxPerKey, "max-per-key", relay.DefaultMaxConnsPerKey, "most connections of one key, `N`")
			fs.IntVar(&f.rate, "rate", relay.DefaultRate, "`BYTES` per second one key may send")
			fs.DurationVar(&f.idle, "idle", relay.DefaultIdleTimeout, "close registrations and pairs silent for `DUR`")
			fs.BoolVar(&f.verbose, "verbose", false, "log every client cut off, with the reason")
		},
		run: func(ctx context.Context, e env, args []string) error {
			if len(args) > 0 {
				return usagef("relay takes no arguments, got %q", args[0])
			}
			if err := f.validate(e.global); err != nil {
				return err
			}
			return runRelay(ctx, e, f)
		},
	}
}

func (f *relayFlags) validate(g *globalFlags) error {
	switch {
	case g.listen == "":
		return usagef("relay needs --listen ADDR (for example --listen :7447)")
	case f.stats < 0:
		return usagef("--stats: %v is negative", f.stats)
	case f.maxClients < 1 || f.maxPerKey < 1 || f.rate < 1:
		return usagef("--max-clients, --max-per-key and --rate must be at least 1")
	case f.idle < 3*time.Second || f.idle > 65535*time.Second:
		return usagef("--idle: %v is out of range (3s to 65535s)", f.idle)
	}
	return nil
}

func runRelay(ctx context.Context, e env, f *relayFlags) error {
	level := slog.LevelInfo
	if f.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	kp, warnings, err := relay.LoadOrCreateKey(e.global.profile, rand.Reader)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		logger.Warn(w)
	}
	ln, err := net.Listen("tcp", e.global.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv, err := relay.NewServer(relay.Config{Key: kp, MaxClients: f.maxClients, MaxConnsPerKey: f.maxPerKey,
		Rate: f.rate, IdleTimeout: f.idle, Logger: logger})
	if err != nil {
		ln.Close()
		return err
	}
	addr := relay.Addr{Key: kp.Public(), HostPort: printedHostPort(e.global, ln.Addr(), logger)}
	fmt.Fprintln(e.stdout, addr.Bare())
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	err = relayLoop(ctx, srv, f.stats, e.stderr, serveErr)
	// The totals since start, read while the hub still answers: once it
	// has stopped, Stats has nothing to read.
	final := srv.Stats()
	srv.Close()
	if err == nil {
		<-serveErr
	}
	fmt.Fprintf(e.stderr, "%s relay stats %v\n", time.Now().UTC().Format(time.RFC3339), final)
	return err
}

// relayLoop logs stats on the interval and on SIGUSR1 until ctx ends (nil)
// or Serve fails (its error).
func relayLoop(ctx context.Context, srv *relay.Server, every time.Duration, w io.Writer, serveErr <-chan error) error {
	usr1 := make(chan os.Signal, 1)
	if sigs := statsSignals(); len(sigs) > 0 {
		signal.Notify(usr1, sigs...)
		defer signal.Stop(usr1)
	}
	var tick <-chan time.Time
	if every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-serveErr:
			if errors.Is(err, relay.ErrServerClosed) {
				return nil
			}
			return err
		case <-tick:
			logStats(w, srv)
		case <-usr1:
			logStats(w, srv)
		}
	}
}

// logStats writes one stats line: a UTC timestamp, "relay stats", then
// key=value counters.
func logStats(w io.Writer, srv *relay.Server) {
	fmt.Fprintf(w, "%s relay stats %v\n", time.Now().UTC().Format(time.RFC3339), srv.Stats())
}

// printedHostPort is the host:port of the printed address: the first
// --advertise address, else the bound address, with an unspecified host
// (all interfaces) replaced by the machine's host name.
func printedHostPort(g *globalFlags, bound net.Addr, logger *slog.Logger) string {
	if adv := g.advertiseAddrs(); len(adv) > 0 {
		return adv[0]
	}
	host, port, err := net.SplitHostPort(bound.String())
	if err != nil {
		return bound.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		name, err := os.Hostname()
		if err != nil || name == "" {
			name = "localhost"
		}
		logger.Info("listening on all interfaces; pass --advertise HOST:PORT to print the public address", "printed_host", name)
		host = name
	}
	return net.JoinHostPort(host, port)
}
