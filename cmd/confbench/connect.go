package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// friendPairs is the friend graph: chain links i and i+1, star links 0
// with everyone (the harness's -g).
func (b *bench) friendPairs() [][2]*proc {
	ps := b.c.procs
	var out [][2]*proc
	for i := 1; i < len(ps); i++ {
		if b.c.opts.graph == "star" {
			out = append(out, [2]*proc{ps[0], ps[i]})
		} else {
			out = append(out, [2]*proc{ps[i-1], ps[i]})
		}
	}
	return out
}

// connect befriends the nodes, forms the conference and measures
// friends_all_connected, conf_all_peers and conf_names_propagated.
func (b *bench) connect(ctx context.Context) error {
	c := b.c
	pairs := b.friendPairs()
	t0 := time.Now()
	var pending []<-chan reply
	for _, pr := range pairs {
		pending = append(pending, pr[0].send("friend.add", map[string]any{"id": pr[1].id,
			"address": c.addrOf(pr[1].idx), "message": "confbench"}))
	}
	for i, ch := range pending {
		if err := pairs[i][0].await(ctx, "friend.add", ch, nil); err != nil {
			return err
		}
	}
	if err := c.wait(ctx, 60*time.Second, func() bool { return b.friendsUp(pairs) }); err != nil {
		b.r.seconds("friends_all_connected", -1)
		return fmt.Errorf("friends not all connected: %w", err)
	}
	c.mu.Lock()
	var last time.Time
	for _, pr := range pairs {
		last = later(last, pr[0].st.online[pr[1].key], pr[1].st.online[pr[0].key])
	}
	c.mu.Unlock()
	b.r.seconds("friends_all_connected", last.Sub(t0))
	return b.form(ctx)
}

func (b *bench) friendsUp(pairs [][2]*proc) bool {
	for _, pr := range pairs {
		_, ab := pr[0].st.online[pr[1].key]
		_, ba := pr[1].st.online[pr[0].key]
		if !ab || !ba {
			return false
		}
	}
	return true
}

// form creates the conference on node 0 and invites the way the harness
// does: star invites everyone from node 0; chain has every node invite
// the next once it has joined.
func (b *bench) form(ctx context.Context) error {
	c := b.c
	ps := c.procs
	tc := time.Now()
	var cr struct {
		Conference string `json:"conference"`
	}
	if err := ps[0].call(ctx, "conference.create", map[string]any{"title": "confbench"}, &cr); err != nil {
		return err
	}
	c.conf = cr.Conference
	for i := 1; i < len(ps); i++ {
		inviter := ps[0]
		if c.opts.graph == "chain" {
			inviter = ps[i-1]
			if err := c.wait(ctx, 30*time.Second, func() bool { return !inviter.st.joined.IsZero() }); err != nil {
				return fmt.Errorf("%s did not join: %w", inviter.name, err)
			}
		}
		if err := inviter.call(ctx, "conference.invite", map[string]any{"conference": c.conf,
			"public_key": ps[i].key}, nil); err != nil {
			return err
		}
	}
	err := c.wait(ctx, 60*time.Second, func() bool { return c.all(func(p *proc) bool { return !p.st.fullAt.IsZero() }) })
	if err != nil {
		b.r.seconds("conf_all_peers", -1)
		return fmt.Errorf("conference did not form: %w (%s)", err, b.peerCounts())
	}
	b.r.seconds("conf_all_peers", c.latest(func(p *proc) time.Time { return p.st.fullAt }).Sub(tc))
	err = c.wait(ctx, 60*time.Second, func() bool { return c.all(func(p *proc) bool { return !p.st.namesAt.IsZero() }) })
	if err != nil {
		b.r.seconds("conf_names_propagated", -1)
		b.r.fail("names not propagated within 60s")
		return nil
	}
	b.r.seconds("conf_names_propagated", c.latest(func(p *proc) time.Time { return p.st.namesAt }).Sub(tc))
	return nil
}

// peerCounts describes how many others each node lists active.
func (b *bench) peerCounts() string {
	b.c.mu.Lock()
	defer b.c.mu.Unlock()
	var s []string
	for _, p := range b.c.procs {
		s = append(s, fmt.Sprint(len(p.st.active)))
	}
	return "active others per node: " + strings.Join(s, " ")
}

// all reports whether f holds for every node; c.mu held.
func (c *cluster) all(f func(*proc) bool) bool {
	for _, p := range c.procs {
		if !f(p) {
			return false
		}
	}
	return true
}

// latest returns the latest of f over every node.
func (c *cluster) latest(f func(*proc) time.Time) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	var t time.Time
	for _, p := range c.procs {
		t = later(t, f(p))
	}
	return t
}

func later(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}
