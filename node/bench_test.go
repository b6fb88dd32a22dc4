package node

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
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

// BenchmarkPairMessage is one message from alice to bob over loopback,
// both nodes in this process: sign and store at alice, the send pump,
// both sessions, bob's verify, store and event. It reports the median
// send-to-event latency; allocations are both nodes'.
func BenchmarkPairMessage(b *testing.B) {
	p := newPair(b)
	defer func() { b.StopTimer(); p.close(b) }()
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		text := "bench " + strconv.Itoa(i)
		start := time.Now()
		if _, err := p.a.Send(ctx, p.conf, text, false); err != nil {
			b.Fatal(err)
		}
		waitEvent(b, p.subB, 10*time.Second, func(ev Event) bool {
			m, ok := ev.(MessageReceived)
			return ok && m.Message.Text == text
		})
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "µs-median")
}

// BenchmarkPairBurst sends runs of 64 messages without waiting (as a
// bot's pipelined conference.send) and waits until bob has them all;
// the time is per message.
func BenchmarkPairBurst(b *testing.B) {
	p := newPair(b)
	defer func() { b.StopTimer(); p.close(b) }()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += 64 {
		run := min(64, b.N-i)
		waits := make([]func() (SentMessage, error), run)
		for j := range run {
			w, err := p.a.StartSendMessage(ctx, p.conf, "burst "+strconv.Itoa(i+j), false)
			if err != nil {
				b.Fatal(err)
			}
			waits[j] = w
		}
		for _, w := range waits {
			if _, err := w(); err != nil {
				b.Fatal(err)
			}
		}
		last := "burst " + strconv.Itoa(i+run-1)
		waitEvent(b, p.subB, 10*time.Second, func(ev Event) bool {
			m, ok := ev.(MessageReceived)
			return ok && m.Message.Text == last
		})
	}
}
