package peers

import (
	"time"

	"confchat/identity"
)

// Limiter rate-limits incoming friend requests: a token bucket per source
// key, and one for all sources together so a flood from fresh keys is
// bounded too. It is not safe for concurrent use; the node's owner
// goroutine holds it.
type Limiter struct {
	perKey  bucketConfig
	global  bucket
	buckets map[identity.PublicKey]*bucket
}

type bucketConfig struct {
	burst float64
	every time.Duration // one token is added per every
}

type bucket struct {
	tokens float64
	last   time.Time
}

// maxTrackedSources bounds the memory a flood of fresh keys can use.
const maxTrackedSources = 4096

// NewLimiter allows each source burst requests and then one per every;
// all sources together get ten times that.
func NewLimiter(burst int, every time.Duration) *Limiter {
	l := &Limiter{
		perKey:  bucketConfig{burst: float64(burst), every: every},
		buckets: map[identity.PublicKey]*bucket{},
	}
	l.global = bucket{tokens: 10 * float64(burst)}
	return l
}

// Allow reports whether a request from key at now may be processed, and
// spends a token if so.
func (l *Limiter) Allow(key identity.PublicKey, now time.Time) bool {
	gcfg := bucketConfig{burst: 10 * l.perKey.burst, every: l.perKey.every / 10}
	if !l.global.ready(gcfg, now) {
		return false
	}
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxTrackedSources {
			l.prune(now)
		}
		b = &bucket{tokens: l.perKey.burst, last: now}
		l.buckets[key] = b
	}
	if !b.ready(l.perKey, now) {
		return false
	}
	b.tokens--
	l.global.tokens--
	return true
}

// prune forgets sources whose bucket has refilled, and if that is not
// enough, all of them (the global bucket still bounds the rate).
func (l *Limiter) prune(now time.Time) {
	for k, b := range l.buckets {
		if b.refill(l.perKey, now); b.tokens >= l.perKey.burst {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxTrackedSources {
		clear(l.buckets)
	}
}

func (b *bucket) refill(c bucketConfig, now time.Time) {
	if b.last.IsZero() {
		b.last = now
	}
	if now.After(b.last) && c.every > 0 {
		b.tokens += float64(now.Sub(b.last)) / float64(c.every)
		if b.tokens > c.burst {
			b.tokens = c.burst
		}
	}
	if now.After(b.last) {
		b.last = now
	}
}

func (b *bucket) ready(c bucketConfig, now time.Time) bool {
	b.refill(c, now)
	return b.tokens >= 1
}
