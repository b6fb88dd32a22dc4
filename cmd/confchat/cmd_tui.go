package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/term"

	"confchat/node"
	"confchat/tui"
)

// logFileName is the TUI's log, kept in the profile directory.
const logFileName = "confchat.log"

func tuiCommand() *command {
	return &command{
		name:    "tui",
		args:    "[flags]",
		summary: "open the chat in this terminal (what a bare confchat does)",
		long: `Opens the terminal chat on the profile. Needs a terminal on stdin and
stdout; scripts and bots use 'confchat bot'. Logs go to confchat.log in the
profile directory (rotated at 4 MiB), at --log-level.`,
		run: func(ctx context.Context, e env, args []string) error {
			if len(args) > 0 {
				return usagef("tui takes no arguments, got %q", args[0])
			}
			return runTUI(ctx, e)
		},
	}
}

// exitError ends the program with a code and one line on stderr.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// isTerminal reports whether s is a terminal.
func isTerminal(s any) bool {
	f, ok := s.(*os.File)
	return ok && term.IsTerminal(f.Fd())
}

func runTUI(ctx context.Context, e env) error {
	if !isTerminal(e.stdin) || !isTerminal(e.stdout) {
		return &exitError{code: 2, msg: "confchat: the chat needs a terminal on stdin and stdout; for scripts and bots use 'confchat bot'"}
	}
	logw, err := openCappedLog(filepath.Join(e.global.profile, logFileName), logCap)
	if err != nil {
		return err
	}
	defer logw.Close()
	logger := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: e.global.logLevel}))
	n, err := node.Open(ctx, e.global.nodeConfig(logger))
	if err != nil {
		return err // before the screen is taken: the user sees one line
	}
	defer closeNode(n, logger)
	sub := n.Subscribe()
	defer sub.Close()
	loadCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	snap, err := tui.Load(loadCtx, n, 0)
	cancel()
	if err != nil {
		return fmt.Errorf("read the profile: %w", err)
	}
	uiCtx, stop := context.WithCancel(ctx)
	defer stop()
	app := tui.New(uiCtx, n, sub, snap, tui.Options{})
	logger.Info("tui started", "profile", e.global.profile)
	err = tui.Run(uiCtx, app, tea.WithInput(e.stdin.(io.Reader)), tea.WithOutput(e.stdout))
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) && ctx.Err() == nil {
		return err
	}
	return nil
}

// closeNode closes the sessions gracefully (bounded), logging problems.
func closeNode(n *node.Node, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Close(ctx); err != nil {
		log.Error("close", "err", err)
	}
}
