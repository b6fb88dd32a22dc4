package node

import (
	"sync/atomic"
	"time"
)

// Counters are the node's running totals of what went wrong and was
// handled, for the bot and benchmarks to show.
type Counters struct {
	// SendDropped counts frames dropped because a session's send queue
	// was full; SendHealed counts the heals that followed (friend packets
	// re-sent and conference links resynchronised once the queue drained).
	SendDropped uint64
	SendHealed  uint64
	// StorageFailures counts database writes that failed (and were
	// retried or refused to the caller).
	StorageFailures uint64
	// StrangersEvicted counts sessions from unknown keys closed because
	// too many were open.
	StrangersEvicted uint64
	// HistoryLoads counts neighbours' history requests answered from the
	// database because the engine no longer keeps those bodies in memory.
	HistoryLoads uint64
	// WireSent and WireReceived count the bytes of sealed session records
	// (length prefixes included, handshakes not) written to and read
	// from peers' connections.
	WireSent, WireReceived uint64
}

type counters struct {
	sendDropped, sendHealed, storageFailures, strangersEvicted, historyLoads atomic.Uint64
}

// Counters returns the running totals. It does not wait for the loop.
func (n *Node) Counters() Counters {
	sent, received := n.ep.WireBytes()
	return Counters{
		SendDropped:      n.counters.sendDropped.Load(),
		SendHealed:       n.counters.sendHealed.Load(),
		StorageFailures:  n.counters.storageFailures.Load(),
		StrangersEvicted: n.counters.strangersEvicted.Load(),
		HistoryLoads:     n.counters.historyLoads.Load(),
		WireSent:         sent,
		WireReceived:     received,
	}
}

// logLimiter lets a burst of log lines through per interval and counts
// the rest, so a flood of peers cannot flood the log. Owned by the loop.
type logLimiter struct {
	burst      int
	interval   time.Duration
	start      time.Time
	n          int
	suppressed int
}

// allow reports whether a line may be logged now, and how many were
// suppressed since the last one that was.
func (l *logLimiter) allow(now time.Time) (ok bool, suppressed int) {
	if now.Sub(l.start) >= l.interval {
		l.start, l.n = now, 0
	}
	if l.n >= l.burst {
		l.suppressed++
		return false, 0
	}
	l.n++
	s := l.suppressed
	l.suppressed = 0
	return true, s
}

// debugLimited logs at debug level through lim.
func (n *Node) debugLimited(lim *logLimiter, msg string, args ...any) {
	ok, suppressed := lim.allow(n.clock.Now())
	if !ok {
		return
	}
	if suppressed > 0 {
		args = append(args, "suppressed", suppressed)
	}
	n.log.Debug(msg, args...)
}

func newLogLimiter() *logLimiter { return &logLimiter{burst: 10, interval: time.Second} }
