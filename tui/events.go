package tui

import (
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"confchat/node"
)

// rollDelay is how long joins and unfreezes gather before they are shown;
// more than rollMax of them become one summary line.
const (
	rollDelay = 1500 * time.Millisecond
	rollMax   = 3
)

// handleEvent applies one node event to the screen state.
func (a *App) handleEvent(ev node.Event) tea.Cmd {
	switch ev := ev.(type) {
	case node.Lagged:
		return tea.Batch(a.refreshConferences(), a.refreshFriends(), a.refreshRequests(), a.reloadPeers())
	case node.FriendRequestReceived:
		msg := ""
		if ev.Message != "" {
			msg = fmt.Sprintf(" — %q", clean(ev.Message, false))
		}
		name := clean(ev.Name, false)
		if name == "" {
			name = ev.From.Short()
		}
		a.systemLine(a.home, kindHint, fmt.Sprintf("%s (%s) asks to be your friend%s: /accept %s or /decline %s",
			name, ev.From.Short(), msg, ev.From.Short(), ev.From.Short()))
		a.echoHome()
		return a.refreshRequests()
	case node.FriendAccepted:
		a.systemLine(a.home, kindSystem, fmt.Sprintf("%s is now your friend: /invite them to a conference", a.friendLabel(ev.Friend, ev.Name)))
		a.echoHome()
		return tea.Batch(a.refreshFriends(), a.refreshRequests())
	case node.DHTPublished, node.DHTChanged:
		return a.refreshStatus()
	case node.FriendOnline, node.FriendRenamed:
		return tea.Batch(a.refreshFriends(), a.refreshStatus())
	case node.FriendOffline:
		delete(a.switches, ev.Friend)
		return tea.Batch(a.refreshFriends(), a.refreshStatus())
	case node.FriendRemoved:
		a.systemLine(a.home, kindSystem, a.keyName(ev.Friend)+" is no longer a friend")
		return a.refreshFriends()
	case node.RouteChanged:
		if ev.Switch == "" {
			delete(a.switches, ev.Peer)
		} else {
			a.switches[ev.Peer] = ev.Switch
		}
		return tea.Batch(a.refreshFriends(), a.refreshStatus())
	case node.ConferenceInvited:
		what := "a conference"
		if ev.Title != "" {
			what = fmt.Sprintf("%q", clean(ev.Title, false))
		}
		a.systemLine(a.home, kindHint, fmt.Sprintf("%s invited you to %s: /join to accept (/invites lists them)",
			a.keyName(ev.From), what))
		a.echoHome()
		return a.refreshConferences()
	case node.ConferenceJoined:
		if a.joining[ev.Conference] {
			delete(a.joining, ev.Conference)
			a.switchOnList = ev.Conference
		}
		return a.refreshConferences()
	case node.ConferenceLeft:
		return a.refreshConferences()
	case node.MessageReceived:
		return a.onMessage(ev)
	case node.MessageDelivered:
		a.onDelivered(ev)
		return nil
	case node.PeerJoined:
		return a.roll(ev.Conference, ev.Name, a.keyName(ev.Peer), true)
	case node.PeerUnfrozen:
		return a.roll(ev.Conference, ev.Name, a.keyName(ev.Peer), false)
	case node.PeerLeft:
		return a.peerLine(ev.Conference, nameOr(ev.Name, a.keyName(ev.Peer))+" left")
	case node.PeerFrozen:
		return a.peerLine(ev.Conference, nameOr(ev.Name, a.keyName(ev.Peer))+" is frozen (silent)")
	case node.TitleChanged:
		if b := a.byID[ev.Conference]; b != nil {
			b.info.Title = ev.Title
			a.systemLine(b, kindSystem, fmt.Sprintf("%s set the title to %q", a.who(ev.By), clean(ev.Title, false)))
		}
		return a.refreshConferences()
	case node.NameChanged:
		b := a.byID[ev.Conference]
		if b == nil {
			return nil
		}
		old := ""
		for i := range b.peers {
			if b.peers[i].Key == ev.Peer {
				old = b.peers[i].Name
				b.peers[i].Name = ev.Name
			}
		}
		if old != "" && old != ev.Name {
			a.systemLine(b, kindSystem, fmt.Sprintf("%s is now known as %s", clean(old, false), clean(ev.Name, false)))
		}
		return nil
	case node.StorageFailed:
		state := "it will retry"
		if !ev.Retrying {
			state = "it gave up"
		}
		a.systemLine(a.current, kindError, fmt.Sprintf("the profile database refused a write (%s): %v", state, ev.Err))
		return nil
	}
	return nil
}

// echoHome repeats the newest home line in the current conference so
// requests and invites are seen wherever the user is.
func (a *App) echoHome() {
	if a.current == a.home || len(a.home.entries) == 0 {
		return
	}
	a.current.add(a.home.entries[len(a.home.entries)-1])
}

// onMessage appends another member's message to its conference.
func (a *App) onMessage(ev node.MessageReceived) tea.Cmd {
	b := a.byID[ev.Conference]
	if b == nil {
		return a.refreshConferences()
	}
	if ev.Message.Self {
		return nil
	}
	e := entryFromMessage(ev.Message)
	e.mention = !e.self && a.mentions(e.text)
	b.add(e)
	var cmds []tea.Cmd
	if b.info.Hidden || a.index(b) < 0 {
		// The node reopens a hidden conference on activity; so do we.
		b.info.Hidden = false
		a.bufs = append(a.bufs, b)
	}
	if b == a.current && b.scroll == 0 {
		b.readUpTo = len(b.entries)
		cmds = append(cmds, a.markRead(b))
	} else {
		b.unread++
		if a.mentions(ev.Message.Text) {
			b.mention = true
		}
	}
	return tea.Batch(cmds...)
}

// mentions reports whether text names us (case-insensitive, whole word).
func (a *App) mentions(text string) bool {
	name := strings.ToLower(strings.TrimSpace(a.self.Name))
	if name == "" {
		return false
	}
	t := strings.ToLower(text)
	for i := 0; ; {
		j := strings.Index(t[i:], name)
		if j < 0 {
			return false
		}
		s, e := i+j, i+j+len(name)
		if (s == 0 || !isWordByte(t[s-1])) && (e == len(t) || !isWordByte(t[e])) {
			return true
		}
		i = s + 1
	}
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 0x80
}

// onDelivered clears the pending mark of our messages up to UpTo.
func (a *App) onDelivered(ev node.MessageDelivered) {
	b := a.byID[ev.Conference]
	if b == nil {
		return
	}
	b.info.Delivered = max(b.info.Delivered, ev.UpTo)
	for i := b.unsettled(); i < len(b.entries); i++ {
		e := &b.entries[i]
		if e.self && e.state == statePending && e.number <= ev.UpTo {
			e.state, e.lines = stateDone, nil
		}
	}
}

// roll gathers joins and unfreezes; rollMsg flushes them as lines.
func (a *App) roll(id node.ConferenceID, name, short string, joined bool) tea.Cmd {
	b := a.byID[id]
	if b == nil {
		return nil
	}
	b.pendingRoll = append(b.pendingRoll, rollItem{name: nameOr(name, short), joined: joined})
	cmds := []tea.Cmd{a.loadPeers(id)}
	if len(b.pendingRoll) == 1 {
		cmds = append(cmds, a.later(rollDelay, rollMsg{id: id}))
	}
	return tea.Batch(cmds...)
}

// flushRoll writes the gathered joins: one line each when few, one
// summary line when many.
func (a *App) flushRoll(id node.ConferenceID) {
	b := a.byID[id]
	if b == nil || len(b.pendingRoll) == 0 {
		return
	}
	items := b.pendingRoll
	b.pendingRoll = nil
	if len(items) <= rollMax {
		for _, it := range items {
			verb := "is back"
			if it.joined {
				verb = "joined"
			}
			a.systemLine(b, kindSystem, clean(it.name, false)+" "+verb)
		}
		return
	}
	var names []string
	for _, it := range items {
		names = append(names, clean(it.name, false))
	}
	shown := names
	more := ""
	if len(shown) > 5 {
		shown, more = shown[:5], fmt.Sprintf(" and %d more", len(names)-5)
	}
	a.systemLine(b, kindSystem, fmt.Sprintf("%d peers joined or came back: %s%s", len(items), strings.Join(shown, ", "), more))
}

// peerLine writes a leave or freeze line and refreshes the peer list.
func (a *App) peerLine(id node.ConferenceID, text string) tea.Cmd {
	b := a.byID[id]
	if b == nil {
		return nil
	}
	a.systemLine(b, kindSystem, text)
	return a.loadPeers(id)
}

func (a *App) reloadPeers() tea.Cmd {
	if a.current.home {
		return nil
	}
	return a.loadPeers(a.current.id)
}

// systemLine appends a system, error or hint line to b.
func (a *App) systemLine(b *buffer, k entryKind, text string) {
	b.add(entry{kind: k, time: a.opt.Now(), text: text})
}

func (a *App) friendLabel(k [32]byte, name string) string {
	if name != "" {
		return clean(name, false)
	}
	return a.keyName(k)
}

func nameOr(name, def string) string {
	if name != "" {
		return name
	}
	return def
}

// who names a key for a system line: "you" for ourselves.
func (a *App) who(k [32]byte) string {
	if k == a.self.Key {
		return "you"
	}
	return clean(a.keyName(k), false)
}

// later delivers m after d (at once when ticks are off, in tests).
func (a *App) later(d time.Duration, m tea.Msg) tea.Cmd {
	if a.opt.NoTicks {
		return func() tea.Msg { return m }
	}
	return tea.Tick(d, func(time.Time) tea.Msg { return m })
}
