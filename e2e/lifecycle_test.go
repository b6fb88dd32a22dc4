package e2e

import (
	"encoding/json"
	"fmt"
	"syscall"
	"testing"
	"time"
)

// threeInConference starts three bots with extra flags, makes them friends
// of the first, and puts them in one conference.
func threeInConference(t *testing.T, extra ...string) (a, b, c *bot, conf string) {
	t.Helper()
	a = startBot(t, "alice", "", extra...)
	b = startBot(t, "bob", "", extra...)
	c = startBot(t, "carol", "", extra...)
	befriend(t, a, b)
	befriend(t, a, c)
	conf = conferenceOf(t, a, "ops", b, c)
	waitActive(t, conf, 10*time.Second, a, b, c)
	return a, b, c, conf
}

// With --freeze-after 3s a stopped member is frozen within 3 s plus one
// ping interval, and active again within 2 s of resuming.
func TestFreezeAndThaw(t *testing.T) {
	t.Parallel()
	a, b, c, conf := threeInConference(t, "--freeze-after", "3s")
	stopped := time.Now()
	c.signal(syscall.SIGSTOP)
	// Bound: freeze-after + one ping interval (1 s), plus scheduling slack.
	for _, s := range []*bot{a, b} {
		s.waitNote("conference.peer_frozen", 5*time.Second, hasKey(c.key))
		t.Logf("%s froze carol after %v", s.name, time.Since(stopped).Round(time.Millisecond))
		if got := s.activeKeys(conf); len(got) != 2 {
			t.Fatalf("%s: %d active after freeze, want 2", s.name, len(got))
		}
	}
	c.signal(syscall.SIGCONT)
	resumed := time.Now()
	waitActive(t, conf, 2*time.Second+500*time.Millisecond, a, b, c)
	t.Logf("all active again %v after SIGCONT", time.Since(resumed).Round(time.Millisecond))
	c.call("conference.send", map[string]any{"conference": conf, "text": "back"}, nil)
	for _, s := range []*bot{a, b} {
		s.waitNote("conference.message", 5*time.Second, func(p json.RawMessage) bool {
			var m historyMsg
			json.Unmarshal(p, &m)
			return m.From == c.key && m.Text == "back"
		})
	}
}

// A member killed with SIGKILL while messages flow comes back on the same
// profile: its conference is listed at once with peers frozen, it
// rejoins, catches up on everything sent while it was down, and never
// reuses a message number.
func TestKillRestartCatchesUp(t *testing.T) {
	t.Parallel()
	a, b, c, conf := threeInConference(t)
	var lastC uint32
	for i := range 10 {
		var r struct {
			Number uint32 `json:"number"`
		}
		c.call("conference.send", map[string]any{"conference": conf, "text": fmt.Sprintf("c%d", i)}, &r)
		lastC = r.Number
	}
	// Kill carol while she and alice are both sending: carol's numbers
	// acknowledged before the kill must never be reused.
	flowing := make(chan uint32)
	go func() {
		var last uint32
		for i := 0; ; i++ {
			var r struct {
				Number uint32 `json:"number"`
			}
			if err := c.try("conference.send", map[string]any{"conference": conf, "text": fmt.Sprintf("c flow %d", i)}, &r); err != nil {
				break
			}
			last = r.Number
		}
		flowing <- last
	}()
	for i := range 20 {
		a.call("conference.send", map[string]any{"conference": conf, "text": fmt.Sprintf("a%d", i)}, nil)
	}
	c.kill()
	if n := <-flowing; n > lastC {
		lastC = n
	}
	for i := range 30 {
		a.call("conference.send", map[string]any{"conference": conf, "text": fmt.Sprintf("while down a%d", i)}, nil)
		b.call("conference.send", map[string]any{"conference": conf, "text": fmt.Sprintf("while down b%d", i)}, nil)
	}

	c.args = replaceListen(c.args, c.addresses[0])
	c.start()
	var list struct {
		Conferences []struct {
			Conference  string `json:"conference"`
			FrozenCount int    `json:"frozen_count"`
		} `json:"conferences"`
	}
	c.call("conference.list", nil, &list)
	if len(list.Conferences) != 1 || list.Conferences[0].Conference != conf {
		t.Fatalf("after restart conference.list = %+v", list.Conferences)
	}
	waitActive(t, conf, 15*time.Second, a, b, c)
	// It came back with its peers frozen: either the first listing showed
	// them frozen, or they were unfrozen (rejoined) after it started.
	if list.Conferences[0].FrozenCount != 2 {
		for _, p := range []*bot{a, b} {
			c.waitNote("conference.peer_unfrozen", 5*time.Second, hasKey(p.key))
		}
	}
	want := messageSet(a.history(conf))
	eventually(t, 15*time.Second, "carol catches up", func() error {
		got := messageSet(c.history(conf))
		if !sameStrings(got, want) {
			return fmt.Errorf("carol holds %d messages, alice %d", len(got), len(want))
		}
		return nil
	})
	var r struct {
		Number uint32 `json:"number"`
	}
	c.call("conference.send", map[string]any{"conference": conf, "text": "after restart"}, &r)
	if r.Number <= lastC {
		t.Fatalf("number after restart %d, last before kill %d", r.Number, lastC)
	}
}

func replaceListen(args []string, addr string) []string {
	out := append([]string(nil), args...)
	for i := range out {
		if out[i] == "--listen" && i+1 < len(out) {
			out[i+1] = addr
		}
	}
	return out
}

// A member that leaves disappears from the others' peer lists at once.
func TestLeaveIsImmediate(t *testing.T) {
	t.Parallel()
	a, b, c, conf := threeInConference(t)
	left := time.Now()
	c.call("conference.leave", map[string]any{"conference": conf}, nil)
	for _, s := range []*bot{a, b} {
		s.waitNote("conference.peer_left", 3*time.Second, hasKey(c.key))
		for _, p := range s.peers(conf) {
			if p.PublicKey == c.key {
				t.Fatalf("%s still lists carol after she left", s.name)
			}
		}
	}
	t.Logf("peer_left seen by both %v after leave", time.Since(left).Round(time.Millisecond))
	var list struct {
		Conferences []any `json:"conferences"`
	}
	c.call("conference.list", nil, &list)
	if len(list.Conferences) != 0 {
		t.Fatalf("carol still lists the conference: %v", list.Conferences)
	}
}
