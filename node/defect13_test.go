package node

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"confchat/conference"
)

// failWrites makes every insert into messages of n's database fail (a
// trigger, so the real SQLite error path runs) until the returned func is
// called.
func failWrites(t *testing.T, n *Node) (restore func()) {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(n.db.Dir(), "confchat.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`CREATE TRIGGER injected_failure BEFORE INSERT ON messages
		BEGIN SELECT RAISE(ABORT, 'injected disk failure'); END`); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			if _, err := raw.Exec("DROP TRIGGER injected_failure"); err != nil {
				t.Error(err)
			}
			raw.Close()
		})
	}
}

// Defect 13: when the database write failed, conference.send returned an
// error but the message was delivered anyway; a received message whose
// write failed was dropped.
func TestDefect13FailedWriteSendsNothing(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	p := newPairFreezing(t, time.Minute)
	defer p.close(t)

	restore := failWrites(t, p.a)
	defer restore()
	if _, err := p.a.SendMessage(ctx, p.conf, "lost in a crash", false); err == nil {
		t.Fatal("send succeeded although its write failed")
	}
	hist, err := p.a.History(ctx, p.conf, 10, 0)
	if err != nil || len(hist) != 0 {
		t.Fatalf("alice's history after a failed send = %+v, %v", hist, err)
	}
	// Not in the engine's store either, where a history fetch would find it.
	var held int
	p.a.do(ctx, func(time.Time) error {
		for _, m := range p.a.confs[p.conf].engine.MessageSet() {
			if m.Origin == p.meA.Key && m.Kind == conference.KindMessage {
				held++
			}
		}
		return nil
	})
	if held != 0 {
		t.Fatalf("alice's engine holds %d own messages after the failed send", held)
	}
	restore()
	after, err := p.a.SendMessage(ctx, p.conf, "after", false)
	if err != nil {
		t.Fatal(err)
	}
	got := waitEvent(t, p.subB, 10*time.Second, func(ev Event) bool { _, ok := ev.(MessageReceived); return ok }).(MessageReceived)
	if got.Message.Text != "after" || got.Message.Number != after.Number {
		t.Fatalf("bob got %+v first; the failed message must never go out", got.Message)
	}
}

func TestDefect13FailedPersistRetried(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	p := newPairFreezing(t, time.Minute)
	defer p.close(t)

	restore := failWrites(t, p.b)
	defer restore()
	if _, err := p.a.SendMessage(ctx, p.conf, "keep me", false); err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, p.subB, 10*time.Second, func(ev Event) bool { _, ok := ev.(StorageFailed); return ok }).(StorageFailed)
	if !ev.Retrying || ev.Err == nil {
		t.Fatalf("storage failure event = %+v", ev)
	}
	// The loop keeps answering while the disk fails.
	callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := p.b.Conferences(callCtx); err != nil {
		t.Fatalf("loop stalled while writes fail: %v", err)
	}
	restore()
	received(t, p.subB, "keep me", 15*time.Second)
	hist, err := p.b.History(ctx, p.conf, 10, 0)
	if err != nil || len(hist) != 1 || hist[0].Text != "keep me" {
		t.Fatalf("bob's history = %+v, %v", hist, err)
	}
	if c := p.b.Counters(); c.StorageFailures == 0 {
		t.Fatalf("counters = %+v", c)
	}
}
