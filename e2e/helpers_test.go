package e2e

import (
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"
)

type peerJSON struct {
	PublicKey string `json:"public_key"`
	Name      string `json:"name"`
	Frozen    bool   `json:"frozen"`
	Self      bool   `json:"self"`
}

type historyMsg struct {
	From   string `json:"from"`
	Name   string `json:"name"`
	Text   string `json:"text"`
	Action bool   `json:"action"`
	Number uint32 `json:"number"`
	Time   string `json:"time"`
	Cursor int64  `json:"cursor"`
}

func hasKey(key string) func(json.RawMessage) bool {
	return func(p json.RawMessage) bool {
		var v struct {
			PublicKey string `json:"public_key"`
		}
		json.Unmarshal(p, &v)
		return v.PublicKey == key
	}
}

func inConference(conf string) func(json.RawMessage) bool {
	return func(p json.RawMessage) bool {
		var v struct {
			Conference string `json:"conference"`
		}
		json.Unmarshal(p, &v)
		return v.Conference == conf
	}
}

// befriend makes a and b friends: a asks, b accepts (explicitly unless b
// runs with --accept-friends), and both see each other online.
func befriend(t testing.TB, a, b *bot) {
	t.Helper()
	a.call("friend.add", map[string]any{"id": b.id, "address": b.addresses[0], "message": "hi from " + a.name}, nil)
	b.waitNote("friend.request", 10*time.Second, hasKey(a.key))
	if err := b.try("friend.accept", map[string]any{"public_key": a.key}, nil); err != nil {
		if e, ok := err.(*rpcError); !ok || e.Code != 1004 { // 1004: already accepted by --accept-friends
			t.Fatalf("%s: friend.accept: %v", b.name, err)
		}
	}
	a.waitNote("friend.online", 10*time.Second, hasKey(b.key))
	b.waitNote("friend.online", 10*time.Second, hasKey(a.key))
}

// peers returns a bot's view of a conference's members.
func (b *bot) peers(conf string) []peerJSON {
	var r struct {
		Peers []peerJSON `json:"peers"`
	}
	b.call("conference.peers", map[string]any{"conference": conf}, &r)
	return r.Peers
}

// activeKeys returns the sorted keys of the active members b sees.
func (b *bot) activeKeys(conf string) []string {
	var out []string
	for _, p := range b.peers(conf) {
		if !p.Frozen {
			out = append(out, p.PublicKey)
		}
	}
	sort.Strings(out)
	return out
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// waitActive waits until every bot sees exactly the given bots active.
func waitActive(t testing.TB, conf string, timeout time.Duration, bots ...*bot) {
	t.Helper()
	var want []string
	for _, b := range bots {
		want = append(want, b.key)
	}
	sort.Strings(want)
	for _, b := range bots {
		eventually(t, timeout, b.name+" sees all members active", func() error {
			if got := b.activeKeys(conf); !sameStrings(got, want) {
				return fmt.Errorf("active %d of %d", len(got), len(want))
			}
			return nil
		})
	}
}

// conferenceOf creates a conference on owner and brings members in.
func conferenceOf(t testing.TB, owner *bot, title string, members ...*bot) string {
	t.Helper()
	var r struct {
		Conference string `json:"conference"`
	}
	owner.call("conference.create", map[string]any{"title": title}, &r)
	for _, m := range members {
		owner.call("conference.invite", map[string]any{"conference": r.Conference, "public_key": m.key}, nil)
		m.waitNote("conference.invited", 10*time.Second, inConference(r.Conference))
		if err := m.try("conference.join", map[string]any{"conference": r.Conference}, nil); err != nil {
			t.Fatalf("%s: join: %v", m.name, err)
		}
		m.waitNote("conference.joined", 10*time.Second, inConference(r.Conference))
	}
	return r.Conference
}

// history returns every message of conf that b holds, oldest first.
func (b *bot) history(conf string) []historyMsg {
	var all []historyMsg
	var before int64
	for range 100 {
		var r struct {
			Messages []historyMsg `json:"messages"`
		}
		params := map[string]any{"conference": conf, "limit": 1000}
		if before > 0 {
			params["before"] = before
		}
		b.call("conference.history", params, &r)
		all = append(r.Messages, all...)
		if len(r.Messages) < 1000 {
			break
		}
		before = r.Messages[0].Cursor
	}
	return all
}

// messageSet returns "from/number/text" for each message, sorted.
func messageSet(ms []historyMsg) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%s/%d/%s", m.From, m.Number, m.Text))
	}
	sort.Strings(out)
	return out
}
