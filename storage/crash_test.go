package storage

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"confchat/identity"
)

var crashConf = identity.ConferenceID{1, 2, 3}

// childInsert inserts messages in a loop, printing each number after its
// transaction committed, until it is killed.
func childInsert(profile string) {
	ctx := context.Background()
	db, err := Open(ctx, profile)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	origin := identity.PublicKey{9}
	w := bufio.NewWriter(os.Stdout)
	for n := uint32(1); n < 1_000_000; n++ {
		err := db.Update(ctx, func(tx *Tx) error {
			if n == 1 {
				if err := tx.PutConference(ctx, Conference{ID: crashConf, Title: "crash", CreatedAt: time.Now()}); err != nil {
					return err
				}
			}
			_, err := tx.InsertMessage(ctx, Message{
				Conference: crashConf, Origin: origin, Number: n, Prev: n - 1, Kind: 1,
				Body: []byte("message " + strconv.Itoa(int(n))), Signature: make([]byte, 64),
				ReceivedAt: time.Now(),
			})
			if err != nil {
				return err
			}
			return tx.RaiseNextNumber(ctx, crashConf, n+1)
		})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Fprintln(w, n)
		w.Flush()
	}
	os.Exit(0)
}

// TestCrashLosesNothingCommitted kills a writer with SIGKILL at a random
// moment, then checks the database is intact and holds every insert the
// writer reported as committed.
func TestCrashLosesNothingCommitted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "p")
	cmd := child(t, "insert", dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killAfter := rand.IntN(200) + 20 // commits reported before the kill
	sc := bufio.NewScanner(out)
	var last uint32
	deadline := time.Now().Add(30 * time.Second)
	for sc.Scan() && time.Now().Before(deadline) {
		n, err := strconv.ParseUint(sc.Text(), 10, 32)
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child said %q", sc.Text())
		}
		last = uint32(n)
		if int(last) == killAfter {
			// Kill a random moment later, mid-transaction or between.
			time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
			cmd.Process.Kill()
			break
		}
	}
	// Drain what the child reported before it died.
	for sc.Scan() {
		if n, err := strconv.ParseUint(sc.Text(), 10, 32); err == nil {
			last = uint32(n)
		}
	}
	cmd.Wait()
	if int(last) < killAfter {
		t.Fatalf("child stopped early after %d commits", last)
	}

	ctx := context.Background()
	db, err := Open(ctx, dir)
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer db.Close()
	if err := db.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
	msgs, err := db.MessagesFrom(ctx, crashConf, identity.PublicKey{9}, 1, last)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != int(last) {
		t.Fatalf("after crash: %d of %d committed messages present", len(msgs), last)
	}
	for i, m := range msgs {
		if m.Number != uint32(i+1) {
			t.Fatalf("message %d has number %d", i, m.Number)
		}
	}
	c, err := db.Conference(ctx, crashConf)
	if err != nil {
		t.Fatal(err)
	}
	if c.NextNumber <= last {
		t.Fatalf("next number %d not above last committed %d", c.NextNumber, last)
	}
}
