package peers

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"confchat/identity"
	"confchat/netlayer"
)

var t0 = time.Unix(1_700_000_000, 0)

func key(b byte) identity.PublicKey { return identity.PublicKey{b} }

func src(i int) Source { return SourceOf(fmt.Sprintf("10.%d.%d.7:4000", i>>8&0xff, i&0xff)) }

func TestLimiterPerSource(t *testing.T) {
	l := NewLimiter(2, time.Second)
	if !l.Allow(src(1), t0) || !l.Allow(src(1), t0) {
		t.Fatal("burst refused")
	}
	if l.Allow(src(1), t0) {
		t.Fatal("third request in burst allowed")
	}
	// Another address in the same /24 is the same source.
	if l.Allow(SourceOf("10.0.1.200:1"), t0) {
		t.Fatal("same prefix, other host, not limited")
	}
	if !l.Allow(src(2), t0) {
		t.Fatal("another source limited by the first")
	}
	if !l.Allow(src(1), t0.Add(time.Second)) {
		t.Fatal("no refill after the interval")
	}
	// No shared budget: 1000 fresh sources in one instant all get their burst.
	for i := range 1000 {
		if !l.Allow(src(1000+i), t0.Add(time.Second)) {
			t.Fatalf("fresh source %d refused", i)
		}
	}
}

func TestLimiterBoundsMemory(t *testing.T) {
	l := NewLimiter(1, time.Hour)
	now := t0
	for i := range 3 * maxTrackedSources {
		now = now.Add(time.Millisecond)
		if !l.Allow(src(i), now) {
			t.Fatalf("new source %d refused with a full table", i)
		}
		if l.Tracked() > maxTrackedSources {
			t.Fatalf("%d sources tracked", l.Tracked())
		}
	}
	// The most recent sources are still remembered (and limited).
	if l.Allow(src(3*maxTrackedSources-1), now) {
		t.Fatal("the newest source was forgotten")
	}
}

func TestWants(t *testing.T) {
	w := NewWants()
	conf := [33]byte{1}
	if !w.Add(key(1), Want{Kind: WantFriend}, time.Time{}) {
		t.Fatal("first reason did not report added")
	}
	if w.Add(key(1), Want{Kind: WantConference, Conference: conf}, time.Time{}) {
		t.Fatal("second reason reported added")
	}
	w.Add(key(2), Want{Kind: WantRejoin, Conference: conf}, t0.Add(time.Minute))
	w.Add(key(2), Want{Kind: WantRejoin, Conference: conf}, t0.Add(30*time.Second)) // earlier: ignored
	if got := w.NextExpiry(); !got.Equal(t0.Add(time.Minute)) {
		t.Fatalf("NextExpiry = %v", got)
	}
	if got := w.Expire(t0.Add(59 * time.Second)); len(got) != 0 {
		t.Fatalf("expired early: %v", got)
	}
	if got := w.Expire(t0.Add(time.Minute)); !reflect.DeepEqual(got, []identity.PublicKey{key(2)}) {
		t.Fatalf("Expire = %v", got)
	}
	w.Add(key(3), Want{Kind: WantConference, Conference: conf}, time.Time{})
	if got := w.RemoveConference(conf); !reflect.DeepEqual(got, []identity.PublicKey{key(3)}) {
		t.Fatalf("RemoveConference = %v", got)
	}
	if !w.Wanted(key(1)) || w.Has(key(1), Want{Kind: WantConference, Conference: conf}) {
		t.Fatal("friend reason lost or conference reason kept")
	}
	if !w.Remove(key(1), Want{Kind: WantFriend}) || w.Wanted(key(1)) || len(w.Keys()) != 0 {
		t.Fatal("Remove did not drop the last reason")
	}
}

func TestBookRequestVerdicts(t *testing.T) {
	b := NewBook(nil, nil, NewLimiter(3, time.Minute))
	const ours = 77
	if v := b.HandleRequest(key(1), Request{Nospam: 76, Message: "hi"}, src(1), ours, t0); v != RequestBadNospam {
		t.Fatalf("stale nospam: %v", v)
	}
	if len(b.Requests()) != 0 {
		t.Fatal("stale request stored")
	}
	if v := b.HandleRequest(key(1), Request{Nospam: ours, Message: "hi", Name: "one"}, src(1), ours, t0); v != RequestStored {
		t.Fatalf("good request: %v", v)
	}
	if v := b.HandleRequest(key(1), Request{Nospam: ours, Message: "hi", Name: "one"}, src(1), ours, t0); v != RequestDuplicate {
		t.Fatalf("resent request: %v", v)
	}
	for i := range 2 {
		b.HandleRequest(key(1), Request{Nospam: ours, Name: "one", Message: fmt.Sprint(i)}, src(1), ours, t0)
	}
	if v := b.HandleRequest(key(1), Request{Nospam: ours}, src(1), ours, t0); v != RequestRateLimited {
		t.Fatalf("flood: %v", v)
	}
	f, ok := b.Accept(key(1), t0)
	if !ok || !f.Confirmed || f.Name != "one" || len(b.Requests()) != 0 {
		t.Fatalf("Accept = %+v %v", f, ok)
	}
	if v := b.HandleRequest(key(1), Request{Nospam: 1}, src(1), ours, t0); v != RequestFromFriend {
		t.Fatalf("request from friend: %v", v)
	}

	// We asked key(2); their own request makes it mutual even with a stale nospam.
	b.Add(key(2), 5, []string{"h:1"}, t0)
	if v := b.HandleRequest(key(2), Request{Nospam: 0}, src(2), ours, t0); v != RequestMutual {
		t.Fatalf("crossing requests: %v", v)
	}
	if f, _ := b.Friend(key(2)); !f.Confirmed {
		t.Fatal("mutual request not confirmed")
	}

	// They asked first; our Add makes it mutual.
	b.HandleRequest(key(3), Request{Nospam: ours, Addresses: []string{"x:1"}}, src(3), ours, t0)
	f, mutual := b.Add(key(3), 0, []string{"y:2"}, t0)
	if !mutual || !f.Confirmed || !reflect.DeepEqual(f.Addresses, []string{"y:2", "x:1"}) {
		t.Fatalf("Add after request: %+v mutual=%v", f, mutual)
	}
}

func TestBookOnlineAndCopies(t *testing.T) {
	b := NewBook([]Friend{{Key: key(1), Confirmed: true, Online: true, Addresses: []string{"a:1"}}}, nil, NewLimiter(1, time.Second))
	if f, _ := b.Friend(key(1)); f.Online {
		t.Fatal("loaded friend starts online")
	}
	if !b.SetOnline(key(1), true, netlayer.RouteDirect) || b.SetOnline(key(1), true, netlayer.RouteDirect) {
		t.Fatal("SetOnline change reporting wrong")
	}
	list := b.Friends()
	list[0].Addresses[0] = "changed"
	if f, _ := b.Friend(key(1)); f.Addresses[0] != "a:1" {
		t.Fatal("Friends returned shared slices")
	}
	b.Add(key(2), 0, nil, t0)
	if b.SetOnline(key(2), true, netlayer.RouteDirect) {
		t.Fatal("unconfirmed friend shown online")
	}
	if !b.Learn(key(1), Hello{Name: "n", Addresses: []string{"b:2"}}) {
		t.Fatal("Learn reported no change")
	}
	if f, _ := b.Friend(key(1)); f.Name != "n" || f.Addresses[0] != "b:2" {
		t.Fatalf("after Learn: %+v", f)
	}
	if !b.Remove(key(1)) || b.IsFriend(key(1)) {
		t.Fatal("Remove")
	}
}

func TestHelloUpdatesFriendNospam(t *testing.T) {
	b := NewBook([]Friend{{Key: key(1), Confirmed: true, Nospam: 5}}, nil, NewLimiter(1, time.Second))
	if b.Learn(key(1), Hello{}) {
		t.Fatal("an empty hello changed something")
	}
	if !b.Learn(key(1), Hello{Nospam: 9, HasNospam: true}) {
		t.Fatal("a new nospam reported no change")
	}
	if f, _ := b.Friend(key(1)); f.Nospam != 9 {
		t.Fatalf("nospam %d", f.Nospam)
	}
	if b.Learn(key(1), Hello{Nospam: 9, HasNospam: true}) {
		t.Fatal("the same nospam reported a change")
	}
}
