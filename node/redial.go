package node

import (
	"slices"
	"time"

	"confchat/identity"
)

// redial is the backoff of a wanted peer whose session closed for a
// fatal reason.
type redial struct {
	at    time.Time
	delay time.Duration
	addrs []string // what we knew when it closed
}

// scheduleRedial backs off the next attempt to a wanted peer after a
// fatal close: a forged or passing refusal must not cut it off for good,
// and a real one must not be hammered.
func (n *Node) scheduleRedial(now time.Time, key identity.PublicKey) {
	r := n.redials[key]
	if r == nil {
		r = &redial{}
		n.redials[key] = r
	}
	r.delay = min(max(2*r.delay, minRedialBackoff), maxRedialBackoff)
	r.at = now.Add(r.delay)
	r.addrs = n.knownAddrs(key)
}

// holdRedial reports whether an open of key must wait for its backoff:
// true unless addrs holds an address not known at the fatal close.
func (n *Node) holdRedial(key identity.PublicKey, addrs []string) bool {
	r := n.redials[key]
	if r == nil {
		return false
	}
	for _, a := range addrs {
		if !slices.Contains(r.addrs, a) {
			r.at = time.Time{} // new addresses: try now, keep the delay for next time
			return false
		}
	}
	return !r.at.IsZero()
}

// dueRedials reopens wanted peers whose backoff ended.
func (n *Node) dueRedials(now time.Time) {
	for key, r := range n.redials {
		if r.at.IsZero() || now.Before(r.at) {
			continue
		}
		r.at = time.Time{}
		if !n.wants.Wanted(key) {
			delete(n.redials, key)
			continue
		}
		n.openSession(key, nil)
	}
}

// nextRedial is the earliest pending redial (zero: none).
func (n *Node) nextRedial() time.Time {
	var next time.Time
	for _, r := range n.redials {
		if !r.at.IsZero() && (next.IsZero() || r.at.Before(next)) {
			next = r.at
		}
	}
	return next
}
