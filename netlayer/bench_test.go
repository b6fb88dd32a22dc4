package netlayer

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// benchPair is two connected endpoints whose receiving side counts frames
// (or reports arrival times) instead of recording them.
type benchPair struct {
	a, b   *Endpoint
	sa     *Session
	frames chan []byte
}

func newBenchPair(b *testing.B) *benchPair {
	b.Helper()
	mk := func() *Endpoint {
		cfg := testConfig(newKey(b))
		cfg.HeartbeatInterval = time.Second
		ep, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		if err := ep.Listen(); err != nil {
			b.Fatal(err)
		}
		return ep
	}
	p := &benchPair{a: mk(), b: mk(), frames: make(chan []byte, 4096)}
	go drain(p.a.Events(), nil)      // owner: ends when a closes
	go drain(p.b.Events(), p.frames) // owner: ends when b closes
	sa, err := p.a.Open(p.b.Key(), []string{p.b.Addr().String()})
	if err != nil {
		b.Fatal(err)
	}
	p.sa = sa
	for sa.State() != Connected {
		time.Sleep(time.Millisecond)
	}
	b.Cleanup(func() { p.a.terminate(); p.b.terminate() })
	return p
}

func drain(ch <-chan Event, frames chan<- []byte) {
	for ev := range ch {
		if f, ok := ev.(FrameReceived); ok && frames != nil {
			frames <- f.Data
		}
	}
}

// rawPair is a loopback TCP connection carrying length-prefixed frames:
// the baseline.
func rawPair(b *testing.B) (w, r net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	w, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	r, err = ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = w.Close(); _ = r.Close() })
	return w, r
}

func BenchmarkThroughput(b *testing.B) {
	for _, size := range []int{1 << 10, 16 << 10} {
		b.Run(fmt.Sprintf("raw/%dKiB", size>>10), func(b *testing.B) { rawThroughput(b, size) })
		b.Run(fmt.Sprintf("netlayer/%dKiB", size>>10), func(b *testing.B) { sessionThroughput(b, size) })
	}
}

func rawThroughput(b *testing.B, size int) {
	w, r := rawPair(b)
	done := make(chan error, 1)
	go func() { // owner: reads exactly b.N frames
		buf := make([]byte, size)
		for range b.N {
			if _, err := readRecord(r, buf, size, 0); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	frame := make([]byte, lenPrefix+size)
	binary.BigEndian.PutUint32(frame, uint32(size))
	b.SetBytes(int64(size))
	b.ResetTimer()
	for range b.N {
		if _, err := w.Write(frame); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	reportRate(b, "raw", size)
}

func sessionThroughput(b *testing.B, size int) {
	p := newBenchPair(b)
	frame := make([]byte, size)
	got := make(chan struct{})
	go func() { // owner: receives exactly b.N frames
		for range b.N {
			<-p.frames
		}
		close(got)
	}()
	ctx := context.Background()
	b.SetBytes(int64(size))
	b.ResetTimer()
	for range b.N {
		if err := p.sa.Send(ctx, frame); err != nil {
			b.Fatal(err)
		}
	}
	<-got
	reportRate(b, "netlayer", size)
}

func reportRate(b *testing.B, kind string, size int) {
	mbps := float64(b.N) * float64(size) / b.Elapsed().Seconds() / 1e6
	b.ReportMetric(mbps, "MB/s")
	benchMetrics.set(fmt.Sprintf("throughput_%s_%dKiB", kind, size>>10), mbps, "MB/s")
}

// BenchmarkLatency measures the one-way latency of a 64-byte frame sent
// while the path is idle: the sender stamps the frame, the receiver (same
// process, same clock) subtracts. It reports the median.
func BenchmarkLatency(b *testing.B) {
	b.Run("raw", func(b *testing.B) {
		w, r := rawPair(b)
		lat := make([]time.Duration, 0, b.N)
		buf := make([]byte, 64)
		frame := make([]byte, lenPrefix+64)
		binary.BigEndian.PutUint32(frame, 64)
		for range b.N {
			binary.BigEndian.PutUint64(frame[lenPrefix:], uint64(time.Now().UnixNano()))
			if _, err := w.Write(frame); err != nil {
				b.Fatal(err)
			}
			got, err := readRecord(r, buf, 64, 0)
			if err != nil && err != io.EOF {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(time.Unix(0, int64(binary.BigEndian.Uint64(got)))))
		}
		reportMedian(b, "raw", lat)
	})
	b.Run("netlayer", func(b *testing.B) {
		p := newBenchPair(b)
		lat := make([]time.Duration, 0, b.N)
		frame := make([]byte, 64)
		ctx := context.Background()
		for range b.N {
			binary.BigEndian.PutUint64(frame, uint64(time.Now().UnixNano()))
			if err := p.sa.Send(ctx, frame); err != nil {
				b.Fatal(err)
			}
			got := <-p.frames
			lat = append(lat, time.Since(time.Unix(0, int64(binary.BigEndian.Uint64(got)))))
		}
		reportMedian(b, "netlayer", lat)
	})
}

func reportMedian(b *testing.B, kind string, lat []time.Duration) {
	slices.Sort(lat)
	med := lat[len(lat)/2]
	b.ReportMetric(float64(med.Nanoseconds())/1e3, "µs-median")
	benchMetrics.set("latency_median_"+kind, float64(med.Nanoseconds())/1e3, "µs")
}

// metrics keeps the last value of each benchmark metric (the benchmark
// framework calls a benchmark several times with growing b.N; the last
// call is the measured one) and prints them as "metric <name> <value>
// <unit>" lines after the run.
type metrics struct {
	mu     sync.Mutex
	order  []string
	values map[string]string
}

func (m *metrics) set(name string, v float64, unit string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.values == nil {
		m.values = map[string]string{}
	}
	if _, ok := m.values[name]; !ok {
		m.order = append(m.order, name)
	}
	m.values[name] = fmt.Sprintf("%.1f %s", v, unit)
}

func (m *metrics) print() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, name := range m.order {
		fmt.Printf("metric %s %s\n", name, m.values[name])
	}
}

// benchMetrics is test-binary state only: benchmarks write it, TestMain
// prints it once everything ran.
var benchMetrics metrics

// runPrintingMetrics runs the tests and benchmarks, then prints metrics.
type runPrintingMetrics struct{ m *testing.M }

func (r runPrintingMetrics) Run() int {
	code := r.m.Run()
	benchMetrics.print()
	return code
}
