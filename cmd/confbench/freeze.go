package main

import (
	"context"
	"fmt"
	"math"
	"syscall"
	"time"
)

// others is every node but x.
func (c *cluster) others(x *proc) []*proc {
	var out []*proc
	for _, p := range c.procs {
		if p != x {
			out = append(out, p)
		}
	}
	return out
}

// activeEverywhere reports whether every node lists every other active;
// c.mu held.
func (c *cluster) activeEverywhere() bool {
	return c.all(func(p *proc) bool { return len(p.st.active) == len(c.procs)-1 })
}

// freeze stops the victim (the last node) twice: once with SIGSTOP, its
// sockets open (metrics without suffix), once by dropping its traffic in
// the proxies (suffix _cut); each time it measures how long the others
// take to freeze it and, after the resume, to list it active again and
// to get a message from it.
func (b *bench) freeze(ctx context.Context) error {
	v := b.c.procs[len(b.c.procs)-1]
	pause := func(on bool) error {
		if on {
			return v.signal(syscall.SIGSTOP)
		}
		return v.signal(syscall.SIGCONT)
	}
	cut := func(on bool) error {
		b.c.cut(v.idx, on)
		return nil
	}
	if err := b.freezeCycle(ctx, v, "", "R", pause); err != nil {
		return err
	}
	return b.freezeCycle(ctx, v, "_cut", "C", cut)
}

func (b *bench) freezeCycle(ctx context.Context, v *proc, suffix, kind string, stop func(on bool) error) error {
	c := b.c
	others := c.others(v)
	if err := c.wait(ctx, 30*time.Second, c.activeEverywhere); err != nil {
		return fmt.Errorf("not every node lists every other active before the freeze: %w (%s)", err, b.peerCounts())
	}
	t0 := time.Now()
	if err := stop(true); err != nil {
		return err
	}
	limit := 3*c.opts.freezeAfter + 20*time.Second
	err := c.wait(ctx, limit, func() bool {
		for _, o := range others {
			if !o.st.frozen[v.key].After(t0) {
				return false
			}
		}
		return true
	})
	if err != nil {
		stop(false)
		b.r.add("freeze_detected_by_all"+suffix, math.NaN(), "s")
		return fmt.Errorf("victim not frozen by all within %v: %w", limit, err)
	}
	c.mu.Lock()
	var detected time.Time
	for _, o := range others {
		detected = later(detected, o.st.frozen[v.key])
	}
	c.mu.Unlock()
	b.r.seconds("freeze_detected_by_all"+suffix, detected.Sub(t0))
	t1 := time.Now()
	if err := stop(false); err != nil {
		return err
	}
	return b.rejoin(ctx, v, others, suffix, kind, t1)
}

// rejoin has the victim send a message every 0.5 s from the resume until
// one reaches everyone, and waits until every other node lists it active.
func (b *bench) rejoin(ctx context.Context, v *proc, others []*proc, suffix, kind string, t1 time.Time) error {
	c := b.c
	limit := time.Now().Add(30*time.Second + 2*c.opts.freezeAfter)
	var texts []string
	reached := ""
	listed := func() bool {
		for _, o := range others {
			if !o.st.active[v.key] || !o.st.unfrozen[v.key].After(t1) {
				return false
			}
		}
		return true
	}
	for k := 0; time.Now().Before(limit); k++ {
		t := b.text(kind, k)
		texts = append(texts, t)
		v.send("conference.send", map[string]any{"conference": c.conf, "text": t})
		err := c.wait(ctx, 500*time.Millisecond, func() bool {
			for _, t := range texts {
				if c.reachedAll(t, v) {
					reached = t
					return true
				}
			}
			return false
		})
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if reached == "" || c.wait(ctx, time.Until(limit), listed) != nil {
		b.r.add("rejoin_all_others_list_active"+suffix, math.NaN(), "s")
		b.r.add("rejoin_msg_from_victim_reached_all"+suffix, math.NaN(), "s")
		return fmt.Errorf("victim did not rejoin (message reached all: %v; %s; %s)", reached != "", b.peerCounts(), b.victimView(v))
	}
	c.mu.Lock()
	var active time.Time
	for _, o := range others {
		active = later(active, o.st.unfrozen[v.key])
	}
	msgAt := c.lastReceipt(reached, v)
	c.mu.Unlock()
	b.r.seconds("rejoin_all_others_list_active"+suffix, active.Sub(t1))
	b.r.seconds("rejoin_msg_from_victim_reached_all"+suffix, msgAt.Sub(t1))
	b.r.add("rejoin_victim_msgs_sent"+suffix, float64(len(texts)), "msgs")
	return nil
}

// victimView says which nodes do not list v active.
func (b *bench) victimView(v *proc) string {
	b.c.mu.Lock()
	defer b.c.mu.Unlock()
	var missing []string
	for _, p := range b.c.procs {
		if p != v && !p.st.active[v.key] {
			missing = append(missing, fmt.Sprint(p.idx))
		}
	}
	return fmt.Sprintf("nodes not listing node %d active: %v", v.idx, missing)
}
