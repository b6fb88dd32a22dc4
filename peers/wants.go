package peers

import (
	"slices"
	"time"

	"confchat/identity"
)

// WantKind is why the node wants a session to a key.
type WantKind uint8

// The reasons for keeping a session open.
const (
	WantFriend     WantKind = iota + 1 // a confirmed friend
	WantRequest                        // delivering our friend request or acceptance
	WantConference                     // a conference's closest peer or introducer
	WantRejoin                         // a temporary connection to rejoin a frozen peer
)

func (k WantKind) String() string {
	switch k {
	case WantFriend:
		return "friend"
	case WantRequest:
		return "request"
	case WantConference:
		return "conference"
	case WantRejoin:
		return "rejoin"
	}
	return "unknown"
}

// Want is one reason; Conference is set for WantConference and WantRejoin.
type Want struct {
	Kind       WantKind
	Conference [33]byte
}

// Wants is the set of sessions the node wants open and why. A key is
// wanted while it has at least one reason; a reason may expire. Not safe
// for concurrent use.
type Wants struct {
	m map[identity.PublicKey]map[Want]time.Time // zero time: no expiry
}

// NewWants returns an empty set.
func NewWants() *Wants { return &Wants{m: map[identity.PublicKey]map[Want]time.Time{}} }

// Add records a reason to keep a session to key until the given time (zero
// for as long as it is not removed). A later expiry, or none, extends an
// existing reason. It reports whether key was not wanted before.
func (w *Wants) Add(key identity.PublicKey, r Want, until time.Time) (added bool) {
	rs, ok := w.m[key]
	if !ok {
		rs = map[Want]time.Time{}
		w.m[key] = rs
	}
	old, had := rs[r]
	switch {
	case !had, !old.IsZero() && (until.IsZero() || until.After(old)):
		rs[r] = until
	}
	return !ok
}

// Remove drops one reason and reports whether key is no longer wanted.
func (w *Wants) Remove(key identity.PublicKey, r Want) (unwanted bool) {
	rs, ok := w.m[key]
	if !ok {
		return false
	}
	delete(rs, r)
	if len(rs) == 0 {
		delete(w.m, key)
		return true
	}
	return false
}

// RemoveConference drops every reason that names conference and returns
// the keys that are no longer wanted at all, sorted.
func (w *Wants) RemoveConference(conference [33]byte) []identity.PublicKey {
	return w.drop(func(r Want, _ time.Time) bool {
		return (r.Kind == WantConference || r.Kind == WantRejoin) && r.Conference == conference
	})
}

// Expire drops reasons whose time has come and returns the keys that are
// no longer wanted, sorted.
func (w *Wants) Expire(now time.Time) []identity.PublicKey {
	return w.drop(func(_ Want, until time.Time) bool {
		return !until.IsZero() && !now.Before(until)
	})
}

// drop removes every reason for which match is true and returns the keys
// left without any reason, sorted.
func (w *Wants) drop(match func(Want, time.Time) bool) []identity.PublicKey {
	var out []identity.PublicKey
	for key, rs := range w.m {
		for r, until := range rs {
			if match(r, until) {
				delete(rs, r)
			}
		}
		if len(rs) == 0 {
			delete(w.m, key)
			out = append(out, key)
		}
	}
	sortKeys(out)
	return out
}

// NextExpiry returns the earliest expiry, or the zero time if none.
func (w *Wants) NextExpiry() time.Time {
	var next time.Time
	for _, rs := range w.m {
		for _, until := range rs {
			if !until.IsZero() && (next.IsZero() || until.Before(next)) {
				next = until
			}
		}
	}
	return next
}

// Wanted reports whether key has any reason.
func (w *Wants) Wanted(key identity.PublicKey) bool { return len(w.m[key]) > 0 }

// Has reports whether key has reason r.
func (w *Wants) Has(key identity.PublicKey, r Want) bool {
	_, ok := w.m[key][r]
	return ok
}

// Reasons returns key's reasons, ordered by kind.
func (w *Wants) Reasons(key identity.PublicKey) []Want {
	var out []Want
	for r := range w.m[key] {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Want) int {
		if a.Kind != b.Kind {
			return int(a.Kind) - int(b.Kind)
		}
		return slices.Compare(a.Conference[:], b.Conference[:])
	})
	return out
}

// Keys returns every wanted key, sorted.
func (w *Wants) Keys() []identity.PublicKey {
	out := make([]identity.PublicKey, 0, len(w.m))
	for k := range w.m {
		out = append(out, k)
	}
	sortKeys(out)
	return out
}

func sortKeys(ks []identity.PublicKey) {
	slices.SortFunc(ks, func(a, b identity.PublicKey) int { return slices.Compare(a[:], b[:]) })
}
