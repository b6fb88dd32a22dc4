package simnet

import (
	"container/heap"
	"time"
)

func (n *Net) refreshNode(x *Node) {
	for _, y := range n.nodes {
		if y != x {
			n.refreshPair(x, y)
		}
	}
}

// settle drains every node with pending input until nothing changes.
func (n *Net) settle() {
	for guard := 0; guard < 100000; guard++ {
		any := false
		for _, x := range n.nodes {
			if x.dirty || (x.Engine != nil && x.Engine.HasReady() && !x.stalled) {
				any = true
				x.drain(1)
			}
		}
		if !any && len(n.deferred) == 0 {
			return
		}
		fns := n.deferred
		n.deferred = nil
		for _, f := range fns {
			f()
		}
	}
	panic("simnet: outputs never settle")
}

// step runs the next event (packet or timer) if it is due by limit.
func (n *Net) step(limit time.Time) bool {
	next, tick := limit, false
	if len(n.queue) > 0 && !n.queue[0].at.After(next) {
		next = n.queue[0].at
	}
	for _, x := range n.nodes {
		if x.Engine == nil || !x.alive || x.paused {
			continue
		}
		if d := x.deadline; !d.IsZero() && d.Before(next) {
			next, tick = d, true
		}
	}
	if next.After(limit) || (!tick && (len(n.queue) == 0 || n.queue[0].at.After(limit))) {
		return false
	}
	if next.After(n.now) {
		n.now = next
	}
	if tick {
		n.tickDue()
	} else {
		n.deliverNext()
	}
	n.settle()
	return true
}

func (n *Net) tickDue() {
	for _, x := range n.nodes {
		if x.Engine == nil || !x.alive || x.paused {
			continue
		}
		if d := x.deadline; !d.IsZero() && !d.After(n.now) {
			x.Engine.Tick(n.now)
			x.drain(1)
		}
	}
}

func (n *Net) deliverNext() {
	d := heap.Pop(&n.queue).(*delivery)
	if n.sessions[mkpair(d.from, d.to)] != d.epoch {
		n.Stats.Dropped++
		return // the session went down meanwhile: lost
	}
	if x := n.byKey[d.to]; x != nil && x.alive && !x.paused {
		x.deliver(d)
	}
}

// Run advances the simulation by d.
func (n *Net) Run(d time.Duration) {
	limit := n.now.Add(d)
	guard := 0
	last := n.now
	for n.step(limit) {
		if n.now.Equal(last) {
			guard++
			if guard > 1_000_000 {
				panic("simnet: no progress at " + n.now.String())
			}
		} else {
			guard, last = 0, n.now
		}
	}
	n.now = limit
}

// RunUntil runs until cond holds (checked after every event) or max
// simulated time passes; it reports whether cond held.
func (n *Net) RunUntil(max time.Duration, cond func() bool) bool {
	limit := n.now.Add(max)
	if cond() {
		return true
	}
	guard, last := 0, n.now
	for n.step(limit) {
		if cond() {
			return true
		}
		if n.now.Equal(last) {
			guard++
			if guard > 1_000_000 {
				panic("simnet: no progress at " + n.now.String())
			}
		} else {
			guard, last = 0, n.now
		}
	}
	n.now = limit
	return cond()
}

// announceSessions tells a new engine about its friends and the sessions
// already up.
func (n *Net) announceSessions(x *Node) {
	for _, y := range n.nodes {
		if y != x && n.friends[mkpair(x.Key(), y.Key())] {
			x.Engine.SetFriend(y.Key(), true)
		}
	}
	for _, y := range n.nodes {
		if y != x && n.sessions[mkpair(x.Key(), y.Key())] != 0 {
			x.sessionUp(y)
		}
	}
}
