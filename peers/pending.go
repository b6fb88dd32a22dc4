package peers

import (
	"slices"
	"time"

	"confchat/identity"
)

// Bounds of the pending friend requests (issue 9, defect 10).
const (
	// MaxPendingRequests caps the pending list. When a new request finds
	// it full, the oldest request of the source holding the most entries
	// is dropped, so a flood from a few prefixes only displaces its own
	// requests and one from anywhere else stays listed.
	MaxPendingRequests = 256
	// RequestTTL is how long an unanswered request stays pending.
	RequestTTL = 30 * 24 * time.Hour
	// maxDropped bounds the dropped keys waiting for the node to delete
	// their rows; past it the oldest are forgotten (their rows linger
	// until the next start, where NewBook trims the list again).
	maxDropped = 4 * MaxPendingRequests
)

// pendingList is the bounded, aged set of pending requests and the keys
// dropped from it that the node has not yet been told about. perSrc holds
// each source's keys in the order they were put (oldest first), so making
// room costs a scan of the sources, not of the list.
type pendingList struct {
	byKey     map[identity.PublicKey]PendingRequest
	perSrc    map[Source][]identity.PublicKey
	dropped   []identity.PublicKey
	isDropped map[identity.PublicKey]bool
}

func newPendingList() pendingList {
	return pendingList{
		byKey:     map[identity.PublicKey]PendingRequest{},
		perSrc:    map[Source][]identity.PublicKey{},
		isDropped: map[identity.PublicKey]bool{},
	}
}

func (l *pendingList) get(key identity.PublicKey) (PendingRequest, bool) {
	r, ok := l.byKey[key]
	return r, ok
}

// put stores r, replacing an entry of the same key, and makes room by
// dropping when the list is full.
func (l *pendingList) put(r PendingRequest) {
	if old, ok := l.byKey[r.Key]; ok {
		l.remove(old.Key)
	} else if len(l.byKey) >= MaxPendingRequests {
		l.evictFor(r.Source)
	}
	l.byKey[r.Key] = r
	l.perSrc[r.Source] = append(l.perSrc[r.Source], r.Key)
	if l.isDropped[r.Key] { // back again before the node deleted its row
		delete(l.isDropped, r.Key)
		l.dropped = slices.DeleteFunc(l.dropped, func(k identity.PublicKey) bool { return k == r.Key })
	}
}

// remove deletes key's entry; it reports whether there was one.
func (l *pendingList) remove(key identity.PublicKey) bool {
	r, ok := l.byKey[key]
	if !ok {
		return false
	}
	delete(l.byKey, key)
	keys := slices.DeleteFunc(l.perSrc[r.Source], func(k identity.PublicKey) bool { return k == key })
	if len(keys) == 0 {
		delete(l.perSrc, r.Source)
	} else {
		l.perSrc[r.Source] = keys
	}
	return true
}

// drop removes key's entry and remembers that its row must go.
func (l *pendingList) drop(key identity.PublicKey) {
	if !l.remove(key) || l.isDropped[key] {
		return
	}
	if len(l.dropped) >= maxDropped {
		delete(l.isDropped, l.dropped[0])
		l.dropped = l.dropped[1:]
	}
	l.dropped = append(l.dropped, key)
	l.isDropped[key] = true
}

// evictFor drops one entry to make room for a request from src: the
// oldest of the source with the most entries, counting the newcomer
// (ties: the source whose oldest entry is older).
func (l *pendingList) evictFor(src Source) {
	var victim identity.PublicKey
	best := 0
	for s, keys := range l.perSrc {
		n := len(keys)
		if s == src {
			n++
		}
		if n > best || (n == best && older(l.byKey[keys[0]], l.byKey[victim])) {
			victim, best = keys[0], n
		}
	}
	if best > 0 {
		l.drop(victim)
	}
}

func older(x, y PendingRequest) bool {
	if c := x.ReceivedAt.Compare(y.ReceivedAt); c != 0 {
		return c < 0
	}
	return slices.Compare(x.Key[:], y.Key[:]) < 0
}

// expire drops every request received RequestTTL or longer before now.
func (l *pendingList) expire(now time.Time) {
	for k, r := range l.byKey {
		if !now.Before(r.ReceivedAt.Add(RequestTTL)) {
			l.drop(k)
		}
	}
}

// nextExpiry is when the oldest request ages out; zero when none.
func (l *pendingList) nextExpiry() time.Time {
	var first time.Time
	for _, r := range l.byKey {
		if first.IsZero() || r.ReceivedAt.Before(first) {
			first = r.ReceivedAt
		}
	}
	if first.IsZero() {
		return first
	}
	return first.Add(RequestTTL)
}

// takeDropped returns and forgets the dropped keys.
func (l *pendingList) takeDropped() []identity.PublicKey {
	out := l.dropped
	l.dropped = nil
	clear(l.isDropped)
	return out
}

// sorted returns the entries oldest first.
func (l *pendingList) sorted() []PendingRequest {
	out := make([]PendingRequest, 0, len(l.byKey))
	for _, r := range l.byKey {
		out = append(out, r)
	}
	slices.SortFunc(out, func(x, y PendingRequest) int {
		if older(x, y) {
			return -1
		}
		if older(y, x) {
			return 1
		}
		return 0
	})
	return out
}
