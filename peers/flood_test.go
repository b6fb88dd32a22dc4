package peers

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"confchat/identity"
)

func numberedKey(tag byte, i int) identity.PublicKey {
	var k identity.PublicKey
	k[0] = tag
	binary.BigEndian.PutUint64(k[1:], uint64(i))
	return k
}

// TestDefect10FriendRequestFloodFair simulates a day of friend requests
// with a fake clock: 4 hosts each send a request from a fresh sybil key
// every second, 150 more prefixes one a minute each, and 24 genuine
// people, each from their own network, ask once at a random moment and
// resend every hour (as every reconnect does). Before the fix one global
// bucket made 14,449 sybils pending and 0 of 24 genuine requests got in;
// now every genuine request is stored on arrival, still listed at the end
// of the day and can be accepted, and the list never exceeds its cap.
func TestDefect10FriendRequestFloodFair(t *testing.T) {
	const (
		ours        = 0xC0FFEE
		day         = 24 * time.Hour
		heavyHosts  = 4
		lightHosts  = 150
		genuineSize = 24
	)
	b := NewBook(nil, nil, NewLimiter(5, time.Minute)) // the node's limits
	rng := rand.New(rand.NewPCG(1, 2))
	type person struct {
		key   identity.PublicKey
		src   Source
		first time.Duration
	}
	var genuine []person
	for i := range genuineSize {
		genuine = append(genuine, person{key: numberedKey(0xAA, i),
			src:   SourceOf(fmt.Sprintf("100.64.%d.%d:33445", i, 1+rng.IntN(250))),
			first: time.Duration(rng.Int64N(int64(20 * time.Hour))).Truncate(time.Second)})
	}
	genuineReq := func(i int) Request {
		return Request{Nospam: ours, Name: fmt.Sprint("person ", i), Message: "hi, it's me"}
	}
	heavy := make([]Source, heavyHosts)
	for i := range heavy {
		heavy[i] = SourceOf(fmt.Sprintf("203.0.%d.9:1", 113+i))
	}
	light := make([]Source, lightHosts)
	for i := range light {
		light[i] = SourceOf(fmt.Sprintf("[2001:db8:%x::5]:9", i+1))
	}

	sybil, sybilsStored, maxPending, dropped := 0, 0, 0, 0
	ask := func(k identity.PublicKey, src Source, now time.Time) Verdict {
		return b.HandleRequest(k, Request{Nospam: ours, Message: "spam"}, src, ours, now)
	}
	for sec := time.Duration(0); sec < day; sec += time.Second {
		now := t0.Add(sec)
		for _, src := range heavy {
			sybil++
			if ask(numberedKey(0x55, sybil), src, now) == RequestStored {
				sybilsStored++
			}
		}
		for i := int(sec/time.Second) % 60; i < len(light); i += 60 { // each once a minute
			sybil++
			if ask(numberedKey(0x55, sybil), light[i], now) == RequestStored {
				sybilsStored++
			}
		}
		for i, p := range genuine {
			if sec < p.first || (sec-p.first)%time.Hour != 0 {
				continue
			}
			v := b.HandleRequest(p.key, genuineReq(i), p.src, ours, now)
			if sec == p.first && v != RequestStored {
				t.Fatalf("genuine request %d at %v: verdict %v", i, sec, v)
			}
			if sec > p.first && v != RequestDuplicate {
				t.Fatalf("genuine resend %d at %v: verdict %v", i, sec, v)
			}
		}
		maxPending = max(maxPending, b.PendingCount())
		if sec%time.Minute == 0 { // the node deletes dropped rows as it goes
			dropped += len(b.DroppedRequests())
			b.ExpireRequests(now)
		}
		if b.limiter.Tracked() > maxTrackedSources {
			t.Fatalf("%d sources tracked", b.limiter.Tracked())
		}
	}
	dropped += len(b.DroppedRequests())
	if maxPending > MaxPendingRequests {
		t.Fatalf("pending list reached %d, cap %d", maxPending, MaxPendingRequests)
	}
	pending := b.Requests()
	listed := 0
	for _, p := range genuine {
		if slices.ContainsFunc(pending, func(r PendingRequest) bool { return r.Key == p.key }) {
			listed++
		}
	}
	accepted := 0
	for _, p := range genuine {
		if _, ok := b.Accept(p.key, t0.Add(day)); ok {
			accepted++
		}
	}
	t.Logf("metric defect10_sybil_requests %d count", sybil)
	t.Logf("metric defect10_sybils_stored %d count", sybilsStored)
	t.Logf("metric defect10_pending_max %d count", maxPending)
	t.Logf("metric defect10_dropped %d count", dropped)
	t.Logf("metric defect10_genuine_accepted %d of %d", accepted, genuineSize)
	if listed != genuineSize || accepted != genuineSize {
		t.Fatalf("%d of %d genuine requests listed at the end of the day, %d accepted", listed, genuineSize, accepted)
	}
	if dropped+b.PendingCount() != sybilsStored {
		t.Fatalf("stored %d sybils, %d dropped and %d pending: rows would leak", sybilsStored, dropped, b.PendingCount())
	}
}

func TestPendingCapDropsFromTheBusiestSource(t *testing.T) {
	b := NewBook(nil, nil, NewLimiter(1<<20, time.Nanosecond))
	now := t0
	quiet := SourceOf("192.0.2.1:1")
	b.HandleRequest(key(1), Request{Nospam: 1}, quiet, 1, now)
	busy, other := SourceOf("198.51.100.1:1"), SourceOf("198.51.100.255:2") // one /24
	for i := range 2 * MaxPendingRequests {
		now = now.Add(time.Second)
		s := busy
		if i%2 == 1 {
			s = other
		}
		if v := b.HandleRequest(numberedKey(9, i), Request{Nospam: 1}, s, 1, now); v != RequestStored {
			t.Fatalf("request %d: %v", i, v)
		}
	}
	if b.PendingCount() != MaxPendingRequests {
		t.Fatalf("%d pending", b.PendingCount())
	}
	rs := b.Requests()
	if rs[0].Key != key(1) {
		t.Fatal("the quiet source's request was dropped")
	}
	// The busy source kept its newest requests.
	if last := rs[len(rs)-1].Key; last != numberedKey(9, 2*MaxPendingRequests-1) {
		t.Fatalf("newest request dropped: %x", last[:9])
	}
	d := b.DroppedRequests()
	if len(d) != MaxPendingRequests+1 || d[0] != numberedKey(9, 0) {
		t.Fatalf("%d dropped, first %x", len(d), d[0][:9])
	}
	if len(b.DroppedRequests()) != 0 {
		t.Fatal("DroppedRequests does not drain")
	}
}

func TestPendingRequestsAgeOut(t *testing.T) {
	b := NewBook(nil, nil, NewLimiter(10, time.Minute))
	s := SourceOf("192.0.2.1:1")
	b.HandleRequest(key(1), Request{Nospam: 1}, s, 1, t0)
	b.HandleRequest(key(2), Request{Nospam: 1}, s, 1, t0.Add(time.Hour))
	if got := b.NextRequestExpiry(); !got.Equal(t0.Add(RequestTTL)) {
		t.Fatalf("NextRequestExpiry = %v", got)
	}
	b.ExpireRequests(t0.Add(RequestTTL - time.Second))
	if b.PendingCount() != 2 {
		t.Fatal("expired early")
	}
	b.ExpireRequests(t0.Add(RequestTTL))
	if rs := b.Requests(); len(rs) != 1 || rs[0].Key != key(2) {
		t.Fatalf("after expiry: %v", rs)
	}
	if d := b.DroppedRequests(); len(d) != 1 || d[0] != key(1) {
		t.Fatalf("dropped %v", d)
	}
	// A dropped key that asks again before the node drained is not reported.
	b.ExpireRequests(t0.Add(RequestTTL + time.Hour))
	b.HandleRequest(key(2), Request{Nospam: 1, Message: "again"}, s, 1, t0.Add(RequestTTL+time.Hour))
	if d := b.DroppedRequests(); len(d) != 0 {
		t.Fatalf("re-asked key reported dropped: %v", d)
	}
	if !b.NextRequestExpiry().Equal(t0.Add(2*RequestTTL + time.Hour)) {
		t.Fatalf("NextRequestExpiry = %v", b.NextRequestExpiry())
	}
	b.Decline(key(2))
	if !b.NextRequestExpiry().IsZero() {
		t.Fatal("expiry with nothing pending")
	}
}

func TestNewBookTrimsLoadedRequests(t *testing.T) {
	var loaded []PendingRequest
	for i := range MaxPendingRequests + 10 {
		loaded = append(loaded, PendingRequest{Key: numberedKey(3, i), ReceivedAt: t0.Add(time.Duration(i) * time.Second)})
	}
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(loaded), func(i, j int) { loaded[i], loaded[j] = loaded[j], loaded[i] })
	b := NewBook(nil, loaded, NewLimiter(1, time.Minute))
	if b.PendingCount() != MaxPendingRequests {
		t.Fatalf("%d pending after load", b.PendingCount())
	}
	d := b.DroppedRequests()
	if len(d) != 10 || d[0] != numberedKey(3, 0) {
		t.Fatalf("dropped on load: %d", len(d))
	}
}

func TestSourceOf(t *testing.T) {
	cases := map[string]string{
		"192.0.2.77:33445":              "192.0.2.0/24",
		"192.0.2.1":                     "192.0.2.0/24",
		"[::ffff:192.0.2.9]:1":          "192.0.2.0/24",
		"[2001:db8:1:2:3::9]:4000":      "2001:db8:1::/48",
		"[fe80::1%eth0]:4000":           "fe80::/48",
		"":                              "",
		"example.com:80":                "",
		"relay:abcd@192.0.2.1:4000":     "",
		"not an address at all, really": "",
	}
	for in, want := range cases {
		s := SourceOf(in)
		if s.String() != want || s.Known() != (want != "") {
			t.Errorf("SourceOf(%q) = %q, want %q", in, s, want)
		}
		back, err := ParseSource(s.String())
		if err != nil || back != s {
			t.Errorf("ParseSource(%q) = %v, %v", s, back, err)
		}
	}
	for _, bad := range []string{"192.0.2.1/32", "192.0.2.1/24", "2001:db8::/64", "junk"} {
		if _, err := ParseSource(bad); err == nil {
			t.Errorf("ParseSource(%q) accepted", bad)
		}
	}
}
