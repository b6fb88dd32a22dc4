package conference

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkSealRun seals a run of 64 own messages (one signature and the
// Merkle tree) against signing each of them (the plain form); ns/op is per
// run of 64.
func BenchmarkSealRun(b *testing.B) {
	kp, id := fuzzKey(7), ID{0, 1}
	var signed [][]byte
	for i := range maxRunLeaves {
		body := fmt.Appendf([]byte{0, 0, 0, 0}, "benchmark message text %d", i)
		signed = append(signed, signedBytes(id, kp.Public(), uint32(i+1), KindMessage, body))
	}
	b.Run("batch64", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			sealRun(kp, id, signed)
		}
	})
	b.Run("plain64", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			for _, s := range signed {
				_ = kp.Sign(s)
			}
		}
	})
}

// BenchmarkOpenBatch verifies the 64 messages of one batch at a receiver:
// with the engine's cache (one signature check, 63 hits), without it (64
// checks), and 64 plain signatures; ns/op is per batch of 64.
func BenchmarkOpenBatch(b *testing.B) {
	kp := fuzzKey(7)
	e, _ := Create(Config{Self: fuzzKey(2), GroupNumber: 1}, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var bodies, signed [][]byte
	for i := range maxRunLeaves {
		body := fmt.Appendf([]byte{0, 0, 0, 0}, "benchmark message text %d", i)
		bodies = append(bodies, body)
		signed = append(signed, signedBytes(e.id, kp.Public(), uint32(i+1), KindMessage, body))
	}
	auths, _ := sealRun(kp, e.id, signed)
	plain := make([][]byte, len(signed))
	for i, s := range signed {
		plain[i] = kp.Sign(s)
	}
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			e.auths = authCache{} // a new batch every round
			for i := range bodies {
				if !e.verifyMessage(kp.Public(), uint32(i+1), KindMessage, bodies[i], auths[i]) {
					b.Fatal("does not verify")
				}
			}
		}
	})
	b.Run("uncached", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			for i := range bodies {
				if !verifyAuth(e.id, kp.Public(), signed[i], auths[i]) {
					b.Fatal("does not verify")
				}
			}
		}
	})
	b.Run("plain", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			for i := range bodies {
				if !verifyAuth(e.id, kp.Public(), signed[i], plain[i]) {
					b.Fatal("does not verify")
				}
			}
		}
	})
}
