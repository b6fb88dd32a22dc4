package relay

import (
	"fmt"
	"log/slog"
	"strings"
)

// Stats are a relay's counters at one moment.
type Stats struct {
	Clients    int    // TCP connections open now
	HalfOpen   int    // of which still in their handshake
	Registered int    // keys with a registration now
	Pairs      int    // spliced pairs now
	PairsTotal uint64 // spliced pairs since start
	Bytes      uint64 // bytes forwarded since start, both directions
	Refusals   map[Reason]uint64
}

// String is the stats log line's text: every counter, then the refusals
// by reason (only those that happened).
func (st Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "clients=%d half_open=%d registered=%d pairs=%d pairs_total=%d bytes=%d refused=",
		st.Clients, st.HalfOpen, st.Registered, st.Pairs, st.PairsTotal, st.Bytes)
	b.WriteString(st.refusalText())
	return b.String()
}

func (st Stats) refusalText() string {
	var parts []string
	for _, r := range allReasons() {
		if n := st.Refusals[r]; n > 0 {
			parts = append(parts, fmt.Sprintf("%v:%d", r, n))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

// LogValue lets slog print Stats as a group of attributes.
func (st Stats) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("clients", st.Clients), slog.Int("half_open", st.HalfOpen),
		slog.Int("registered", st.Registered), slog.Int("pairs", st.Pairs),
		slog.Uint64("pairs_total", st.PairsTotal), slog.Uint64("bytes", st.Bytes),
		slog.String("refused", st.refusalText()),
	)
}
