package conference_test

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"confchat/conference"
	"confchat/conference/simnet"
)

// buildStar builds an n-member conference quickly: node 0 is friends with
// everyone and invites them in turn.
func buildStar(tb testing.TB, seed uint64, n int) (*simnet.Net, []*simnet.Node) {
	tb.Helper()
	net := simnet.New(seed)
	net.Config.FreezeAfter = 60 * time.Second
	nodes := net.AddN("p", n)
	for _, x := range nodes[1:] {
		net.MakeFriends(nodes[0], x)
		x.AutoJoin = true
	}
	nodes[0].Create()
	for _, x := range nodes[1:] {
		if err := nodes[0].Invite(x); err != nil {
			tb.Fatal(err)
		}
		net.Run(200 * time.Millisecond)
	}
	if !net.RunUntil(60*time.Second, allActive(nodes, n)) {
		tb.Fatalf("star build: counts %v", counts(nodes))
	}
	net.Run(5 * time.Second) // let the ring and long links settle
	return net, nodes
}

type floodStats struct {
	maxHops, medianHops int
	bytesPerDelivery    float64
	deliveredAll        bool
}

// measureFlood sends one message from each of several origins and reports
// first-arrival hop counts and message bytes per delivery.
func measureFlood(tb testing.TB, net *simnet.Net, nodes []*simnet.Node, origins int) floodStats {
	tb.Helper()
	net.TrackHops()
	var hops []int
	sent := 0
	all := true
	for i := range origins {
		x := nodes[(i*7)%len(nodes)]
		number := x.Engine.NextNumber()
		if err := x.Send(fmt.Sprintf("bench %d", i)); err != nil {
			tb.Fatal(err)
		}
		net.Run(2 * time.Second)
		h := net.Hops(x.Engine.SelfNumber(), number)
		sent += net.SentBytes(x.Engine.SelfNumber(), number)
		if len(h) < len(nodes)-1 {
			all = false
		}
		for _, v := range h {
			hops = append(hops, v)
		}
	}
	slices.Sort(hops)
	return floodStats{
		maxHops: hops[len(hops)-1], medianHops: hops[len(hops)/2],
		bytesPerDelivery: float64(sent) / float64(origins*(len(nodes)-1)),
		deliveredAll:     all,
	}
}

// The long links keep a 64-member flood within 2*log2(N) hops.
func TestFloodHops64(t *testing.T) {
	net, nodes := buildStar(t, 64, 64)
	st := measureFlood(t, net, nodes, 4)
	limit := int(2 * math.Log2(64))
	if !st.deliveredAll || st.maxHops > limit {
		t.Fatalf("max hops %d (limit %d), delivered to all: %v", st.maxHops, limit, st.deliveredAll)
	}
}

// BenchmarkFlood64 reports, for a simulated 64-member conference, the
// per-engine cost of handling one flooded message (ns/op, allocs/op) plus
// hops and bytes per delivered message.
func BenchmarkFlood64(b *testing.B) {
	net, nodes := buildStar(b, 64, 64)
	st := measureFlood(b, net, nodes, 8)
	fmt.Printf("metric flood64_max_hops %d hops\n", st.maxHops)
	fmt.Printf("metric flood64_median_hops %d hops\n", st.medianHops)
	fmt.Printf("metric flood64_bytes_per_delivery %.1f bytes\n", st.bytesPerDelivery)

	origin, recv := nodes[10], nodes[20]
	var via *simnet.Node
	for _, p := range recv.Engine.ConnectedPeers() {
		via = net.NodeByKey(p)
		break
	}
	if via == nil {
		b.Fatal("receiver has no online connection")
	}
	id := origin.Engine.ID()
	kp := origin.KeyPair()
	base := origin.Engine.NextNumber() + 1000
	pkts := make([][]byte, b.N)
	for i := range pkts {
		n := base + uint32(i)
		body := append([]byte{0, 0, 0, 0}, "benchmark message text"...)
		sig := kp.Sign(conference.SignedBytes(id, origin.Key(), n, conference.KindMessage, body))
		pkts[i] = (&conference.MessagePacket{Group: recv.GroupNumber(), Sender: origin.Engine.SelfNumber(),
			Number: n, Kind: conference.KindMessage, Body: body, Auth: sig}).Encode()
	}
	now := net.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		_ = recv.Engine.HandlePacket(now, via.Key(), pkts[i])
		recv.Engine.Ready()
		recv.Engine.Advance()
	}
	b.StopTimer()
	b.ReportMetric(float64(st.maxHops), "max-hops")
	b.ReportMetric(float64(st.medianHops), "median-hops")
	b.ReportMetric(st.bytesPerDelivery, "bytes/delivery")
}
