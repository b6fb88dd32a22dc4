package main

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
)

// text is message seq of a kind ("L", "B", ...), padded to the message
// length like the harness's messages.
func (b *bench) text(kind string, seq int) string {
	s := fmt.Sprintf("%s:%d:", kind, seq)
	if n := b.c.opts.msgLen - len(s); n > 0 {
		s += strings.Repeat("x", n)
	}
	return s
}

// sendResult is the conference.send result.
type sendResult struct {
	Number uint32 `json:"number"`
	Time   string `json:"time"`
}

// sendAt sends text from p and returns the node's time of storing it.
func (b *bench) sendAt(ctx context.Context, p *proc, text string) (time.Time, error) {
	var res sendResult
	if err := p.call(ctx, "conference.send", map[string]any{"conference": b.c.conf, "text": text}, &res); err != nil {
		return time.Time{}, err
	}
	return stamp(res.Time, time.Now()), nil
}

// reachedAll reports whether every node but from holds text; c.mu held.
func (c *cluster) reachedAll(text string, from *proc) bool {
	return c.all(func(p *proc) bool {
		_, ok := p.st.msgs[text]
		return p == from || ok
	})
}

// lastReceipt is the latest receive time of text over every node but
// from; c.mu held.
func (c *cluster) lastReceipt(text string, from *proc) time.Time {
	var t time.Time
	for _, p := range c.procs {
		if p != from {
			t = later(t, p.st.msgs[text].at)
		}
	}
	return t
}

// receipts is the number of messages all nodes received so far.
func (c *cluster) receipts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, p := range c.procs {
		n += p.st.received
	}
	return n
}

// settle waits d unless ctx ends.
func settle(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// latency sends L messages from node 0 one at a time, each once the
// previous one reached everyone, and measures when the last node got it.
func (b *bench) latency(ctx context.Context) error {
	c := b.c
	if err := settle(ctx, time.Second); err != nil {
		return err
	}
	defer b.countTraffic()()
	defer b.trace(ctx)()
	sender := c.procs[0]
	var samples []float64
	lost := 0
	for s := range c.opts.latCount {
		text := b.text("L", s)
		ts, err := b.sendAt(ctx, sender, text)
		if err != nil {
			return err
		}
		if err := c.wait(ctx, 10*time.Second, func() bool { return c.reachedAll(text, sender) }); err != nil {
			if ctx.Err() != nil {
				return err
			}
			lost++
			continue
		}
		c.mu.Lock()
		samples = append(samples, c.lastReceipt(text, sender).Sub(ts).Seconds())
		c.mu.Unlock()
	}
	b.r.add("lat_msgs_not_delivered_to_all", float64(lost), "msgs")
	b.r.stats("lat_all_recv", samples, 1000, "ms")
	return nil
}

// countTraffic starts counting wire bytes and receipts for
// bytes_sent_per_delivery; the returned func stops it. The bytes are
// what the nodes' TCP sockets sent (the kernel's count, sockstat.go),
// with or without proxies.
func (b *bench) countTraffic() func() {
	w0, r0 := b.c.wireNow(), b.c.receipts()
	return func() {
		n, ok := b.c.wireBytes(w0)
		if !ok {
			b.wireLost = true
		}
		b.wireBytes += n
		b.deliveries += b.c.receipts() - r0
	}
}

// burstSendLimit bounds how long the burst waits for the sender to
// answer all its conference.send requests.
const burstSendLimit = 120 * time.Second

// burst sends B messages from node 0 as fast as the API accepts them
// (pipelined, without waiting for answers) and measures their delivery.
func (b *bench) burst(ctx context.Context) error {
	c := b.c
	if err := settle(ctx, time.Second); err != nil {
		return err
	}
	defer b.countTraffic()()
	defer b.profile(ctx)()
	sender := c.procs[0]
	n := c.opts.burstCount
	texts := make([]string, n)
	chs := make([]<-chan reply, n)
	for s := range n {
		texts[s] = b.text("B", s)
		chs[s] = sender.send("conference.send", map[string]any{"conference": c.conf, "text": texts[s]})
	}
	var first, lastSent time.Time
	failed := 0
	// The answers share one limit, so a sender that stalls costs at most
	// burstSendLimit, not 30 s per request.
	sendCtx, cancel := context.WithTimeout(ctx, burstSendLimit)
	defer cancel()
	for s, ch := range chs {
		var res sendResult
		if err := sender.await(sendCtx, "conference.send", ch, &res); err != nil {
			if ctx.Err() != nil {
				return err
			}
			failed++
			continue
		}
		t := stamp(res.Time, time.Now())
		if first.IsZero() || s == 0 {
			first = t
		}
		lastSent = later(lastSent, t)
	}
	if err := b.awaitBurst(ctx, texts, sender); err != nil {
		return err
	}
	b.r.add("burst_send_failures", float64(failed), "msgs")
	b.r.seconds("burst_send_duration", lastSent.Sub(first))
	b.burstReport(texts, sender, first)
	return nil
}

// awaitBurst waits until every node holds every burst message, the
// burst stalls for -burst-stall, or 90 s pass.
func (b *bench) awaitBurst(ctx context.Context, texts []string, sender *proc) error {
	c := b.c
	hard := time.Now().Add(90 * time.Second)
	last, lastProgress := -1, time.Now()
	for time.Now().Before(hard) {
		c.mu.Lock()
		got := 0
		for _, p := range c.procs {
			if p != sender {
				for _, t := range texts {
					if _, ok := p.st.msgs[t]; ok {
						got++
					}
				}
			}
		}
		c.mu.Unlock()
		if got == len(texts)*(len(c.procs)-1) {
			return nil
		}
		if got != last {
			last, lastProgress = got, time.Now()
		} else if time.Since(lastProgress) > c.opts.burstStall {
			return nil
		}
		if err := settle(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

// burstReport adds the burst metrics from what the nodes received.
func (b *bench) burstReport(texts []string, sender *proc, first time.Time) {
	c := b.c
	c.mu.Lock()
	defer c.mu.Unlock()
	toAll, deliveries, inOrder, dups := 0, 0, 0, 0
	lastAt := first
	for _, p := range c.procs {
		if p == sender {
			continue
		}
		ordered, prev := true, 0
		for _, t := range texts {
			rc, ok := p.st.msgs[t]
			if !ok {
				continue
			}
			deliveries++
			lastAt = later(lastAt, rc.at)
			if rc.order < prev {
				ordered = false
			}
			prev = rc.order
		}
		if ordered {
			inOrder++
		}
		dups += p.st.dups
	}
	for _, t := range texts {
		if c.reachedAll(t, sender) {
			toAll++
		}
	}
	dur := lastAt.Sub(first).Seconds()
	b.r.add("burst_delivered_to_all", float64(toAll), "msgs")
	b.r.add("burst_receivers_in_order", float64(inOrder), "receivers")
	b.r.add("msg_duplicates", float64(dups), "msgs")
	b.r.add("burst_duration_to_last_delivery", dur, "s")
	if dur > 0 {
		b.r.add("burst_throughput_to_all", float64(toAll)/dur, "msgs_per_s")
		b.r.add("burst_deliveries_per_s", float64(deliveries)/dur, "deliveries_per_s")
	} else {
		b.r.add("burst_throughput_to_all", math.NaN(), "msgs_per_s")
		b.r.add("burst_deliveries_per_s", math.NaN(), "deliveries_per_s")
	}
}
