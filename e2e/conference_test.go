package e2e

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// Three bots befriend, form a conference, list the same members, exchange
// 100 messages each (each arrives exactly once, in sender order), and see
// names and the title propagate.
func TestThreeBotsChat(t *testing.T) {
	t.Parallel()
	a := startBot(t, "alice", "")
	b := startBot(t, "bob", "")
	c := startBot(t, "carol", "")
	befriend(t, a, b)
	befriend(t, a, c)
	conf := conferenceOf(t, a, "lunch", b, c)
	waitActive(t, conf, 10*time.Second, a, b, c)

	const n = 100
	for i := range n {
		for _, s := range []*bot{a, b, c} {
			var r struct {
				Number uint32 `json:"number"`
			}
			s.call("conference.send", map[string]any{"conference": conf, "text": fmt.Sprintf("%s %d", s.name, i)}, &r)
		}
	}
	for _, recv := range []*bot{a, b, c} {
		for _, from := range []*bot{a, b, c} {
			if from == recv {
				continue
			}
			recv.waitFor(30*time.Second, func() bool { return countFrom(recv.notes, from.key) >= n })
			var got []string
			for _, p := range recv.notesOf("conference.message") {
				var m historyMsg
				json.Unmarshal(p, &m)
				if m.From == from.key {
					got = append(got, m.Text)
				}
			}
			if len(got) != n {
				t.Fatalf("%s got %d messages from %s, want %d", recv.name, len(got), from.name, n)
			}
			for i, text := range got {
				if want := fmt.Sprintf("%s %d", from.name, i); text != want {
					t.Fatalf("%s: message %d from %s is %q, want %q", recv.name, i, from.name, text, want)
				}
			}
		}
	}

	b.call("self.set_name", map[string]any{"name": "robert"}, nil)
	c.call("conference.set_title", map[string]any{"conference": conf, "title": "dinner"}, nil)
	for _, s := range []*bot{a, c} {
		s.waitNote("conference.name", 10*time.Second, func(p json.RawMessage) bool {
			var v struct{ PublicKey, Name string }
			json.Unmarshal(p, &v)
			return v.Name == "robert"
		})
	}
	for _, s := range []*bot{a, b} {
		s.waitNote("conference.title", 10*time.Second, func(p json.RawMessage) bool {
			var v struct{ Title string }
			json.Unmarshal(p, &v)
			return v.Title == "dinner"
		})
	}
	for _, s := range []*bot{a, b, c} {
		var r struct {
			Conferences []struct {
				Conference string `json:"conference"`
				Title      string `json:"title"`
				PeerCount  int    `json:"peer_count"`
			} `json:"conferences"`
		}
		s.call("conference.list", nil, &r)
		if len(r.Conferences) != 1 || r.Conferences[0].Title != "dinner" || r.Conferences[0].PeerCount != 3 {
			t.Errorf("%s: conference.list = %+v", s.name, r.Conferences)
		}
	}
	for _, s := range []*bot{a, b, c} {
		s.stop()
	}
}

func countFrom(notes []message, key string) int {
	n := 0
	for _, m := range notes {
		if m.Method != "conference.message" {
			continue
		}
		var v struct {
			From string `json:"from"`
		}
		json.Unmarshal(m.Params, &v)
		if v.From == key {
			n++
		}
	}
	return n
}
