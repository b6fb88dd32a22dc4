package conference_test

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"confchat/conference"
	"confchat/conference/simnet"
	"confchat/identity"
)

// ownRows returns the numbers of MessageRows of origin in r.
func ownRows(r conference.Ready, origin identity.PublicKey) []conference.MessageRow {
	var out []conference.MessageRow
	for _, row := range r.Rows {
		if m, ok := row.(conference.MessageRow); ok && m.Origin == origin {
			out = append(out, m)
		}
	}
	return out
}

// floodedNumbers returns the numbers of flooded messages sent as sender.
func floodedNumbers(r conference.Ready, sender uint16) []uint32 {
	var out []uint32
	for _, p := range r.Packets {
		if len(p.Data) == 0 || p.Data[0] != conference.PacketMessage && p.Data[0] != conference.PacketMessageBatch {
			continue
		}
		if m, err := conference.DecodeMessage(p.Data); err == nil && m.Sender == sender {
			out = append(out, m.Number)
		}
	}
	return out
}

func ownTexts(r conference.Ready) []string {
	var out []string
	for _, ev := range r.Events {
		if m, ok := ev.(conference.MessageReceived); ok && m.Own {
			out = append(out, m.Text)
		}
	}
	return out
}

func holds(e *conference.Engine, origin identity.PublicKey, n uint32) bool {
	for _, m := range e.MessageSet() {
		if m.Origin == origin && m.Number == n {
			return true
		}
	}
	return false
}

// C1: Ready hands out the pending outputs without clearing them.
func TestReadyDoesNotClear(t *testing.T) {
	net, nodes := buildChain(t, 41, 2, 10*time.Second)
	a := nodes[0]
	e := a.Engine
	if err := e.SendMessage(net.Now(), "one"); err != nil {
		t.Fatal(err)
	}
	r1 := e.Ready()
	r2 := e.Ready()
	if len(ownRows(r1, a.Key())) != 1 || len(floodedNumbers(r1, e.SelfNumber())) != 1 || !slices.Equal(ownTexts(r1), []string{"one"}) {
		t.Fatalf("first Ready: %d rows, %d packets, events %v", len(r1.Rows), len(r1.Packets), ownTexts(r1))
	}
	if !reflect.DeepEqual(r1, r2) || !e.HasReady() {
		t.Fatalf("a second Ready differs (%d/%d rows, %d/%d packets) or HasReady is %v",
			len(r1.Rows), len(r2.Rows), len(r1.Packets), len(r2.Packets), e.HasReady())
	}
	n := ownRows(r1, a.Key())[0].Number
	if holds(e, a.Key(), n) {
		t.Fatal("an own message is in the store before Advance")
	}
	e.Advance()
	if e.HasReady() || !holds(e, a.Key(), n) {
		t.Fatalf("after Advance: HasReady %v, stored %v", e.HasReady(), holds(e, a.Key(), n))
	}
}

// C1: Advance clears exactly what the last Ready returned.
func TestAdvanceClearsExactlyWhatReadyReturned(t *testing.T) {
	net, nodes := buildChain(t, 42, 2, 10*time.Second)
	a := nodes[0]
	e := a.Engine
	_ = e.SendMessage(net.Now(), "one")
	r1 := e.Ready()
	_ = e.SendMessage(net.Now(), "two")
	e.Advance()
	r2 := e.Ready()
	rows1, rows2 := ownRows(r1, a.Key()), ownRows(r2, a.Key())
	if len(rows1) != 1 || len(rows2) != 1 || !slices.Equal(ownTexts(r2), []string{"two"}) {
		t.Fatalf("after Advance: rows %v, texts %v", rows2, ownTexts(r2))
	}
	if got := floodedNumbers(r2, e.SelfNumber()); !slices.Equal(got, []uint32{rows2[0].Number}) {
		t.Fatalf("packets after Advance carry numbers %v, want only %d", got, rows2[0].Number)
	}
	if !holds(e, a.Key(), rows1[0].Number) || holds(e, a.Key(), rows2[0].Number) {
		t.Fatal("the advanced message must be stored, the later one not yet")
	}
	e.Advance()
	if e.HasReady() || !holds(e, a.Key(), rows2[0].Number) {
		t.Fatal("the second Advance did not complete the second send")
	}
}

// C1: Abort undoes own sends, title and name since the last Advance; other
// outputs survive; the burned numbers are never reused.
func TestAbortUndoesOwnActions(t *testing.T) {
	net, nodes := buildChain(t, 43, 2, 10*time.Second)
	a, b := nodes[0], nodes[1]
	e := a.Engine
	now := net.Now()
	title, name := e.Title(), e.Name(a.Key())
	_ = e.SendMessage(now, "lost 1")
	_ = e.SetTitle(now, "lost title")
	_ = e.SetName(now, "lost name")
	_ = e.SendAction(now, "lost 2")
	// Outputs that are not own user actions: a Peer Response, a NEW_PEER.
	if err := e.HandlePacket(now, b.Key(), (&conference.PeerQueryPacket{Group: a.GroupNumber()}).Encode()); err != nil {
		t.Fatal(err)
	}
	e.SetAddresses(now, []string{"10.9.9.9:1"})
	e.Tick(now)
	before := e.Ready()
	burned := ownRows(before, a.Key())
	if len(burned) != 4 {
		t.Fatalf("%d own rows before Abort", len(burned))
	}
	e.Abort()
	after := e.Ready()
	if rows := ownRows(after, a.Key()); len(rows) != 0 {
		t.Fatalf("Abort left %d own message rows", len(rows))
	}
	for _, n := range floodedNumbers(after, e.SelfNumber()) {
		for _, r := range burned {
			if n == r.Number {
				t.Fatalf("a packet of aborted message %d is still pending", n)
			}
		}
	}
	for _, ev := range after.Events {
		switch ev.(type) {
		case conference.MessageReceived, conference.TitleChanged, conference.NameChanged:
			t.Fatalf("Abort left event %#v", ev)
		}
	}
	var response, announce bool
	for _, p := range after.Packets {
		if len(p.Data) > 3 && p.Data[0] == 0x62 && p.Data[3] == 0x09 {
			response = true
		}
	}
	announce = len(floodedNumbers(after, e.SelfNumber())) > 0
	if !response || !announce {
		t.Fatalf("other outputs lost by Abort: peer response %v, announcement %v", response, announce)
	}
	if e.Title() != title || e.Name(a.Key()) != name {
		t.Fatalf("title %q name %q after Abort, want %q %q", e.Title(), e.Name(a.Key()), title, name)
	}
	highest := burned[len(burned)-1].Number
	if e.NextNumber() <= highest {
		t.Fatalf("next number %d would reuse burned %d", e.NextNumber(), highest)
	}
	_ = e.SendMessage(now, "kept")
	kept := ownRows(e.Ready(), a.Key())
	if len(kept) != 1 || kept[0].Number <= highest || kept[0].Prev != burned[0].Prev {
		t.Fatalf("kept message %+v: want a number above %d and prev %d", kept, highest, burned[0].Prev)
	}
	a.Drain()
	net.Run(3 * time.Second)
	if got := b.Texts(); !slices.Equal(got, []string{"kept"}) {
		t.Fatalf("peer received %q", got)
	}
	for _, r := range burned {
		if holds(b.Engine, a.Key(), r.Number) || holds(a.Engine, a.Key(), r.Number) {
			t.Fatalf("aborted message %d is stored somewhere", r.Number)
		}
	}
	if b.Engine.Title() != title || b.Engine.Name(a.Key()) != name {
		t.Fatalf("peer sees title %q name %q", b.Engine.Title(), b.Engine.Name(a.Key()))
	}
}

// C1: two sends before one Advance chain their numbers and prev, and the
// receiver shows both at once, in order.
func TestTwoSendsBeforeOneAdvanceChain(t *testing.T) {
	net, nodes := buildChain(t, 44, 2, 10*time.Second)
	a, b := nodes[0], nodes[1]
	e := a.Engine
	_ = e.SendMessage(net.Now(), "first")
	_ = e.SendMessage(net.Now(), "second")
	rows := ownRows(e.Ready(), a.Key())
	if len(rows) != 2 || rows[1].Number != rows[0].Number+1 || rows[1].Prev != rows[0].Number {
		t.Fatalf("rows %+v: want consecutive numbers chained by prev", rows)
	}
	a.Drain()
	if !net.RunUntil(time.Second, func() bool { return len(b.Received) == 2 }) {
		t.Fatalf("peer received %q", b.Texts())
	}
	if !slices.Equal(b.Texts(), []string{"first", "second"}) || b.Received[0].Late || b.Received[1].Late {
		t.Fatalf("peer received %+v", b.Received)
	}
}

// C1: while more than MaxPendingOutputs await Advance, HandlePacket refuses
// input and changes nothing.
func TestBackpressureRefusesInput(t *testing.T) {
	net, nodes := buildChain(t, 45, 2, 10*time.Second)
	a, b := nodes[0], nodes[1]
	net.Run(6 * time.Second) // b's self-sync is over: its sends go out at once
	e := a.Engine
	now := net.Now()
	_ = b.Engine.SendMessage(now, "from b")
	var msg []byte
	for _, p := range b.Engine.Ready().Packets {
		if p.To == a.Key() && (p.Data[0] == conference.PacketMessage || p.Data[0] == conference.PacketMessageBatch) {
			msg = p.Data
		}
	}
	b.Engine.Advance()
	if msg == nil {
		t.Fatal("no message packet from b")
	}
	query := (&conference.PeerQueryPacket{Group: a.GroupNumber()}).Encode()
	var err error
	i := 0
	for ; i < 2*conference.MaxPendingOutputs && err == nil; i++ {
		err = e.HandlePacket(now, b.Key(), query)
	}
	if !errors.Is(err, conference.ErrBackpressure) {
		t.Fatalf("after %d queries: %v", i, err)
	}
	pending := e.Ready()
	stored := len(e.MessageSet())
	if err := e.HandlePacket(now, b.Key(), msg); !errors.Is(err, conference.ErrBackpressure) {
		t.Fatalf("message under backpressure: %v", err)
	}
	if again := e.Ready(); !reflect.DeepEqual(again, pending) || len(e.MessageSet()) != stored {
		t.Fatal("a refused packet changed the state")
	}
	e.Advance()
	if err := e.HandlePacket(now, b.Key(), msg); err != nil || len(e.MessageSet()) != stored+1 {
		t.Fatalf("after Advance: %v, %d stored", err, len(e.MessageSet()))
	}
}

// A failing disk: the send is undone and never reaches anyone; later sends
// continue past its number.
func TestFailingDiskSendsNothing(t *testing.T) {
	net, nodes := buildChain(t, 46, 3, 10*time.Second)
	a := nodes[0]
	a.FailWrites = true
	_ = a.Send("doomed")
	net.Run(2 * time.Second)
	a.FailWrites = false
	_ = a.Send("after")
	net.Run(3 * time.Second)
	if a.Aborts == 0 {
		t.Fatal("the failing disk was never hit")
	}
	for _, x := range nodes[1:] {
		if got := x.Texts(); !slices.Equal(got, []string{"after"}) {
			t.Fatalf("%s received %q", x.Label, got)
		}
	}
	if got := a.Texts(); !slices.Equal(got, []string{"after"}) {
		t.Fatalf("sender showed %q", got)
	}
}

func deliveredEvents(x *simnet.Node) []uint32 {
	var out []uint32
	for _, ev := range x.Events {
		if d, ok := ev.(conference.Delivered); ok {
			out = append(out, d.UpTo)
		}
	}
	return out
}

// C2: the HOLDING a member sends once it stored our message tells us it
// holds it (no echo of the message, no summary needed); the mark is
// persisted and restored.
func TestDeliveredFromHolding(t *testing.T) {
	net, nodes := buildChain(t, 47, 2, 10*time.Second)
	a, b := nodes[0], nodes[1]
	net.Run(2 * time.Second)
	earlier := a.Engine.Delivered()
	summaries, holdings, echoes := 0, 0, 0
	net.SetTap(func(from, to *simnet.Node, data []byte) {
		if from != b || len(data) < 4 {
			return
		}
		switch {
		case data[0] == 0x62 && data[3] == 0x20:
			summaries++
		case data[0] == 0x62 && data[3] == 0x29:
			holdings++
		case data[0] == conference.PacketMessage || data[0] == conference.PacketMessageBatch:
			if m, err := conference.DecodeMessage(data); err == nil && m.Kind == conference.KindMessage {
				echoes++
			}
		}
	})
	_ = a.Send("x")
	n := a.Received[len(a.Received)-1].Number
	net.Run(500 * time.Millisecond)
	net.SetTap(nil)
	if got := deliveredEvents(a); len(got) == 0 || got[len(got)-1] != n || summaries != 0 || earlier >= n {
		t.Fatalf("delivered events %v (want up to %d, from %d) with %d summaries", got, n, earlier, summaries)
	}
	if holdings != 1 || echoes != 0 {
		t.Fatalf("b sent %d HOLDINGs and %d copies of the message back; want 1 and 0", holdings, echoes)
	}
	if a.Engine.Delivered() != n || a.DB.Meta().Delivered != n {
		t.Fatalf("engine %d, persisted %d, want %d", a.Engine.Delivered(), a.DB.Meta().Delivered, n)
	}
	a.Kill()
	if err := a.Restart(); err != nil {
		t.Fatal(err)
	}
	if a.Engine.Delivered() != n {
		t.Fatalf("restored delivered %d, want %d", a.Engine.Delivered(), n)
	}
}

// C2: a message that reaches another member only by history sync is
// reported delivered from that member's summary.
func TestDeliveredFromSummary(t *testing.T) {
	net, nodes := buildChain(t, 48, 2, 10*time.Second)
	a, b := nodes[0], nodes[1]
	net.Partition([]*simnet.Node{a}, []*simnet.Node{b})
	net.Run(time.Second)
	_ = a.Send("while apart")
	n := a.Received[len(a.Received)-1].Number
	before := len(deliveredEvents(a))
	net.Heal()
	if !net.RunUntil(30*time.Second, func() bool { return a.Engine.Delivered() >= n }) {
		t.Fatalf("delivered %d, want %d; peer holds it: %v", a.Engine.Delivered(), n, holds(b.Engine, a.Key(), n))
	}
	if len(b.Received) == 0 || !b.Received[len(b.Received)-1].Late {
		t.Fatal("the message should have arrived by history sync")
	}
	if got := deliveredEvents(a)[before:]; len(got) == 0 || got[len(got)-1] < n {
		t.Fatalf("delivered events %v", got)
	}
}
