package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// A bot's live heap is small (about 1 MiB for a node in one conference
// of 2, 2-4 MiB during a burst in one of 16), so with the default
// GOGC=100 its heap target is the runtime's floor of 4 MiB or twice what
// is live: a burst lets the heap grow far past what is live before a
// collection, and those pages stay resident. Many bots run on one
// machine (confbench runs up to 64), so bot mode runs the collector at
// GC percent 50 while the live heap is small (a 2 MiB floor, goal 1.5x
// live): marking a heap of a few MiB takes a millisecond or two, so the
// extra collections cost little, while each MiB live costs 1.5 MiB of
// heap instead of 2. Once the live heap has grown past gcSmallHeap the
// percent goes back to 100, so a big node does not pay twice the
// collections of the default. GOMEMLIMIT is left alone: a limit near the
// process's size makes the runtime collect continuously (an 8 MiB limit
// tripled the burst's CPU). A GOGC or GOMEMLIMIT in the environment turns
// the policy off: the user chose.
//
// Measured (confbench -phases lat,burst, load 2-18): N=2 peak RSS 25.0 ->
// 23.3 MiB; N=16 with the switch at 4 MiB 30.6 MiB, at 16 MiB 28.1 MiB,
// burst CPU within the noise of either.

const (
	gcSmallPercent = 50
	gcBigPercent   = 100
	// Hysteresis: back to 100 above gcSmallHeap live, to 50 again below
	// gcSmallHeap*3/4.
	gcSmallHeap = 16 << 20
)

// gcPercentFor is the GC percent for a live heap of live bytes, given the
// current one.
func gcPercentFor(live uint64, current int) int {
	switch {
	case live > gcSmallHeap:
		return gcBigPercent
	case live < gcSmallHeap*3/4:
		return gcSmallPercent
	}
	return current
}

// gcTuner re-decides the GC percent after every collection.
type gcTuner struct {
	stopped atomic.Bool
	percent int // touched only by the finalizer goroutine (and start)
	sample  []metrics.Sample
}

// botProcs is the GOMAXPROCS of bot mode. A bot's node keeps its state
// in one owner goroutine; a second P mostly adds scheduling, idle GC
// workers and longer stop-the-world pauses when many bots share few cores
// (confbench, load 5-10: burst CPU -13..-15% at N=2, 4 and 16 with one P,
// latency and throughput within noise). GOMAXPROCS in the environment
// keeps the runtime's choice.
const botProcs = 1

// startBotProcs applies botProcs unless GOMAXPROCS is set; restore puts
// the previous value back (for a bot run inside a test binary).
func startBotProcs() (restore func()) {
	if os.Getenv("GOMAXPROCS") != "" {
		return func() {}
	}
	prev := runtime.GOMAXPROCS(botProcs)
	return func() { runtime.GOMAXPROCS(prev) }
}

// startBotGC applies the bot's GC policy; stop ends it and puts the
// previous percent back. It does nothing when GOGC or GOMEMLIMIT is set.
func startBotGC() (stop func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	t := &gcTuner{percent: gcSmallPercent, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	prev := debug.SetGCPercent(t.percent)
	t.arm()
	return func() {
		t.stopped.Store(true)
		debug.SetGCPercent(prev)
	}
}

// sentinel is garbage whose finalizer runs once per collection.
type sentinel struct{ _ [16]byte }

// arm makes a sentinel whose finalizer, run after the next collection,
// re-decides the percent and arms the next one.
func (t *gcTuner) arm() {
	s := &sentinel{}
	runtime.SetFinalizer(s, func(*sentinel) {
		if t.stopped.Load() {
			return
		}
		metrics.Read(t.sample)
		if t.sample[0].Value.Kind() == metrics.KindUint64 {
			if p := gcPercentFor(t.sample[0].Value.Uint64(), t.percent); p != t.percent {
				t.percent = p
				debug.SetGCPercent(p)
			}
		}
		t.arm()
	})
}
