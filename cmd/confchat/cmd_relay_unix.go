//go:build unix

package main

import (
	"os"
	"syscall"
)

// statsSignals are the signals that make `confchat relay` log its stats.
func statsSignals() []os.Signal { return []os.Signal{syscall.SIGUSR1} }
