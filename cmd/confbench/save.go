package main

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
)

// missedCount is how many messages node 0 sends while the restarted node
// is down.
const missedCount = 20

// save kills a node with SIGKILL (node 2, the harness's -r, or the last
// one when N < 3), has node 0 send while it is down, waits until the
// others froze it, restarts it from its profile and measures how fast it
// lists the conference, is active everywhere again, and recovers what it
// missed.
func (b *bench) save(ctx context.Context) error {
	c := b.c
	r := c.procs[min(2, len(c.procs)-1)]
	sender := c.procs[0]
	if err := c.wait(ctx, 30*time.Second, c.activeEverywhere); err != nil {
		return fmt.Errorf("not every node lists every other active before the kill: %w (%s)", err, b.peerCounts())
	}
	tk := time.Now() // before the kill: with N=2 the survivor may freeze it at once
	r.kill()
	var missed []string
	for k := range missedCount {
		t := b.text("S", k)
		missed = append(missed, t)
		if _, err := b.sendAt(ctx, sender, t); err != nil {
			return err
		}
	}
	others := c.others(r)
	limit := 3*c.opts.freezeAfter + 20*time.Second
	err := c.wait(ctx, limit, func() bool {
		for _, o := range others {
			if !o.st.frozen[r.key].After(tk) {
				return false
			}
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("killed node not frozen by all within %v: %w", limit, err)
	}
	c.mu.Lock()
	r.st = newNodeState()
	c.mu.Unlock()
	tr := time.Now()
	if err := r.start(ctx, c.nodeFlags(r)); err != nil {
		return err
	}
	if err := b.listed(ctx, r, tr); err != nil {
		return err
	}
	active := func() bool {
		if r.st.fullAt.IsZero() {
			return false
		}
		for _, o := range others {
			if !o.st.active[r.key] || !o.st.unfrozen[r.key].After(tr) {
				return false
			}
		}
		return true
	}
	if err := c.wait(ctx, 30*time.Second+2*c.opts.freezeAfter, active); err != nil {
		b.r.add("restart_to_active", math.NaN(), "s")
		return fmt.Errorf("restarted node not active everywhere: %w (%s)", err, b.peerCounts())
	}
	c.mu.Lock()
	back := r.st.fullAt
	for _, o := range others {
		back = later(back, o.st.unfrozen[r.key])
	}
	c.mu.Unlock()
	b.r.seconds("restart_to_active", back.Sub(tr))
	b.recovered(ctx, r, missed)
	return nil
}

// listed polls conference.list on the restarted node until it lists the
// conference; the time is confbench's, from the restart (a list answer
// carries no node time).
func (b *bench) listed(ctx context.Context, r *proc, tr time.Time) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var l struct {
			Conferences []struct {
				Conference string `json:"conference"`
			} `json:"conferences"`
		}
		if err := r.call(ctx, "conference.list", nil, &l); err != nil {
			return err
		}
		for _, cf := range l.Conferences {
			if cf.Conference == b.c.conf {
				b.r.seconds("restart_conference_listed", time.Since(tr))
				return nil
			}
		}
		if err := settle(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
	b.r.add("restart_conference_listed", math.NaN(), "s")
	return fmt.Errorf("restarted node does not list the conference")
}

// recovered counts how many of the messages sent while r was down it
// holds (notifications or stored history) within 15 s of being active.
func (b *bench) recovered(ctx context.Context, r *proc, missed []string) {
	c := b.c
	count := func() int {
		n := 0
		for _, t := range missed {
			if _, ok := r.st.msgs[t]; ok {
				n++
			}
		}
		return n
	}
	c.wait(ctx, 15*time.Second, func() bool { return count() == len(missed) })
	c.mu.Lock()
	got := count()
	c.mu.Unlock()
	var h struct {
		Messages []struct {
			Text string `json:"text"`
		} `json:"messages"`
	}
	if err := r.call(ctx, "conference.history", map[string]any{"conference": c.conf, "limit": 1000}, &h); err == nil {
		inHistory := 0
		for _, m := range h.Messages {
			if strings.HasPrefix(m.Text, "S:") {
				inHistory++
			}
		}
		got = max(got, inHistory)
	}
	b.r.add("restart_missed_msgs_recovered", float64(got), "msgs")
}
