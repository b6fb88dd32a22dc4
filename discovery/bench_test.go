package discovery

import (
	"fmt"
	"testing"
	"time"

	"confchat/identity"
)

// BenchmarkDHT prints publish and lookup times on a private DHT of 8
// loopback nodes, and what the first lookup of a freshly bootstrapped
// node costs in UDP packets.
func BenchmarkDHT(b *testing.B) {
	p := startPrivateDHT(b, 8)
	kp := newKey(b)
	id := identity.ID{Key: kp.Public(), Nospam: 0xBE}
	pub := startService(b, Config{Key: kp, ID: id, Addresses: testAddrs[:1], Bootstrap: p.addrs[:1]})
	if ev := nextEvent[Published](b, pub); ev.Err != nil {
		b.Fatal(ev.Err)
	}

	other := newKey(b)
	fresh := startService(b, Config{Key: other, ID: identity.ID{Key: other.Public()}, Bootstrap: p.addrs[4:5]})
	waitReady(b, fresh)
	before := fresh.Status()
	start := time.Now()
	if _, err := fresh.Lookup(lookupCtx(b), id); err != nil {
		b.Fatal(err)
	}
	first := time.Since(start)
	after := fresh.Status()

	var pubTotal, lookTotal time.Duration
	n := 0
	for b.Loop() {
		n++
		start := time.Now()
		pub.SetAddresses(testAddrs[n%2 : n%2+1])
		if ev := nextEvent[Published](b, pub); ev.Err != nil {
			b.Fatal(ev.Err)
		}
		pubTotal += time.Since(start)
		start = time.Now()
		if _, err := fresh.Lookup(lookupCtx(b), id); err != nil {
			b.Fatal(err)
		}
		lookTotal += time.Since(start)
	}
	start = time.Now()
	DeriveKeys(id)
	derive := time.Since(start)
	fmt.Printf("metric dht_publish_ms %.2f ms\n", ms(pubTotal)/float64(n))
	fmt.Printf("metric dht_lookup_ms %.2f ms\n", ms(lookTotal)/float64(n))
	fmt.Printf("metric dht_first_lookup_ms %.2f ms\n", ms(first))
	fmt.Printf("metric dht_first_lookup_packets_sent %d packets\n", after.PacketsSent-before.PacketsSent)
	fmt.Printf("metric dht_first_lookup_packets_received %d packets\n", after.PacketsRecv-before.PacketsRecv)
	fmt.Printf("metric dht_bootstrap_packets_sent %d packets\n", before.PacketsSent)
	fmt.Printf("metric dht_derive_keys_ms %.2f ms\n", ms(derive))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func waitReady(tb testing.TB, s *Service) {
	tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !s.Status().Ready {
		if time.Now().After(deadline) {
			tb.Fatal("not bootstrapped")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
