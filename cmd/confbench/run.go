package main

import (
	"context"
	"io"
	"math"
	"time"
)

// run measures one cluster and returns the report; every metric is also
// printed to out as it is measured. The cluster is always torn down.
func run(ctx context.Context, o options, out io.Writer) *report {
	r := &report{Header: o.header(), OK: true, out: out}
	printHeader(out, r.Header)
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	c, err := newCluster(o)
	if err != nil {
		r.fail("%v", err)
		return r
	}
	defer c.close()
	if err := c.build(ctx); err != nil {
		r.fail("%v", err)
		return r
	}
	if err := c.startAll(ctx); err != nil {
		r.fail("%v", err)
		return r
	}
	b := &bench{c: c, r: r}
	stopPSS := c.samplePSS(ctx)
	defer stopPSS()
	if !b.phase(ctx, "connect", b.connect) {
		b.totals()
		return r
	}
	for _, p := range allPhases {
		if !o.has(p) || ctx.Err() != nil {
			continue
		}
		if o.beforePhase != nil {
			o.beforePhase(p)
		}
		b.phase(ctx, p, b.phaseFunc(p))
	}
	b.totals()
	return r
}

// bench runs phases against a cluster.
type bench struct {
	c *cluster
	r *report

	wireBytes  int64 // bytes on the wire during the lat and burst phases
	wireLost   bool  // a phase's bytes could not be read
	deliveries int   // receipts in the lat and burst phases
}

func (b *bench) phaseFunc(p string) func(context.Context) error {
	switch p {
	case "lat":
		return b.latency
	case "burst":
		return b.burst
	case "freeze":
		return b.freeze
	default:
		return b.save
	}
}

// phase runs f and adds phase_<p>_cpu and phase_<p>_wall; a failed phase
// is reported and makes the run not OK.
func (b *bench) phase(ctx context.Context, name string, f func(context.Context) error) bool {
	cpu0, _, _ := b.c.usage()
	t0 := time.Now()
	err := f(ctx)
	cpu1, _, _ := b.c.usage()
	b.r.add("phase_"+name+"_cpu", cpu1-cpu0, "s")
	b.r.add("phase_"+name+"_wall", time.Since(t0).Seconds(), "s")
	if err != nil {
		b.r.fail("phase %s: %v", name, err)
		return false
	}
	return true
}

// totals adds the whole-run figures.
func (b *bench) totals() {
	cpu, rssMax, rssSum := b.c.usage()
	b.r.add("cpu_total", cpu, "s")
	b.r.add("rss_peak_per_node", rssMax, "MiB")
	b.r.add("rss_peak_sum", rssSum, "MiB")
	pssMax, pssSum := b.c.pssPeaks()
	b.r.add("pss_peak_per_node", pssMax, "MiB")
	b.r.add("pss_peak_sum", pssSum, "MiB")
	anonMax, anonSum := b.c.anonPeaks()
	b.r.add("anon_peak_per_node", anonMax, "MiB")
	b.r.add("anon_peak_sum", anonSum, "MiB")
	if b.deliveries > 0 && !b.wireLost {
		b.r.add("bytes_sent_per_delivery", float64(b.wireBytes)/float64(b.deliveries), "bytes")
	} else {
		b.r.add("bytes_sent_per_delivery", math.NaN(), "bytes")
	}
	b.c.mu.Lock()
	stamped, fallback, lagged := b.c.stamped, b.c.fallback, 0
	for _, p := range b.c.procs {
		lagged += p.st.lagged
	}
	b.c.mu.Unlock()
	b.r.add("notes_node_stamped", float64(stamped), "notifications")
	b.r.add("notes_driver_stamped", float64(fallback), "notifications")
	b.r.add("notes_lagged", float64(lagged), "notifications")
	ok := 0.0
	if b.r.OK {
		ok = 1
	}
	b.r.add("result_ok", ok, "bool")
}
