package conference

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"

	"confchat/identity"
)

func keyWithPrefix(v uint64, tail byte) identity.PublicKey {
	var k identity.PublicKey
	for i := range 8 {
		k[i] = byte(v >> (56 - 8*i))
	}
	k[31] = tail
	return k
}

func TestGoldenLayouts(t *testing.T) {
	var id ID
	id[0], id[1], id[32] = 0, 0xAA, 0xBB
	mid := "aa" + string(bytes.Repeat([]byte("00"), 30)) + "bb"
	cases := []struct {
		name string
		got  []byte
		want string
	}{
		{"invite", (&InvitePacket{InviterGroup: 0x0102, ID: id}).Encode(), "60000102" + "00" + mid},
		{"accept", (&InviteAcceptPacket{JoinerGroup: 3, InviterGroup: 4, ID: id}).Encode(), "600100030004" + "00" + mid},
		{"member", (&InviteAcceptPacket{JoinerGroup: 3, InviterGroup: 4, ID: id, Member: true, PeerNumber: 0x0506}).Encode(), "600200030004" + "00" + mid + "0506"},
		{"online", (&OnlinePacket{SenderGroup: 7, ID: id}).Encode(), "610007" + "00" + mid},
		{"rejoin", (&RejoinPacket{ID: id}).Encode(), "64" + "00" + mid},
		{"introduced", (&PeerIntroducedPacket{Group: 9}).Encode(), "62000901"},
		{"query", (&PeerQueryPacket{Group: 9}).Encode(), "62000908"},
		{"message", (&MessagePacket{Group: 1, Sender: 2, Number: 3, Kind: KindMessage, Body: []byte{0xEE}, Auth: bytes.Repeat([]byte{0xAA}, 64)}).Encode(), "63000100020000000340ee" + strings.Repeat("aa", 64)},
		{"batch message", (&MessagePacket{Group: 1, Sender: 2, Number: 3, Kind: KindMessage, Body: []byte{0xEE},
			Auth: append(append([]byte{2, 1}, bytes.Repeat([]byte{0xBB}, 32)...), bytes.Repeat([]byte{0xAA}, 64)...)}).Encode(),
			"65000100020000000340" + "0201" + strings.Repeat("bb", 32) + strings.Repeat("aa", 64) + "ee"},
	}
	for _, c := range cases {
		if hex.EncodeToString(c.got) != c.want {
			t.Errorf("%s: got %x want %s", c.name, c.got, c.want)
		}
	}
	if n := len((&InvitePacket{}).Encode()); n != 37 {
		t.Errorf("invite is %d bytes, Tox says 37", n)
	}
	if n := len((&OnlinePacket{}).Encode()); n != 36 {
		t.Errorf("online is %d bytes, Tox says 36", n)
	}
}

func TestPeerResponseChunks(t *testing.T) {
	var entries []PeerEntry
	for i := range 60 {
		entries = append(entries, PeerEntry{Number: uint16(i), Key: keyWithPrefix(uint64(i), 1),
			Addresses: []string{"192.168.100.100:33445"}, Name: "a name of some length"})
	}
	chunks := chunkPeerResponses(5, entries, peerResponseMax)
	if len(chunks) < 2 {
		t.Fatalf("%d chunks", len(chunks))
	}
	var got []PeerEntry
	for _, c := range chunks {
		if len(c)-3 > peerResponseMax {
			t.Fatalf("chunk of %d bytes after the group number", len(c)-3)
		}
		w, err := DecodeDirect(c)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, w.(*PeerResponsePacket).Entries...)
	}
	if len(got) != 60 || got[59].Name != entries[59].Name || got[0].Addresses[0] != entries[0].Addresses[0] {
		t.Fatalf("entries lost in chunking: %d", len(got))
	}
}

// The closest list follows Tox's asymmetric rule: empty slots fill in
// arrival order, then the slot with the largest half-specific distance
// larger than the candidate's is replaced and the displaced key re-added.
func TestClosestListToxRule(t *testing.T) {
	self := keyWithPrefix(1000, 0)
	var l closestList
	for _, v := range []uint64{990, 1010, 995, 1005} {
		l.addKey(self, keyWithPrefix(v, 1))
	}
	l.addKey(self, keyWithPrefix(999, 1)) // below us, closer than 990
	var got []uint64
	for _, s := range l.slots {
		got = append(got, ringValue(s.key))
	}
	// Slot 1 holds 1010, whose *down* distance wraps to almost 2^64: it is
	// evicted for 999; 1010 then evicts 995 from slot 2 (up metric), 995
	// evicts 990 from slot 0, and 990 fits nowhere.
	want := []uint64{995, 999, 1010, 1005}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("slots %v, want %v", got, want)
		}
	}
	l.addKey(self, keyWithPrefix(1001, 1)) // evicts 1010 (up 10) from slot 2
	got = got[:0]
	for _, s := range l.slots {
		got = append(got, ringValue(s.key))
	}
	want = []uint64{995, 999, 1001, 1005}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("after 1001: slots %v, want %v", got, want)
		}
	}
	l.remove(keyWithPrefix(995, 1))
	if l.has(keyWithPrefix(995, 1)) || !l.removed {
		t.Fatal("remove did not vacate the slot")
	}
	l.addKey(self, self)
	if l.has(self) {
		t.Fatal("our own key was added")
	}
}

func TestSeenWindow(t *testing.T) {
	var w seenWindow
	for _, n := range []uint32{5, 3, 2000, 1990} {
		if seen, old := w.check(n); seen || old {
			t.Fatalf("%d reported seen=%v old=%v before marking", n, seen, old)
		}
		w.mark(n)
	}
	if seen, _ := w.check(1990); !seen {
		t.Fatal("1990 not seen")
	}
	if _, old := w.check(5); !old {
		t.Fatal("5 is older than the window")
	}
	if seen, old := w.check(1995); seen || old {
		t.Fatal("1995 was never seen")
	}
}

func TestTitleRegister(t *testing.T) {
	lo, hi := keyWithPrefix(1, 0), keyWithPrefix(2, 0)
	cases := []struct {
		name     string
		cur      *titleState
		stamp    uint64
		origin   identity.PublicKey
		wantWins bool
	}{
		{"first title", &titleState{}, 1, lo, true},
		{"higher stamp", &titleState{has: true, stamp: 3, origin: hi}, 4, lo, true},
		{"late lower stamp", &titleState{has: true, stamp: 3, origin: lo}, 2, hi, false},
		{"equal stamp larger key", &titleState{has: true, stamp: 3, origin: lo}, 3, hi, true},
		{"equal stamp smaller key", &titleState{has: true, stamp: 3, origin: hi}, 3, lo, false},
		{"same title again", &titleState{has: true, stamp: 3, origin: lo}, 3, lo, false},
		{"huge stamp wins (accepted by the trust model)", &titleState{has: true, stamp: 3, origin: hi}, ^uint64(0), lo, true},
	}
	for _, c := range cases {
		if got := c.cur.beats(c.stamp, c.origin); got != c.wantWins {
			t.Errorf("%s: beats=%v", c.name, got)
		}
	}
}

func rec(origin identity.PublicKey, n, prev uint32) *stored {
	body := putU32(nil, prev)
	return &stored{rec: Record{Origin: origin, Number: n, Kind: KindMessage, Body: append(body, 'x')}, hash: [32]byte{byte(n)}}
}

func TestStoreSummary(t *testing.T) {
	s := newStore(DefaultHotWindow)
	k := keyWithPrefix(7, 7)
	for _, r := range []*stored{rec(k, 1, 0), rec(k, 4, 1), rec(k, 9, 6), rec(k, 12, 9)} {
		s.insert(r)
	}
	e := s.entry(k)
	if e.Floor != 1 || e.HWM != 4 || e.Top != 12 {
		t.Fatalf("summary %+v: want floor 1, hwm 4 (6 missing), top 12", e)
	}
	s.insert(rec(k, 6, 4))
	if e := s.entry(k); e.HWM != 12 {
		t.Fatalf("after filling 6: hwm %d, want 12", e.HWM)
	}
	got, _ := s.rangeRecords(k, 5, 10, 256, 1<<20)
	if len(got) != 2 || got[0].Number != 6 || got[1].Number != 9 {
		t.Fatalf("range 5..10: %v", got)
	}
	if r, _ := s.rangeRecords(k, 1, 12, 2, 1<<20); len(r) != 2 {
		t.Fatalf("window cap: %d records", len(r))
	}
}

func TestMessageText(t *testing.T) {
	body := append(putU32(nil, 7), "hello"...)
	if text, action, ok := MessageText(KindAction, body); !ok || !action || text != "hello" {
		t.Fatalf("action: %q %v %v", text, action, ok)
	}
	if text, action, ok := MessageText(KindMessage, body); !ok || action || text != "hello" {
		t.Fatalf("message: %q %v %v", text, action, ok)
	}
	if _, _, ok := MessageText(KindName, body); ok {
		t.Fatal("a NAME has no chat text")
	}
	if text, _, ok := MessageText(KindMessage, []byte{1}); !ok || text != "" {
		t.Fatal("short body must not panic and has no text")
	}
}

// TestStoreSummaryIncremental: the summary kept incrementally over random
// inserts (in and out of order), floor raises and pruning equals the one
// rebuilt from scratch, and evicted bodies keep their slots.
func TestStoreSummaryIncremental(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 200 {
		s := newStore(8)
		k := keyWithPrefix(7, byte(round))
		var nums []uint32
		for n := uint32(1); n < 80; n++ {
			if r.IntN(4) != 0 { // else a number never stored (a ping)
				nums = append(nums, n)
			}
		}
		links := map[uint32]uint32{}
		for i, n := range nums {
			if i > 0 {
				links[n] = nums[i-1]
			}
		}
		r.Shuffle(len(nums), func(i, j int) {
			if r.IntN(3) == 0 { // mostly in order
				nums[i], nums[j] = nums[j], nums[i]
			}
		})
		for _, n := range nums {
			st := rec(k, n, links[n])
			st.hash = [32]byte{byte(n), byte(n >> 8), 9, byte(round)}
			st.shown = true
			s.insert(st)
			switch r.IntN(10) {
			case 0:
				o := s.origin(k)
				f := o.floor + uint32(r.IntN(6))
				o.setFloor(f, true)
				s.removeUpTo(o, f-1, func(uint32) bool { return false })
			case 1:
				s.evict()
			}
			got := s.entry(k)
			o := s.origins[k]
			o.rebuild()
			if want := o.summary; got != want {
				t.Fatalf("round %d after %d: incremental %+v, rebuilt %+v", round, n, got, want)
			}
		}
		for _, sl := range s.origins[k].slots {
			if !s.has(k, sl.num) {
				t.Fatalf("slot %d lost", sl.num)
			}
		}
	}
}
