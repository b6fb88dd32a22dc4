package netlayer

import (
	"fmt"
	"time"
)

// heartbeat is the Connected state's liveness machinery. The accepting
// side of a connection pings every interval; the dialing side answers
// each ping with a pong. Both sides drop the connection when nothing at
// all arrived for interval × misses. It owns one timer, rearmed every
// half interval.
type heartbeat struct {
	timer       Timer
	pinger      bool
	interval    time.Duration
	deadAfter   time.Duration
	lastInbound time.Time
	lastPing    time.Time
}

func (h *heartbeat) start(cfg Config, pinger bool) {
	h.stop()
	now := cfg.Clock.Now()
	h.timer = cfg.Clock.NewTimer(cfg.HeartbeatInterval / 2)
	h.pinger = pinger
	h.interval = cfg.HeartbeatInterval
	h.deadAfter = cfg.deadAfter()
	h.lastInbound, h.lastPing = now, now
}

func (h *heartbeat) stop() {
	if h.timer != nil {
		h.timer.Stop()
		h.timer = nil
	}
}

func (h *heartbeat) tick() <-chan time.Time {
	if h.timer == nil {
		return nil
	}
	return h.timer.C()
}

// heartbeatTick runs the watchdog and, on the accepting side, pings.
func (s *Session) heartbeatTick() {
	s.hb.timer.Reset(s.hb.interval / 2)
	now := s.ep.cfg.Clock.Now()
	if silent := now.Sub(s.hb.lastInbound); silent > s.hb.deadAfter {
		s.dropLink(fmt.Errorf("connection: silent for %v: %w", silent.Round(time.Millisecond), ErrPeerDead))
		return
	}
	if s.hb.pinger && now.Sub(s.hb.lastPing) >= s.hb.interval*3/4 {
		s.hb.lastPing = now
		s.sendControl(recPing)
	}
}
