package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestGCPercentFor(t *testing.T) {
	for _, c := range []struct {
		live          uint64
		current, want int
	}{
		{1 << 20, gcSmallPercent, gcSmallPercent},
		{1 << 20, gcBigPercent, gcSmallPercent},
		{gcSmallHeap + 1<<20, gcSmallPercent, gcBigPercent},
		{gcSmallHeap - 1, gcBigPercent, gcBigPercent}, // hysteresis: stays big
		{gcSmallHeap - 1, gcSmallPercent, gcSmallPercent},
		{gcSmallHeap*3/4 - 1, gcBigPercent, gcSmallPercent},
	} {
		if got := gcPercentFor(c.live, c.current); got != c.want {
			t.Errorf("gcPercentFor(%d, %d) = %d, want %d", c.live, c.current, got, c.want)
		}
	}
}

// With GOGC in the environment the bot leaves the GC percent alone.
func TestBotGCLeavesUserChoice(t *testing.T) {
	t.Setenv("GOGC", "123")
	old := debug.SetGCPercent(123)
	defer debug.SetGCPercent(old)
	startBotGC()()
	if p := debug.SetGCPercent(123); p != 123 {
		t.Fatalf("GC percent %d with GOGC=123 set", p)
	}
}

// The bot's GOMAXPROCS and GC percent are put back when it stops, and
// GOMAXPROCS in the environment is left alone.
func TestBotRuntimeRestored(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	restore := startBotProcs()
	if got := runtime.GOMAXPROCS(0); got != botProcs && os.Getenv("GOMAXPROCS") == "" {
		t.Errorf("GOMAXPROCS %d in bot mode, want %d", got, botProcs)
	}
	restore()
	if got := runtime.GOMAXPROCS(0); got != procs {
		t.Errorf("GOMAXPROCS %d after the bot, want %d", got, procs)
	}
	t.Setenv("GOMAXPROCS", "2")
	startBotProcs()()
	if got := runtime.GOMAXPROCS(0); got != procs {
		t.Errorf("GOMAXPROCS %d with GOMAXPROCS set, want %d", got, procs)
	}
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		old := debug.SetGCPercent(77)
		startBotGC()()
		if p := debug.SetGCPercent(old); p != 77 {
			t.Errorf("GC percent %d after the bot, want 77", p)
		}
	}
}
