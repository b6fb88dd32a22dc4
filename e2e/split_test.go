package e2e

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// freePort returns a port free on ip right now.
func freePort(t testing.TB, ip string) string {
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// Four members split into two halves that keep talking; after the heal
// every member holds the same messages, names and title.
func TestSplitHeals(t *testing.T) {
	t.Parallel()
	// Bots 0,1 are half 0 on 127.0.0.10/11; bots 2,3 are half 1 on .12/.13.
	ips := []string{"127.0.0.10", "127.0.0.11", "127.0.0.12", "127.0.0.13"}
	side := func(ip string) int {
		for i, x := range ips {
			if x == ip {
				return i / 2
			}
		}
		return -1
	}
	names := []string{"ann", "ben", "cat", "dan"}
	bots := make([]*bot, 4)
	proxies := make([]*splitProxy, 4)
	for i := range bots {
		listen := net.JoinHostPort(ips[i], freePort(t, ips[i]))
		proxies[i] = newSplitProxy(t, listen, i/2, side)
		// The later --listen overrides the harness default.
		bots[i] = startBot(t, names[i], "", "--accept-friends", "--auto-join", "--freeze-after", "3s",
			"--advertise", proxies[i].addr(), "--listen", listen)
	}
	a := bots[0]
	for _, m := range bots[1:] {
		befriend(t, a, m)
	}
	conf := conferenceOf(t, a, "before", bots[1:]...)
	waitActive(t, conf, 15*time.Second, bots...)

	for _, p := range proxies {
		p.setSplit(true)
	}
	// Both halves see the other half frozen, and keep talking.
	for i, b := range bots {
		other := bots[(i/2*2+2)%4]
		b.waitNote("conference.peer_frozen", 10*time.Second, hasKey(other.key))
	}
	for round := range 10 {
		for _, b := range bots {
			b.call("conference.send", map[string]any{"conference": conf, "text": fmt.Sprintf("%s split %d", b.name, round)}, nil)
		}
	}
	bots[1].call("self.set_name", map[string]any{"name": "benjamin"}, nil)
	bots[2].call("conference.set_title", map[string]any{"conference": conf, "title": "during split"}, nil)
	bots[3].call("self.set_name", map[string]any{"name": "daniel"}, nil)

	for _, p := range proxies {
		p.setSplit(false)
	}
	waitActive(t, conf, 20*time.Second, bots...)
	// Active again does not mean synced yet: history sync follows the
	// rejoin (netns_sessions_lost_heal_messages_converged trails
	// heal_all_active by a few hundred ms).
	var want []string
	eventually(t, 20*time.Second, "ann holds all 40 split messages", func() error {
		want = messageSet(bots[0].history(conf))
		if n := countSplit(want); n != 40 {
			return fmt.Errorf("ann holds %d of the 40 split messages", n)
		}
		return nil
	})
	for _, b := range bots {
		eventually(t, 20*time.Second, b.name+" converges", func() error {
			if got := messageSet(b.history(conf)); !sameStrings(got, want) {
				return fmt.Errorf("%d messages, want %d", len(got), len(want))
			}
			return nil
		})
	}
	for _, b := range bots {
		eventually(t, 10*time.Second, b.name+" names and title", func() error {
			ps := b.peers(conf)
			got := map[string]string{}
			for _, p := range ps {
				got[p.PublicKey] = p.Name
			}
			if got[bots[1].key] != "benjamin" || got[bots[3].key] != "daniel" {
				return fmt.Errorf("names %v", got)
			}
			var l struct {
				Conferences []struct{ Title string } `json:"conferences"`
			}
			b.call("conference.list", nil, &l)
			if len(l.Conferences) != 1 || l.Conferences[0].Title != "during split" {
				return fmt.Errorf("title %+v", l.Conferences)
			}
			return nil
		})
	}
}

func countSplit(set []string) int {
	n := 0
	for _, s := range set {
		if strings.Contains(s, " split ") {
			n++
		}
	}
	return n
}
