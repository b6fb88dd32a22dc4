package node

import (
	"context"
	"strings"
	"time"

	"confchat/identity"
	"confchat/netlayer"
	"confchat/peers"
	"confchat/storage"
)

// Switch status (issue 11): the route of each session (direct / relay)
// and a switch between paths in progress are kept in memory, persisted
// in the routes table for wanted peers (friends, conference peers), and
// reported as RouteChanged. netlayer runs the switch and reports its
// phases; the node only records them. No switch survives a restart:
// Open abandons what the database still shows in progress.

// Switch phases as the front ends see them (RouteInfo.Switch,
// RouteChanged.Switch, FriendInfo.Switch).
const (
	// SwitchNone: no switch runs.
	SwitchNone = ""
	// SwitchSwitching: a switch to another path is in progress.
	SwitchSwitching = "switching"
	// SwitchFailedPrefix starts the phase of a switch that failed for
	// good ("failed: reason"); the session stays on its old path.
	SwitchFailedPrefix = "failed: "
)

// restartReason is why a switch the database showed in progress at start
// was abandoned.
const restartReason = "interrupted by a restart"

// switchStatus is the switch state of one session's route.
type switchStatus struct {
	phase   string    // SwitchNone, SwitchSwitching or "failed: reason"
	started time.Time // when the running switch began; zero when none
	last    string    // how the last switch ended: "done" or "failed: reason"
	// unreported: the route changed while the peer was a stranger, so it
	// was neither stored nor reported (routeWanted catches up).
	unreported bool
}

// inProgress reports whether phase is a switch still running (anything
// but none and a failure).
func inProgress(phase string) bool {
	return phase != SwitchNone && !strings.HasPrefix(phase, SwitchFailedPrefix)
}

// updateRoute records a session's route and switch phase, persists them
// for a wanted peer and reports a change. A stranger's route is kept in
// memory only.
func (n *Node) updateRoute(key identity.PublicKey, s *session, route netlayer.Route, phase string) {
	if s.route == route && s.sw.phase == phase {
		return
	}
	prev := s.sw.phase
	s.route = route
	switch {
	case phase == prev:
	case inProgress(phase):
		if !inProgress(prev) {
			s.sw.started = n.clock.Now()
		}
	case phase == SwitchNone && inProgress(prev):
		s.sw.started, s.sw.last = time.Time{}, "done"
	case strings.HasPrefix(phase, SwitchFailedPrefix):
		s.sw.started, s.sw.last = time.Time{}, phase
	}
	s.sw.phase = phase
	if !n.wants.Wanted(key) && !n.book.IsFriend(key) {
		s.sw.unreported = true // a stranger's route is nobody's business, and no row of ours
		return
	}
	n.reportRoute(key, s)
}

// reportRoute stores and reports the session's route and switch.
func (n *Node) reportRoute(key identity.PublicKey, s *session) {
	s.sw.unreported = false
	n.storeRoute(key, s)
	n.emit(RouteChanged{Peer: key, Route: s.route, Switch: s.sw.phase})
}

// routeWanted runs when key becomes a friend: a session that came up
// while it was a stranger reports its route now.
func (n *Node) routeWanted(key identity.PublicKey) {
	if s, ok := n.sessions[key]; ok && s.sw.unreported {
		n.reportRoute(key, s)
	}
}

// routeEvent applies netlayer's report of a session's route and switch
// phase. A migration changes the route and the carrying connection
// without any state change, so the remote address is taken from it too.
func (n *Node) routeEvent(ev netlayer.SessionRouteChanged) {
	s, ok := n.sessions[ev.Peer]
	if !ok {
		return
	}
	if ev.Route != netlayer.RouteNone && ev.RemoteAddr != "" {
		s.remote = ev.RemoteAddr
	}
	n.updateRoute(ev.Peer, s, ev.Route, ev.Switch.String())
}

// sessionGone runs when a session is closed for good: a switch it still
// ran is over (failed), so the database never keeps it in progress.
func (n *Node) sessionGone(key identity.PublicKey, s *session) {
	if inProgress(s.sw.phase) {
		n.updateRoute(key, s, netlayer.RouteNone, SwitchFailedPrefix+"session closed")
	}
}

// storeRoute keeps a wanted peer's route and switch status for the front
// ends to show after a restart. Only a running switch is stored as in
// progress; a failure is stored as the last switch's outcome.
func (n *Node) storeRoute(key identity.PublicKey, s *session) {
	r := storage.Route{Key: key, Route: routeText(s.route), LastSwitch: s.sw.last, UpdatedAt: n.clock.Now()}
	if inProgress(s.sw.phase) {
		r.Switch, r.SwitchStarted = s.sw.phase, s.sw.started
	}
	if s.route != netlayer.RouteNone {
		r.Address = s.remote
	}
	if err := n.db.PutRoute(n.qctx, r); err != nil {
		n.log.Warn("store route", "peer", key.Short(), "err", err)
	}
}

// abandonSwitches ends, at start, every switch the database still shows
// in progress: the sessions that ran them are gone, and a switch is never
// left "in progress" across a restart.
func (n *Node) abandonSwitches(ctx context.Context) error {
	count, err := n.db.AbandonSwitches(ctx, restartReason, n.clock.Now())
	if count > 0 {
		n.log.Info("route switches abandoned at start", "count", count, "reason", restartReason)
	}
	return err
}

// switchOf is the switch phase of the session to key ("" without one).
func (n *Node) switchOf(key identity.PublicKey) string {
	if s, ok := n.sessions[key]; ok {
		return s.sw.phase
	}
	return SwitchNone
}

// friendRoute is the route friend.list shows for f: the session's own
// (which a migration changes), while f is online.
func (n *Node) friendRoute(f peers.Friend) netlayer.Route {
	if s, ok := n.sessions[f.Key]; ok && f.Online && s.route != netlayer.RouteNone {
		return s.route
	}
	return f.Route
}
