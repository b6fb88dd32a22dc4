package portmap

import (
	"time"

	"confchat/clock"
)

// Clock is the Mapper's time source: every renewal, retry and
// network-change check is armed on it, so tests move time by hand.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer of a Clock (clock.Timer).
type Timer = clock.Timer

// SystemClock is the wall clock.
type SystemClock = clock.System
