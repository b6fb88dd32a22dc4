package relay

import (
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// benchStore keeps the last value of each benchmark measurement (the
// framework calls a benchmark with growing b.N; the last call counts) and
// prints them as "metric <name> <value> <unit>" after the run.
type benchStore struct {
	mu     sync.Mutex
	order  []string
	values map[string]float64
	units  map[string]string
}

func (s *benchStore) set(name string, v float64, unit string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values == nil {
		s.values, s.units = map[string]float64{}, map[string]string{}
	}
	if _, ok := s.values[name]; !ok {
		s.order = append(s.order, name)
	}
	s.values[name], s.units[name] = v, unit
}

func (s *benchStore) print() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.order {
		fmt.Printf("metric %s %.1f %s\n", n, s.values[n], s.units[n])
	}
	d, okD := s.values["relay_latency_median_direct"]
	r, okR := s.values["relay_latency_median_relay"]
	if okD && okR {
		fmt.Printf("metric relay_added_latency_median %.1f µs\n", r-d)
	}
	td, okD := s.values["relay_throughput_direct"]
	tr, okR := s.values["relay_throughput_relay"]
	if okD && okR && td > 0 {
		fmt.Printf("metric relay_throughput_ratio %.2f relay/direct\n", tr/td)
	}
}

// benchResults is test-binary state only: benchmarks write it and
// TestMain prints it once.
var benchResults benchStore

// benchPaths returns a connected pair per path: plain loopback TCP, and
// the same through a relay (unlimited rate) on loopback.
func benchPaths(b *testing.B) map[string]func() (net.Conn, net.Conn) {
	r := startRelay(b, Config{Rate: 1 << 40, Burst: 1 << 40})
	callee, caller := newKey(b), newKey(b)
	l := register(b, newClient(b, callee, ClientConfig{}), r.addr)
	cc := newClient(b, caller, ClientConfig{})
	return map[string]func() (net.Conn, net.Conn){
		"direct": func() (net.Conn, net.Conn) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			a, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			c, err := ln.Accept()
			if err != nil {
				b.Fatal(err)
			}
			return a, c
		},
		"relay": func() (net.Conn, net.Conn) {
			a, err := cc.DialRelay(ctxT(b), r.addr, callee.Public())
			if err != nil {
				b.Fatal(err)
			}
			return a, acceptOne(b, l)
		},
	}
}

// BenchmarkRelayThroughput moves 1 MiB per iteration one way, direct and
// through the relay.
func BenchmarkRelayThroughput(b *testing.B) {
	paths := benchPaths(b)
	for _, name := range []string{"direct", "relay"} {
		b.Run(name, func(b *testing.B) {
			a, c := paths[name]()
			defer a.Close()
			defer c.Close()
			chunk := make([]byte, 1<<20)
			b.SetBytes(int64(len(chunk)))
			done := make(chan error, 1)
			go func() {
				_, err := io.CopyN(io.Discard, c, int64(b.N)*int64(len(chunk)))
				done <- err
			}()
			start := time.Now()
			for range b.N {
				if _, err := a.Write(chunk); err != nil {
					b.Fatal(err)
				}
			}
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			mibs := float64(b.N) / time.Since(start).Seconds()
			benchResults.set("relay_throughput_"+name, mibs, "MiB/s")
		})
	}
}

// BenchmarkRelayLatency bounces 64 bytes per iteration, direct and
// through the relay, and records the median round trip.
func BenchmarkRelayLatency(b *testing.B) {
	paths := benchPaths(b)
	for _, name := range []string{"direct", "relay"} {
		b.Run(name, func(b *testing.B) {
			a, c := paths[name]()
			defer a.Close()
			defer c.Close()
			go func() { _, _ = io.Copy(c, c) }() // echo
			msg := make([]byte, 64)
			rtts := make([]time.Duration, 0, b.N)
			for range b.N {
				t0 := time.Now()
				if _, err := a.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(a, msg); err != nil {
					b.Fatal(err)
				}
				rtts = append(rtts, time.Since(t0))
			}
			slices.Sort(rtts)
			med := rtts[len(rtts)/2]
			b.ReportMetric(float64(med.Nanoseconds())/1e3, "µs-median")
			benchResults.set("relay_latency_median_"+name, float64(med.Nanoseconds())/1e3, "µs")
		})
	}
}
