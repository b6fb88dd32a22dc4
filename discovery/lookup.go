package discovery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"confchat/identity"
)

// idState is what the resolver keeps per looked-up ID (bounded by maxIDs).
type idState struct {
	minSeq      int64 // never accept a lower sequence number
	keys        *Keys
	failures    int
	nextAllowed time.Time // next background lookup
	wanted      bool      // a background lookup is asked for
	running     bool
	queued      bool
	waiters     []chan lookupResult
	lastUsed    time.Time
}

// state returns id's state, making room by forgetting the least recently
// used idle ID; nil when every slot is busy.
func (l *loop) state(id identity.ID, now time.Time) *idState {
	if st, ok := l.ids[id]; ok {
		st.lastUsed = now
		return st
	}
	if len(l.ids) >= maxIDs {
		var victim identity.ID
		var oldest *idState
		for k, st := range l.ids {
			if !st.running && !st.queued && (oldest == nil || st.lastUsed.Before(oldest.lastUsed)) {
				victim, oldest = k, st
			}
		}
		if oldest == nil {
			return nil
		}
		delete(l.ids, victim)
	}
	st := &idState{lastUsed: now}
	l.ids[id] = st
	return st
}

func (l *loop) lookup(r request, now time.Time) {
	if l.node == nil {
		if r.reply != nil {
			r.reply <- lookupResult{err: ErrDisabled}
		}
		return
	}
	st := l.state(r.id, now)
	if st == nil || (!st.running && !st.queued && len(l.queue) >= maxQueued) {
		if r.reply != nil {
			r.reply <- lookupResult{err: ErrBusy}
		}
		return
	}
	if r.explicit {
		st.waiters = append(st.waiters, r.reply)
		l.enqueue(r.id, st)
		return
	}
	st.wanted = true
	if !now.Before(st.nextAllowed) {
		l.enqueue(r.id, st)
	}
}

func (l *loop) enqueue(id identity.ID, st *idState) {
	if st.running || st.queued {
		return
	}
	st.queued = true
	l.queue = append(l.queue, id)
}

// startLookups queues background lookups that are due and starts queued
// ones while there are free slots.
func (l *loop) startLookups(now time.Time) {
	for id, st := range l.ids {
		if st.wanted && !st.running && !st.queued && !now.Before(st.nextAllowed) && len(l.queue) < maxQueued {
			l.enqueue(id, st)
		}
	}
	for l.running < maxRunning && len(l.queue) > 0 {
		id := l.queue[0]
		l.queue = l.queue[1:]
		st := l.ids[id]
		st.queued, st.running = false, true
		l.running++
		l.startLookup(id, st)
	}
}

func (l *loop) startLookup(id identity.ID, st *idState) {
	keys, minSeq, node, timeout := st.keys, st.minSeq, l.node, l.cfg.LookupTimeout
	l.spawn(func(ctx context.Context) func(*loop) {
		if keys == nil {
			k := DeriveKeys(id)
			keys = &k
		}
		found, err := resolve(ctx, node, id, *keys, minSeq, timeout)
		return func(l *loop) { l.lookupFinished(id, keys, found, err) }
	})
}

// resolve runs one BEP 44 get traversal for id and verifies the newest
// item it returns.
func resolve(ctx context.Context, node *dhtNode, id identity.ID, keys Keys, minSeq int64, timeout time.Duration) (Found, error) {
	if !node.canTraverse() {
		return Found{}, ErrNoNodes
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, _, err := node.getTraversal(ctx, keys.Target, keys.Salt[:])
	if errors.Is(err, context.Canceled) {
		return Found{}, err
	}
	if !res.found {
		if err == nil {
			err = errors.New("value not found")
		}
		return Found{}, fmt.Errorf("%w (%v)", ErrNotFound, err)
	}
	it := Item{Key: id.Key, Salt: keys.Salt[:], Seq: res.seq, V: res.v, Sig: res.sig}
	rec, err := Open(id, keys, it, minSeq)
	if err != nil {
		return Found{}, err
	}
	return Found{ID: id, Record: rec, Seq: res.seq}, nil
}

func (l *loop) lookupFinished(id identity.ID, keys *Keys, found Found, err error) {
	now := l.cfg.Clock.Now()
	l.running--
	st := l.ids[id] // running entries are never evicted
	st.running, st.keys = false, keys
	if err == nil && found.Seq < st.minSeq {
		err = fmt.Errorf("%w: %d < %d", ErrStaleSeq, found.Seq, st.minSeq)
	}
	// News is an item newer than any seen for id: what the caller must
	// learn. The same item again is no progress for a background lookup
	// (the peer has not republished since), so it backs off like a failure.
	news := err == nil && found.Seq > st.minSeq
	if err == nil {
		st.minSeq = found.Seq
	}
	for _, w := range st.waiters {
		w <- lookupResult{found: found, err: err}
	}
	st.waiters = nil
	if !st.wanted {
		// Explicit lookups only: the background schedule is left alone.
		if news {
			st.failures = 0
		}
		return
	}
	st.wanted = false
	if news {
		st.failures = 0
		st.nextAllowed = now.Add(l.cfg.MinInterval)
		l.emit(found)
		return
	}
	if err == nil {
		err = fmt.Errorf("%w (sequence number %d)", ErrUnchanged, found.Seq)
	}
	st.failures++
	st.nextAllowed = now.Add(retryDelay(st.failures, l.cfg.MinInterval, l.cfg.MaxBackoff))
	l.emit(LookupFailed{ID: id, Err: err, RetryAt: st.nextAllowed})
}
