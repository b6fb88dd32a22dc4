//go:build !unix

package main

import "os"

// statsSignals: there is no SIGUSR1 here; use --stats.
func statsSignals() []os.Signal { return nil }
