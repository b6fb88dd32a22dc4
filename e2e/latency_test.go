package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkSendLatency10 measures, in a conference of 10 bots on
// loopback, the time from conference.send on one bot until all 9 others
// have emitted the conference.message notification. It reports the
// median and the 90th percentile, and prints metric lines.
//
//	go test ./e2e -run '^$' -bench SendLatency10 -benchtime 200x
func BenchmarkSendLatency10(b *testing.B) {
	const members = 10
	bots := make([]*bot, members)
	for i := range bots {
		bots[i] = startBot(b, fmt.Sprintf("m%d", i), "", "--accept-friends", "--auto-join")
	}
	owner := bots[0]
	for _, m := range bots[1:] {
		befriend(b, owner, m)
	}
	conf := conferenceOf(b, owner, "bench", bots[1:]...)
	waitActive(b, conf, 30*time.Second, bots...)

	var lat []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		sender := bots[i%members]
		text := fmt.Sprintf("bench %d", i)
		start := time.Now()
		sender.call("conference.send", map[string]any{"conference": conf, "text": text}, nil)
		var last time.Time
		for _, r := range bots {
			if r == sender {
				continue
			}
			m := r.waitNote("conference.message", 10*time.Second, func(p json.RawMessage) bool {
				var v struct{ Text string }
				json.Unmarshal(p, &v)
				return v.Text == text
			})
			_ = m
			if now := time.Now(); now.After(last) {
				last = now
			}
		}
		lat = append(lat, last.Sub(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	median := lat[len(lat)/2]
	p90 := lat[len(lat)*9/10]
	b.ReportMetric(float64(median.Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(p90.Microseconds())/1000, "ms-p90")
	fmt.Printf("metric send_latency_10_median %.3f ms\n", float64(median.Microseconds())/1000)
	fmt.Printf("metric send_latency_10_p90 %.3f ms\n", float64(p90.Microseconds())/1000)
}
