package node

import (
	"context"
	"path/filepath"
	"testing"
)

// BenchmarkLoopTurnSend is one conference.send through the loop: sign,
// store (one transaction), hand out, answer. Alone in the conference, so
// no packet goes out.
func BenchmarkLoopTurnSend(b *testing.B) {
	ctx := context.Background()
	n, err := Open(ctx, Config{Profile: filepath.Join(b.TempDir(), "p"), Listen: "127.0.0.1:0", Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close(ctx)
	id, err := n.CreateConference(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := n.Send(ctx, id, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoopTurnSendParallel sends from several goroutines at once,
// as a bot answering concurrent requests does: sends that wait together
// share one loop turn and one commit.
func BenchmarkLoopTurnSendParallel(b *testing.B) {
	ctx := context.Background()
	n, err := Open(ctx, Config{Profile: filepath.Join(b.TempDir(), "p"), Listen: "127.0.0.1:0", Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close(ctx)
	id, err := n.CreateConference(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := n.Send(ctx, id, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", false); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
