package tui

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"

	"confchat/node"
)

func itoa(n int) string { return strconv.Itoa(n) }

// searchView shows /search results in place of the chat until Esc.
type searchView struct {
	title string
	lines []entry
}

func newSearchView(a *App, m searchMsg) *searchView {
	where := "this conference"
	if m.all {
		where = "every conference"
	}
	sv := &searchView{title: fmt.Sprintf("%d result%s for %q in %s — Esc closes", len(m.results), plural(len(m.results)), clean(m.query, false), where)}
	// Results come newest first; show them oldest first like the chat.
	for i := len(m.results) - 1; i >= 0; i-- {
		r := m.results[i]
		e := entryFromHistory(r.HistoryEntry)
		e.state = stateDone
		if m.all {
			if b := a.byID[r.Conference]; b != nil {
				e.text = "[" + b.title() + "] " + e.text
			}
		}
		sv.lines = append(sv.lines, e)
	}
	return sv
}

func (s *searchView) view(a *App, w, h int) string {
	b := &buffer{entries: s.lines, readUpTo: len(s.lines), home: true}
	body := a.render().view(b, w, max(0, h-1))
	head := a.st.SectionHead.Render(pad(truncate(s.title, w), w))
	if h <= 1 {
		return head
	}
	return head + "\n" + body
}

// helpLines is the ? screen's text: key bindings (through bubbles/help)
// and the commands, for a pane w cells wide.
func (a *App) helpLines(w int) []string {
	a.help.SetWidth(w)
	groups := a.keys.FullHelp()
	var b strings.Builder
	b.WriteString(a.st.HelpTitle.Render("Keys") + "\n")
	switch {
	case w >= 140:
		b.WriteString(a.help.FullHelpView(groups) + "\n")
	case w >= 96:
		b.WriteString(a.help.FullHelpView(groups[:2]) + "\n")
		b.WriteString(a.help.FullHelpView(groups[2:]) + "\n")
	default:
		for _, g := range groups {
			b.WriteString(a.help.FullHelpView([][]key.Binding{g}) + "\n")
		}
	}
	b.WriteString("\n" + a.st.HelpTitle.Render("Commands") + "  (Tab completes commands, names and titles)\n")
	for _, c := range commandList() {
		left := "/" + c.name
		if c.args != "" {
			left += " " + c.args
		}
		b.WriteString(" " + pad(left, 26) + " " + c.help + "\n")
	}
	b.WriteString("\n" + a.st.Dim.Render("Sidebar: unread count, then frozen/all peers. Alt+M off lets you select text."))
	return strings.Split(b.String(), "\n")
}

// helpView is the ? screen, scrolled by helpTop, h lines of w cells.
func (a *App) helpView(w, h int) string {
	lines := a.helpLines(w)
	a.helpTop = max(0, min(a.helpTop, len(lines)-h+1))
	lines = lines[a.helpTop:]
	footer := "Esc or ? closes"
	if len(lines) > h {
		lines = lines[:h-1]
		footer = "↓/PgDn for more · " + footer
	} else if len(lines) == h {
		lines = lines[:h-1]
	}
	for len(lines) < h-1 {
		lines = append(lines, "")
	}
	lines = append(lines, a.st.Dim.Render(footer))
	for i := range lines {
		lines[i] = pad(lines[i], w)
	}
	return strings.Join(lines, "\n")
}

// welcome fills the home buffer: who we are, and for an empty profile
// the first steps.
func (a *App) welcome() {
	h := a.home
	h.add(entry{kind: kindHint, text: "Welcome to confchat — peer-to-peer group chat."})
	h.add(entry{kind: kindHint, text: "Your ID (/id copies it):"})
	h.add(entry{kind: kindHint, text: a.self.ID.String()})
	for i, ad := range a.self.Addresses {
		label := "Address:  "
		switch {
		case len(a.self.Addresses) > 1 && i == 0:
			label = "Addresses: "
		case i > 0:
			label = "           " // aligned under the first
		}
		h.add(entry{kind: kindHint, text: label + ad})
	}
	if onlyLoopback(a.self.Addresses) {
		h.add(entry{kind: kindHint, text: loopbackHint})
	}
	if len(a.byID) == 0 && len(a.friends) == 0 {
		h.add(entry{kind: kindHint, text: ""})
		h.add(entry{kind: kindHint, text: "To start chatting:"})
		h.add(entry{kind: kindHint, text: "1. Send your ID and address to a friend; get theirs (they type /id)."})
		h.add(entry{kind: kindHint, text: "2. /add THEIR-ID THEIR-ADDRESS hello — asks them to be your friend."})
		h.add(entry{kind: kindHint, text: "3. When they accept: /create Our chat, then /invite THEIR-NAME (Tab completes)."})
		h.add(entry{kind: kindHint, text: "A friend who adds you shows up here: /accept."})
	} else {
		h.add(entry{kind: kindHint, text: "Ctrl+N / Ctrl+P go through your conferences; ? lists keys, /help commands."})
	}
	h.add(entry{kind: kindHint, text: "Press ? for keys, /help for commands, Ctrl+C twice to quit."})
	h.readUpTo = len(h.entries)
}

var _ = node.ConferenceID{}

// loopbackHint follows an address only this machine can dial.
const loopbackHint = "(that address works on this machine only: start confchat with --advertise HOST:PORT to be reachable from elsewhere)"

// onlyLoopback reports whether every address is a loopback one (the node
// advertises 127.0.0.1 when it listens on all interfaces).
func onlyLoopback(addrs []string) bool {
	if len(addrs) == 0 {
		return false
	}
	for _, ad := range addrs {
		host, _, err := net.SplitHostPort(ad)
		ip := net.ParseIP(host)
		if err != nil || ip == nil || !ip.IsLoopback() {
			return false
		}
	}
	return true
}
