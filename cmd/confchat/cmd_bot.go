package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"confchat/bot"
	"confchat/node"
)

type botFlags struct {
	acceptFriends bool
	autoJoin      bool
	socket        string
	logFile       string
	verbose       bool
}

func botCommand() *command {
	f := &botFlags{}
	return &command{
		name:    "bot",
		args:    "[flags]",
		summary: "run headless, speaking JSON-RPC 2.0 on stdin/stdout (and a unix socket)",
		long: `Reads one JSON-RPC request per line on stdin and writes responses and
notifications, one per line, on stdout; the first line is the "ready"
notification. Logs go to stderr (or --log). EOF on stdin, SIGINT/SIGTERM or
the "shutdown" method stops it cleanly. See docs/bot-api.md.`,
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&f.acceptFriends, "accept-friends", false, "accept every friend request")
			fs.BoolVar(&f.autoJoin, "auto-join", false, "join every conference a friend invites us to")
			fs.StringVar(&f.socket, "socket", "", "also serve the API on the unix socket `PATH`")
			fs.StringVar(&f.logFile, "log", "", "write logs to `FILE` instead of stderr")
			fs.BoolVar(&f.verbose, "verbose", false, "log debug messages")
		},
		run: func(ctx context.Context, e env, args []string) error {
			if len(args) > 0 {
				return usagef("bot takes no arguments, got %q", args[0])
			}
			return runBot(ctx, e, f)
		},
	}
}

func runBot(ctx context.Context, e env, f *botFlags) error {
	logger, closeLog, err := openLogger(e, f.logFile, f.verbose)
	if err != nil {
		return err
	}
	defer closeLog()
	// The socket is bound before anything starts: a --socket the bot
	// cannot serve is a startup failure, not a log line a client never
	// sees while it waits for a socket that will not appear.
	var sock net.Listener
	if f.socket != "" {
		if sock, err = bot.ListenUnix(f.socket); err != nil {
			return err
		}
		defer sock.Close()
	}
	defer startBotProcs()() // gctune.go
	defer startBotGC()()    // gctune.go
	n, err := node.Open(ctx, e.global.nodeConfig(logger))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv := bot.New(n, bot.Options{AcceptFriends: f.acceptFriends, AutoJoin: f.autoJoin,
		Shutdown: cancel, Logger: logger})

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		srv.RunPolicies(ctx)
	}()
	if sock != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.ServeListener(ctx, sock); err != nil {
				logger.Error("unix socket", "err", err)
			}
		}()
	}
	serveErr := srv.ServeConn(ctx, e.stdin, e.stdout)
	cancel()
	wg.Wait()
	closeCtx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	if err := n.Close(closeCtx); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return serveErr
}

// openLogger returns a logger to stderr or to a file.
func openLogger(e env, path string, verbose bool) (*slog.Logger, func(), error) {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	w, closeFn := e.stderr, func() {}
	if path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("open log: %w", err)
		}
		w, closeFn = f, func() { f.Close() }
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})), closeFn, nil
}
