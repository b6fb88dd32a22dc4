package tui

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"confchat/identity"
	"confchat/node"
)

// testNow is the fixed clock of every test.
var testNow = time.Date(2026, 12, 1, 21, 30, 0, 0, time.UTC)

// harness drives an App synchronously: every Cmd runs at once and its
// message goes back into Update, breadth first, as bubbletea would.
type harness struct {
	t    *testing.T
	f    *fakeNode
	evs  *closedEvents
	app  *App
	quit bool
}

// closedEvents never blocks: tests deliver node events with event().
type closedEvents struct{}

func (closedEvents) Next(context.Context) (node.Event, bool) { return nil, false }

func newHarness(t *testing.T, f *fakeNode, w, h int) *harness {
	t.Helper()
	snap, err := Load(context.Background(), f, 50)
	if err != nil {
		t.Fatal(err)
	}
	a := New(context.Background(), f, closedEvents{}, snap,
		Options{Now: func() time.Time { return testNow }, Location: time.UTC, HistoryPage: 50, NoTicks: true})
	hs := &harness{t: t, f: f, app: a}
	hs.send(tea.WindowSizeMsg{Width: w, Height: h})
	hs.run(a.Init())
	return hs
}

// send delivers messages and runs every Cmd they lead to.
func (h *harness) send(msgs ...tea.Msg) {
	h.t.Helper()
	var queue []tea.Cmd
	for _, m := range msgs {
		_, cmd := h.app.Update(m)
		queue = append(queue, cmd)
	}
	h.drain(queue)
}

func (h *harness) run(cmd tea.Cmd) { h.drain([]tea.Cmd{cmd}) }

func (h *harness) drain(queue []tea.Cmd) {
	h.t.Helper()
	for steps := 0; len(queue) > 0; steps++ {
		if steps > 10000 {
			h.t.Fatal("commands do not settle")
		}
		cmd := queue[0]
		queue = queue[1:]
		if cmd == nil {
			continue
		}
		msg := cmd()
		switch m := msg.(type) {
		case nil, eventsEndedMsg:
			continue
		case tea.BatchMsg:
			queue = append(queue, m...)
			continue
		case tea.QuitMsg:
			h.quit = true
			continue
		}
		if v := reflect.ValueOf(msg); v.Kind() == reflect.Slice && v.Type().Elem() == reflect.TypeFor[tea.Cmd]() {
			for i := range v.Len() {
				queue = append(queue, v.Index(i).Interface().(tea.Cmd))
			}
			continue
		}
		_, next := h.app.Update(msg)
		queue = append(queue, next)
	}
}

// event delivers node events.
func (h *harness) event(evs ...node.Event) {
	h.t.Helper()
	for _, ev := range evs {
		h.send(eventMsg{ev: ev})
	}
}

// typeText types s key by key, then presses the named keys.
func (h *harness) typeText(s string) {
	h.t.Helper()
	for _, r := range s {
		h.send(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

func (h *harness) press(keys ...string) {
	h.t.Helper()
	for _, k := range keys {
		h.send(keyMsg(k))
	}
}

// enter types a line and presses Enter.
func (h *harness) enter(line string) {
	h.t.Helper()
	h.typeText(line)
	h.press("enter")
}

// screen is the screen without colours.
func (h *harness) screen() string { return ansi.Strip(h.app.screen()) }

func (h *harness) mustSee(want string) {
	h.t.Helper()
	if s := h.screen(); !strings.Contains(s, want) {
		h.t.Fatalf("screen lacks %q:\n%s", want, s)
	}
}

func (h *harness) mustNotSee(want string) {
	h.t.Helper()
	if s := h.screen(); strings.Contains(s, want) {
		h.t.Fatalf("screen shows %q:\n%s", want, s)
	}
}

// keyMsg builds a key press from its bubbletea name ("ctrl+n", "alt+1", "pgup").
func keyMsg(name string) tea.KeyPressMsg {
	var k tea.Key
	parts := strings.Split(name, "+")
	for _, p := range parts[:len(parts)-1] {
		switch p {
		case "ctrl":
			k.Mod |= tea.ModCtrl
		case "alt":
			k.Mod |= tea.ModAlt
		case "shift":
			k.Mod |= tea.ModShift
		}
	}
	switch last := parts[len(parts)-1]; last {
	case "enter":
		k.Code = tea.KeyEnter
	case "tab":
		k.Code = tea.KeyTab
	case "esc":
		k.Code = tea.KeyEscape
	case "up":
		k.Code = tea.KeyUp
	case "down":
		k.Code = tea.KeyDown
	case "pgup":
		k.Code = tea.KeyPgUp
	case "pgdown":
		k.Code = tea.KeyPgDown
	case "home":
		k.Code = tea.KeyHome
	case "end":
		k.Code = tea.KeyEnd
	case "backspace":
		k.Code = tea.KeyBackspace
	default:
		k.Code = []rune(last)[0]
		if k.Mod == 0 {
			k.Text = last
		}
	}
	return tea.KeyPressMsg(k)
}

// scenario fixtures ---------------------------------------------------

var (
	bobKey   = pk(0xb0)
	carolKey = pk(0xc0)
	daveKey  = pk(0xd0)
	roomID   = confID(0x11)
	teamID   = confID(0x22)
)

func msgAt(seq int64, from identity.PublicKey, name, text string, min int, self bool) node.HistoryEntry {
	return node.HistoryEntry{Message: node.Message{Seq: seq, From: from, Name: name, Text: text,
		Number: uint32(seq), Time: testNow.Add(time.Duration(min-30) * time.Minute), Self: self}}
}

// withConversation is a profile with two conferences, friends and a
// conversation in the first, where carol is frozen and our last message
// is still pending.
func withConversation() *fakeNode {
	f := newFakeNode()
	f.friends = []node.FriendInfo{
		{Key: bobKey, Name: "bob", Confirmed: true, Online: true, Route: 1},
		{Key: carolKey, Name: "carol", Confirmed: true},
	}
	f.confs = []node.ConferenceInfo{
		{ID: roomID, Title: "Tea room", Joined: true, PeerCount: 2, FrozenCount: 1, LastRead: 3},
		{ID: teamID, Title: "Team 🚀 开发", Joined: true, PeerCount: 2, Unread: 4},
	}
	f.peers[roomID] = []node.PeerInfo{
		{Key: f.self.Key, Name: "alice", Self: true},
		{Key: bobKey, Name: "bob"},
		{Key: carolKey, Name: "carol", Frozen: true, FrozenSince: testNow.Add(-7 * time.Minute)},
	}
	f.peers[teamID] = []node.PeerInfo{{Key: f.self.Key, Name: "alice", Self: true}, {Key: daveKey, Name: "dave"}}
	f.history[roomID] = []node.HistoryEntry{
		msgAt(1, bobKey, "bob", "morning! anyone up for tea?", 1, false),
		msgAt(2, f.self.Key, "alice", "yes, give me five minutes", 2, true),
		msgAt(3, carolKey, "carol", "I'll bring biscuits 🍪", 3, false),
		{Message: node.Message{Seq: 4, From: bobKey, Name: "bob", Text: "puts the kettle on", Action: true, Number: 4, Time: testNow.Add(-26 * time.Minute)}},
		msgAt(5, bobKey, "bob", "a long line that should wrap neatly under the text column, not under the timestamp, however narrow the terminal gets", 5, false),
	}
	pending := msgAt(6, f.self.Key, "alice", "carol, are you still there?", 6, true)
	pending.Pending = true
	f.history[roomID] = append(f.history[roomID], pending)
	f.inputs[roomID] = []string{"earlier line"}
	return f
}
