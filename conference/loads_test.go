package conference

import (
	"testing"
	"time"
)

// TestLoadsKeepBatchOrder: a request whose records left memory becomes a
// Load; a later request on the same link waits behind it (batches answer
// requests in order); Loaded answers queue the batches in that order, and
// records the store does not hold are left out.
func TestLoadsKeepBatchOrder(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e, err := Create(Config{Self: fuzzKey(9), GroupNumber: 1, JoinHistory: 4, HotWindow: 8}, now)
	if err != nil {
		t.Fatal(err)
	}
	peer := fuzzKey(1).Public()
	e.SessionUp(now, peer)
	c := e.addConn(peer, reasonClosest)
	c.online, c.remoteGroup = true, 7
	e.addPeer(peer, 100, nil, true)
	e.sync.linkUp(e, c)
	origin := fuzzKey(2).Public()
	var recs []Record
	for n := uint32(1); n <= 20; n++ {
		rec := Record{Origin: origin, Number: n, Kind: KindMessage, Body: append(putU32(nil, n-1), 'm'),
			Signature: make([]byte, 64)}
		now = now.Add(time.Millisecond)
		e.now = now
		if !e.acceptRecord(rec, true) {
			t.Fatalf("record %d not stored", n)
		}
		recs = append(recs, rec)
	}
	if got := len(e.store.origins[origin].hot); got > 8 {
		t.Fatalf("%d bodies in memory, hot window 8", got)
	}
	if sum := e.store.entry(origin); sum.HWM != 20 || sum.Top != 20 {
		t.Fatalf("summary %+v", sum)
	}
	e.Ready()
	e.Advance()
	e.serveRequest(e.sync.links[peer], &RequestPacket{Entries: []RequestEntry{
		{Origin: origin, From: 1, To: 5},   // bodies on disk only
		{Origin: origin, From: 19, To: 20}, // in memory, but must come second
	}})
	r := e.Ready()
	if len(r.Loads) != 2 || r.Loads[0].From != 1 || r.Loads[1].From != 19 {
		t.Fatalf("loads %+v", r.Loads)
	}
	for _, p := range r.Packets {
		if w, _ := DecodePacket(p.Data); w != nil {
			if _, ok := w.(*BatchPacket); ok {
				t.Fatal("a batch went out before its load was answered")
			}
		}
	}
	e.Advance()
	forged := recs[2]
	forged.Body = append(putU32(nil, 2), 'X') // not what the store holds
	e.Loaded(now, r.Loads[0], []Record{recs[0], recs[1], forged, recs[3], recs[4]})
	e.Loaded(now, r.Loads[1], []Record{recs[18], recs[19]})
	var batches [][]Record
	for _, p := range e.Ready().Packets {
		w, err := DecodePacket(p.Data)
		if err != nil {
			t.Fatal(err)
		}
		if b, ok := w.(*BatchPacket); ok {
			batches = append(batches, b.Records)
		}
	}
	if len(batches) != 2 || len(batches[0]) != 4 || batches[0][0].Number != 1 || batches[0][2].Number != 4 ||
		len(batches[1]) != 2 || batches[1][0].Number != 19 {
		t.Fatalf("batches %v", batches)
	}
	if l := e.sync.links[peer]; l.loading != 0 {
		t.Fatalf("%d loads still counted", l.loading)
	}
}
