package node

import (
	"time"

	"confchat/clock"
)

// Clock is the node's time source: the loop reads the time from it once
// per input and arms its one timer with it, so tests can run the node on
// a fake clock (engines freeze peers after FreezeAfter of clock time).
// clock.System is the default.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer of a Clock (clock.Timer).
type Timer = clock.Timer
