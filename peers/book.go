package peers

import (
	"slices"
	"time"

	"confchat/identity"
	"confchat/netlayer"
)

// Friend is one friend as the front ends see it. Confirmed is false while
// our own request is unanswered.
type Friend struct {
	Key       identity.PublicKey
	Name      string
	Addresses []string
	Nospam    uint32 // the nospam of their ID: as we added them, then as their hellos say
	Confirmed bool
	Online    bool
	Route     netlayer.Route
	AddedAt   time.Time
}

// PendingRequest is a friend request waiting for accept or decline.
// Source is where it came from (see SourceOf); ReceivedAt is when it
// arrived (or was last changed by its sender).
type PendingRequest struct {
	Key        identity.PublicKey
	Request    Request
	Source     Source
	ReceivedAt time.Time
}

// Verdict is what HandleRequest decided about an incoming request.
type Verdict int

// The verdicts of HandleRequest.
const (
	RequestStored      Verdict = iota // new or updated pending request: tell the user
	RequestBadNospam                  // nospam is not ours: ignore silently
	RequestRateLimited                // too many from this source: ignore
	RequestMutual                     // we had asked them too: now friends, send an accept
	RequestFromFriend                 // already a confirmed friend: answer with an accept again
	RequestDuplicate                  // the same request is already pending: nothing to do
)

// Book is the friend list and the pending requests. Not safe for
// concurrent use: the node's owner goroutine holds it.
//
// The pending requests are bounded (MaxPendingRequests, RequestTTL) and
// fair between sources; keys dropped from them (to make room, or aged out)
// are reported by DroppedRequests so the node deletes their rows.
type Book struct {
	friends  map[identity.PublicKey]*Friend
	requests pendingList
	limiter  *Limiter
}

// NewBook returns a book holding friends (as loaded from storage, all
// offline) and pending requests, rate-limiting new requests with limiter.
// Requests beyond MaxPendingRequests are dropped as if they had arrived in
// order (DroppedRequests reports them).
func NewBook(friends []Friend, requests []PendingRequest, limiter *Limiter) *Book {
	b := &Book{
		friends:  map[identity.PublicKey]*Friend{},
		requests: newPendingList(),
		limiter:  limiter,
	}
	for _, f := range friends {
		f.Online, f.Route = false, netlayer.RouteNone
		b.friends[f.Key] = &f
	}
	requests = slices.Clone(requests)
	slices.SortStableFunc(requests, func(x, y PendingRequest) int { return x.ReceivedAt.Compare(y.ReceivedAt) })
	for _, r := range requests {
		b.requests.put(r)
	}
	return b
}

// Friend returns a copy of one friend.
func (b *Book) Friend(key identity.PublicKey) (Friend, bool) {
	f, ok := b.friends[key]
	if !ok {
		return Friend{}, false
	}
	return f.copy(), true
}

func (f *Friend) copy() Friend {
	c := *f
	c.Addresses = slices.Clone(f.Addresses)
	return c
}

// IsFriend reports whether key is a friend, confirmed or not.
func (b *Book) IsFriend(key identity.PublicKey) bool { _, ok := b.friends[key]; return ok }

// Friends returns copies of all friends, in the order they were added.
func (b *Book) Friends() []Friend {
	out := make([]Friend, 0, len(b.friends))
	for _, f := range b.friends {
		out = append(out, f.copy())
	}
	slices.SortFunc(out, func(x, y Friend) int {
		if c := x.AddedAt.Compare(y.AddedAt); c != 0 {
			return c
		}
		return slices.Compare(x.Key[:], y.Key[:])
	})
	return out
}

// Add records a friend we are sending a request to (unconfirmed), or
// updates the addresses and nospam of an existing one. A pending request
// from the same key makes the friendship mutual at once: Add reports true
// and the caller sends an accept instead of a request.
func (b *Book) Add(key identity.PublicKey, nospam uint32, addrs []string, now time.Time) (f Friend, mutual bool) {
	cur, ok := b.friends[key]
	if !ok {
		cur = &Friend{Key: key, AddedAt: now}
		b.friends[key] = cur
	}
	cur.Nospam = nospam
	cur.Addresses = mergeAddrs(addrs, cur.Addresses)
	if r, pending := b.requests.get(key); pending {
		b.requests.remove(key)
		cur.Confirmed = true
		if cur.Name == "" {
			cur.Name = r.Request.Name
		}
		cur.Addresses = mergeAddrs(cur.Addresses, r.Request.Addresses)
		mutual = true
	}
	return cur.copy(), mutual
}

// HandleRequest decides what to do with a friend request from key that
// arrived at now from src, given our current nospam. A stored request may
// displace another (see DroppedRequests).
func (b *Book) HandleRequest(key identity.PublicKey, r Request, src Source, nospam uint32, now time.Time) Verdict {
	if f, ok := b.friends[key]; ok {
		f.Addresses = mergeAddrs(r.Addresses, f.Addresses)
		if r.Name != "" {
			f.Name = r.Name
		}
		if f.Confirmed {
			return RequestFromFriend
		}
		f.Confirmed = true
		return RequestMutual
	}
	if r.Nospam != nospam {
		return RequestBadNospam
	}
	if old, ok := b.requests.get(key); ok && sameRequest(old.Request, r) {
		return RequestDuplicate // a resend (every session start): costs no token
	}
	if !b.limiter.Allow(src, now) {
		return RequestRateLimited
	}
	b.requests.put(PendingRequest{Key: key, Request: r, Source: src, ReceivedAt: now})
	return RequestStored
}

func sameRequest(x, y Request) bool {
	return x.Nospam == y.Nospam && x.Name == y.Name && x.Message == y.Message && slices.Equal(x.Addresses, y.Addresses)
}

// Requests returns the pending requests, oldest first.
func (b *Book) Requests() []PendingRequest { return b.requests.sorted() }

// PendingCount is the number of pending requests.
func (b *Book) PendingCount() int { return len(b.requests.byKey) }

// ExpireRequests drops the requests received RequestTTL or longer before
// now (DroppedRequests reports them).
func (b *Book) ExpireRequests(now time.Time) { b.requests.expire(now) }

// NextRequestExpiry is when ExpireRequests next has work; zero when
// nothing is pending.
func (b *Book) NextRequestExpiry() time.Time { return b.requests.nextExpiry() }

// DroppedRequests returns, and forgets, the keys whose pending requests
// were dropped since the last call: displaced by the cap or aged out. The
// node deletes their rows. A key that asked again since is not listed.
func (b *Book) DroppedRequests() []identity.PublicKey { return b.requests.takeDropped() }

// Accept turns a pending request into a confirmed friend.
func (b *Book) Accept(key identity.PublicKey, now time.Time) (Friend, bool) {
	r, ok := b.requests.get(key)
	if !ok {
		return Friend{}, false
	}
	b.requests.remove(key)
	f := &Friend{Key: key, Name: r.Request.Name, Addresses: mergeAddrs(r.Request.Addresses, nil),
		Confirmed: true, AddedAt: now}
	b.friends[key] = f
	return f.copy(), true
}

// Decline drops a pending request.
func (b *Book) Decline(key identity.PublicKey) bool {
	return b.requests.remove(key)
}

// Remove drops a friend.
func (b *Book) Remove(key identity.PublicKey) bool {
	_, ok := b.friends[key]
	delete(b.friends, key)
	return ok
}

// Confirm marks an unconfirmed friend confirmed (they accepted our
// request) and learns their hello. It reports whether key was a friend.
func (b *Book) Confirm(key identity.PublicKey, h Hello) bool {
	f, ok := b.friends[key]
	if !ok {
		return false
	}
	f.Confirmed = true
	b.learn(f, h)
	return true
}

// Learn records a friend's name and addresses from a hello; it reports
// whether anything changed.
func (b *Book) Learn(key identity.PublicKey, h Hello) bool {
	f, ok := b.friends[key]
	if !ok {
		return false
	}
	return b.learn(f, h)
}

func (b *Book) learn(f *Friend, h Hello) bool {
	addrs := mergeAddrs(h.Addresses, f.Addresses)
	changed := !slices.Equal(addrs, f.Addresses) || (h.Name != "" && h.Name != f.Name) ||
		(h.HasNospam && h.Nospam != f.Nospam)
	f.Addresses = addrs
	if h.Name != "" {
		f.Name = h.Name
	}
	if h.HasNospam { // the friend's own word, over its authenticated session
		f.Nospam = h.Nospam
	}
	return changed
}

// SetOnline records whether a session to a confirmed friend is up, and
// reports whether that changed what the friend list shows.
func (b *Book) SetOnline(key identity.PublicKey, online bool, route netlayer.Route) bool {
	f, ok := b.friends[key]
	if !ok {
		return false
	}
	online = online && f.Confirmed
	if !online {
		route = netlayer.RouteNone
	}
	changed := f.Online != online || f.Route != route
	f.Online, f.Route = online, route
	return changed
}

// mergeAddrs returns first's valid addresses (ValidAddress) followed by
// those of rest not already present, capped at MaxAddresses: the newest
// knowledge first.
func mergeAddrs(first, rest []string) []string {
	out := make([]string, 0, len(first)+len(rest))
	for _, list := range [][]string{first, rest} {
		for _, a := range list {
			if ValidAddress(a) && !slices.Contains(out, a) && len(out) < MaxAddresses {
				out = append(out, a)
			}
		}
	}
	return out
}
