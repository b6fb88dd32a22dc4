package node

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestFrontEndStatePersists(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "p")
	n := openNode(t, dir, "x")
	id, err := n.CreateConference(ctx, "tea")
	if err != nil {
		t.Fatal(err)
	}
	first, err := n.SendMessage(ctx, id, "Hello World", false)
	if err != nil || first.Number == 0 || first.Seq == 0 || first.Time.IsZero() {
		t.Fatalf("first send = %+v, %v", first, err)
	}
	second, err := n.SendMessage(ctx, id, "100% sure", true)
	// Numbers grow; they need not be consecutive: the engine's own pings
	// (every FreezeAfter/3) and announcements take numbers too.
	if err != nil || second.Number <= first.Number || second.Seq <= first.Seq {
		t.Fatalf("second send = %+v after %+v, %v", second, first, err)
	}
	hist, err := n.History(ctx, id, 10, 0)
	if err != nil || len(hist) != 2 || hist[0].Seq != first.Seq || hist[1].Seq != second.Seq ||
		!hist[0].Pending || !hist[1].Action {
		t.Fatalf("history = %+v, %v", hist, err)
	}
	// Search: ASCII case-insensitive, LIKE wildcards taken literally.
	for text, want := range map[string]int{"hello": 1, "WORLD": 1, "%": 1, "_": 0, "o": 1, "zzz": 0} {
		res, err := n.Search(ctx, &id, text, 0)
		if err != nil || len(res) != want {
			t.Errorf("search %q = %+v, %v; want %d results", text, res, err, want)
		}
	}
	if res, err := n.Search(ctx, nil, "e", 10); err != nil || len(res) != 2 || res[0].Seq != second.Seq || res[0].Conference != id {
		t.Errorf("search all = %+v, %v; want newest first", res, err)
	}
	if _, err := n.Search(ctx, nil, "", 10); !errors.Is(err, ErrEmptySearch) {
		t.Errorf("empty search: %v", err)
	}
	if err := n.SetHidden(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	if err := n.MarkRead(ctx, id, second.Seq); err != nil {
		t.Fatal(err)
	}
	for i := range 205 {
		if err := n.AddInputHistory(ctx, id, fmt.Sprintf("line %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.AddInputHistory(ctx, ConferenceID{}, "/help"); err != nil {
		t.Fatal(err)
	}
	want := uint32(0xdeadbeef)
	newID, err := n.SetNospam(ctx, &want)
	if err != nil || newID.Nospam != want {
		t.Fatalf("set nospam = %v, %v", newID, err)
	}
	st, err := n.Status(ctx)
	if err != nil || st.Listen == "" || st.Self.ID != newID || st.Connected != 0 {
		t.Fatalf("status = %+v, %v", st, err)
	}
	closeNode(t, n)

	n = openNode(t, dir, "")
	defer closeNode(t, n)
	cs, err := n.Conferences(ctx)
	if err != nil || len(cs) != 1 || !cs[0].Hidden || cs[0].LastRead != second.Seq || cs[0].Unread != 0 {
		t.Fatalf("conferences after restart = %+v, %v", cs, err)
	}
	lines, err := n.InputHistory(ctx, id)
	if err != nil || len(lines) != 200 || lines[0] != "line 5" || lines[199] != "line 204" {
		t.Fatalf("input history: %d lines, first %q, %v", len(lines), lines[0], err)
	}
	if g, err := n.InputHistory(ctx, ConferenceID{}); err != nil || len(g) != 1 || g[0] != "/help" {
		t.Fatalf("global input history = %q, %v", g, err)
	}
	if me, _ := n.Self(ctx); me.ID != newID {
		t.Fatalf("nospam after restart: %v, want %v", me.ID, newID)
	}
	random, err := n.SetNospam(ctx, nil)
	if err != nil || random.Key != newID.Key {
		t.Fatalf("random nospam = %v, %v", random, err)
	}
	sub := n.Subscribe()
	defer sub.Close()
	if err := n.Leave(ctx, id); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, sub, 5*time.Second, func(ev Event) bool { l, ok := ev.(ConferenceLeft); return ok && l.Conference == id })
	if _, err := n.InputHistory(ctx, id); !errors.Is(err, ErrUnknownConference) {
		t.Fatalf("input history of a left conference: %v", err)
	}
}
