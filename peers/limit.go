package peers

import (
	"slices"
	"time"
)

// Limiter rate-limits incoming friend requests per Source (network
// prefix): a token bucket each. There is deliberately no bucket shared by
// all sources: sybil keys are free, so one shared budget is exhausted by a
// single flooding host and starves everyone else (issue 9, defect 10).
// Sources are bounded by maxTrackedSources; a full table forgets its least
// recently used source, never refusing a new one. It is not safe for
// concurrent use; the node's owner goroutine holds it.
type Limiter struct {
	cfg     bucketConfig
	buckets map[Source]*bucket
}

type bucketConfig struct {
	burst float64
	every time.Duration // one token is added per every
}

type bucket struct {
	tokens float64
	last   time.Time // last refill
	used   time.Time // last request, for forgetting the least recently used
}

// maxTrackedSources bounds the memory a flood from many prefixes can use.
const maxTrackedSources = 4096

// NewLimiter allows each source burst requests and then one per every.
func NewLimiter(burst int, every time.Duration) *Limiter {
	return &Limiter{
		cfg:     bucketConfig{burst: float64(burst), every: every},
		buckets: map[Source]*bucket{},
	}
}

// Allow reports whether a request from src at now may be processed, and
// spends a token if so.
func (l *Limiter) Allow(src Source, now time.Time) bool {
	b, ok := l.buckets[src]
	if !ok {
		if len(l.buckets) >= maxTrackedSources {
			l.prune(now)
		}
		b = &bucket{tokens: l.cfg.burst, last: now}
		l.buckets[src] = b
	}
	b.used = now
	if !b.ready(l.cfg, now) {
		return false
	}
	b.tokens--
	return true
}

// Tracked is the number of sources the limiter remembers.
func (l *Limiter) Tracked() int { return len(l.buckets) }

// prune forgets sources whose bucket has refilled (they lose nothing),
// and if that frees too little, the least recently used eighth, so a flood
// from ever new prefixes pays for a scan only once per 512 new sources.
func (l *Limiter) prune(now time.Time) {
	type entry struct {
		src  Source
		used time.Time
	}
	hot := make([]entry, 0, len(l.buckets))
	for s, b := range l.buckets {
		if b.refill(l.cfg, now); b.tokens >= l.cfg.burst {
			delete(l.buckets, s)
			continue
		}
		hot = append(hot, entry{s, b.used})
	}
	if len(l.buckets) < maxTrackedSources*7/8 {
		return
	}
	slices.SortFunc(hot, func(x, y entry) int { return x.used.Compare(y.used) })
	for _, e := range hot[:len(hot)/8] {
		delete(l.buckets, e.src)
	}
}

func (b *bucket) refill(c bucketConfig, now time.Time) {
	if now.After(b.last) && c.every > 0 {
		b.tokens += float64(now.Sub(b.last)) / float64(c.every)
		if b.tokens > c.burst {
			b.tokens = c.burst
		}
		b.last = now
	}
}

func (b *bucket) ready(c bucketConfig, now time.Time) bool {
	b.refill(c, now)
	return b.tokens >= 1
}
