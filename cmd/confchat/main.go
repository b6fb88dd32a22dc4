// Command confchat is a peer-to-peer group chat for the terminal.
//
// main only wires the process to run; flags, subcommands and their wiring
// live in cli.go and the cmd_*.go files.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
