package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// env is what a command may touch: its streams and the parsed flags.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	global         *globalFlags
}

// command is one subcommand. flags, if set, adds its own flags.
type command struct {
	name    string
	args    string // usage after the name, e.g. "[flags]"
	summary string
	long    string
	flags   func(fs *flag.FlagSet)
	run     func(ctx context.Context, e env, args []string) error
}

func commands() []*command {
	return []*command{tuiCommand(), idCommand(), botCommand(), relayCommand(), versionCommand(), helpCommand()}
}

func findCommand(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

// usageError is a command-line mistake: it prints usage and exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// run is the whole program behind main: it returns the exit code.
// Global flags are accepted both before and after the command name.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := defaultGlobalFlags()
	e := env{stdin: stdin, stdout: stdout, stderr: stderr, global: g}

	top := newFlagSet("confchat", g)
	if err := top.Parse(args); err != nil {
		return flagError(e, nil, err)
	}
	rest := top.Args()
	if len(rest) == 0 {
		// A bare confchat opens the chat.
		rest = []string{"tui"}
	}
	cmd := findCommand(rest[0])
	if cmd == nil {
		fmt.Fprintf(stderr, "confchat: unknown command %q\n\n", rest[0])
		printHelp(stderr)
		return 2
	}
	fs := newFlagSet("confchat "+cmd.name, g)
	if cmd.flags != nil {
		cmd.flags(fs)
	}
	if err := fs.Parse(rest[1:]); err != nil {
		return flagError(e, cmd, err)
	}
	if err := g.validate(); err != nil {
		return flagError(e, cmd, err)
	}
	stopPprof, perr := g.pprof.start(stderr)
	if perr != nil {
		fmt.Fprintf(stderr, "confchat: %v\n", perr)
		return 1
	}
	defer stopPprof()
	err := cmd.run(ctx, e, fs.Args())
	var ue *usageError
	var xe *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &xe):
		fmt.Fprintln(stderr, xe.msg)
		return xe.code
	case errors.As(err, &ue):
		return flagError(e, cmd, err)
	default:
		fmt.Fprintf(stderr, "confchat %s: %v\n", cmd.name, err)
		return 1
	}
}

// flagError reports a command-line mistake. -h and --help print help to
// stdout and succeed; anything else prints usage to stderr and exits 2.
func flagError(e env, cmd *command, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		if cmd == nil {
			printHelp(e.stdout)
		} else {
			printCommandHelp(e.stdout, cmd)
		}
		return 0
	}
	fmt.Fprintf(e.stderr, "confchat: %v\n\n", err)
	if cmd == nil {
		printHelp(e.stderr)
	} else {
		printCommandHelp(e.stderr, cmd)
	}
	return 2
}

// newFlagSet returns a flag set with the global flags bound to g. It
// prints nothing itself: run decides where usage goes.
func newFlagSet(name string, g *globalFlags) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	g.register(fs)
	return fs
}

func printHelp(w io.Writer) {
	fmt.Fprint(w, `confchat — peer-to-peer group chat for the terminal

Usage:
  confchat [flags]                          open the chat (same as confchat tui)
  confchat [flags] <command> [command flags]

Commands:
`)
	cmds := commands()
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nGlobal flags (before or after the command):\n")
	printFlags(w, newFlagSet("", defaultGlobalFlags()))
	fmt.Fprint(w, "\nRun 'confchat help <command>' or 'confchat <command> -h' for more.\n")
}

func printCommandHelp(w io.Writer, c *command) {
	fmt.Fprintf(w, "Usage: confchat %s %s\n\n%s\n", c.name, c.args, c.summary)
	if c.long != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.long))
	}
	if c.flags != nil {
		fs := flag.NewFlagSet("", flag.ContinueOnError)
		c.flags(fs)
		fmt.Fprint(w, "\nFlags:\n")
		printFlags(w, fs)
	}
	fmt.Fprint(w, "\nGlobal flags:\n")
	printFlags(w, newFlagSet("", defaultGlobalFlags()))
}

// printFlags lists flags GNU-style with a double dash.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		left := "--" + f.Name
		if name != "" {
			left += " " + name
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "false" {
			def = fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "  %-26s %s%s\n", left, usage, def)
	})
}
