package storage

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"
	"time"

	"confchat/identity"
)

func benchDB(b *testing.B) (*DB, identity.ConferenceID) {
	b.Helper()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "p"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	var id identity.ConferenceID
	rand.Read(id[:])
	if err := db.PutConference(ctx, Conference{ID: id, Title: "bench", CreatedAt: time.Now()}); err != nil {
		b.Fatal(err)
	}
	return db, id
}

func benchMessage(id identity.ConferenceID, n int) Message {
	return Message{Conference: id, Origin: identity.PublicKey{1}, Number: uint32(n + 1), Prev: uint32(n),
		Kind: 0x40, Body: make([]byte, 68), Signature: make([]byte, 64), ReceivedAt: time.Now()}
}

// BenchmarkInsertMessage stores one 64-byte message per transaction (a
// loop turn that received one message).
func BenchmarkInsertMessage(b *testing.B) {
	db, id := benchDB(b)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		err := db.Update(ctx, func(tx *Tx) error {
			_, err := tx.InsertMessage(ctx, benchMessage(id, i))
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInsertMessageBatch64 stores 64 messages per transaction (a
// group commit of a burst); the time is per message.
func BenchmarkInsertMessageBatch64(b *testing.B) {
	db, id := benchDB(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += 64 {
		err := db.Update(ctx, func(tx *Tx) error {
			for j := i; j < min(i+64, b.N); j++ {
				if _, err := tx.InsertMessage(ctx, benchMessage(id, j)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
