package tui

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"confchat/netlayer"
	"confchat/node"
)

// sidebar lists conferences, then (when the peer column is folded in)
// the current conference's peers, then friends: w cells by h lines.
func (a *App) sidebar(w, h int) []string {
	var out []string
	out = append(out, a.st.SectionHead.Render(pad("Conferences", w)))
	if len(a.shown()) == 0 {
		out = append(out, a.st.Dim.Render(pad(" none yet: /create", w)))
	}
	shown := a.shown()
	first, rows := confWindow(len(shown), slices.Index(shown, a.current), a.confBudget(h))
	for i := first; i < first+rows; i++ {
		out = append(out, a.confRow(i, shown[i], w))
	}
	if hidden := len(shown) - rows; hidden > 0 {
		out = append(out, a.st.Dim.Render(pad(fmt.Sprintf(" … %d more (Ctrl+N/P, /join)", hidden), w)))
	}
	if a.lay.peersInSide && !a.current.home {
		out = append(out, "")
		out = append(out, a.peerList(a.current, w, max(0, h-len(out)-a.friendRows()-1))...)
		for len(out) > 0 && strings.TrimSpace(out[len(out)-1]) == "" {
			out = out[:len(out)-1]
		}
	}
	out = append(out, "")
	out = append(out, a.st.SectionHead.Render(pad("Friends", w)))
	if len(a.friends) == 0 && len(a.requests) == 0 {
		out = append(out, a.st.Dim.Render(pad(" none yet: /add", w)))
	}
	for _, r := range a.requests {
		out = append(out, a.st.Hint.Render(pad(" ? "+clean(a.keyName(r.Key), false)+" asks", w)))
	}
	for _, f := range a.friends {
		out = append(out, a.friendRow(f, w))
	}
	if len(out) > h {
		out = out[:h]
	}
	for len(out) < h {
		out = append(out, "")
	}
	for i := range out {
		out[i] = pad(out[i], w)
	}
	return out
}

// confBudget is how many rows the conference list may take in a sidebar
// h rows high: the rest keeps the Friends section (at least a third of
// the sidebar, or all of it when it is short) and its heading.
func (a *App) confBudget(h int) int {
	return max(2, h-2-min(a.friendRows(), max(3, h/3)))
}

// confWindow picks which of n conferences the sidebar lists in budget
// rows: all when they fit, else budget-1 of them (the last row says how
// many more) with the current one, cur (-1: none), always among them.
func confWindow(n, cur, budget int) (first, rows int) {
	if n <= budget {
		return 0, n
	}
	rows = max(1, budget-1)
	if cur >= rows {
		first = cur - rows + 1
	}
	return first, rows
}

// friendRows is how many rows the friends section takes.
func (a *App) friendRows() int { return 2 + max(1, len(a.friends)+len(a.requests)) }

// confRow is "1 Title   3 1/4": index, title, unread count, frozen/total.
func (a *App) confRow(i int, b *buffer, w int) string {
	idx := " "
	if i < 9 {
		idx = fmt.Sprint(i + 1)
	}
	var right string
	switch {
	case b.info.Invited:
		right = "invite"
	default:
		if b.unread > 0 {
			right = fmt.Sprint(b.unread)
			if b.info.Loading && b.unread >= loadingUnreadCap {
				right += "+" // the node counts at most that many until restored
			}
			if b.unread > 999 {
				right = "999+"
			}
		}
		if b.peersLoaded || b.info.PeerCount+b.info.FrozenCount > 0 {
			active, frozen := b.info.PeerCount-1, b.info.FrozenCount
			if b.peersLoaded {
				active, frozen = b.peerCounts()
			}
			right += " " + fmt.Sprintf("%d/%d", frozen, active+frozen+1)
		}
	}
	right = strings.TrimSpace(right)
	titleW := max(1, w-3-width(right)-1)
	name := b.title()
	if b.info.Invited && b.info.Title == "" && b.inviter != "" {
		name = "from " + b.inviter // the row already says "invite"
	}
	title := pad(clean(name, false), titleW)
	row := idx + " " + title + " " + right
	row = pad(row, w)
	switch {
	case b == a.current:
		return a.st.Selected.Render(row)
	case b.mention:
		return a.st.Mention.Render(row)
	case b.unread > 0:
		return a.st.Unread.Render(row)
	case b.info.Invited:
		return a.st.Hint.Render(row)
	}
	return row
}

// loadingUnreadCap is how many unread messages the node counts for a
// conference it has not restored yet (node.ConferenceInfo.Loading).
const loadingUnreadCap = 100

// friendRow is "● name  relay" (online) or "○ name" (offline).
func (a *App) friendRow(f node.FriendInfo, w int) string {
	name := clean(a.keyName(f.Key), false)
	if !f.Confirmed {
		return a.st.Dim.Render(pad(" … "+name+" (asked)", w))
	}
	if !f.Online {
		return a.st.Offline.Render(pad(" ○ "+name, w))
	}
	route := routeLabel(f.Route, a.switchOf(f.Key))
	nameW := max(1, w-3-width(route)-1)
	return a.st.Online.Render(" ● ") + pad(name, nameW) + " " + a.st.Dim.Render(route)
}

// routeLabel names a path and its switch: "relay (switching)" while one
// runs, "relay (switch failed: reason)" after one was abandoned.
func routeLabel(r netlayer.Route, sw string) string {
	s := ""
	switch r {
	case netlayer.RouteDirect:
		s = "direct"
	case netlayer.RouteRelay:
		s = "relay"
	}
	switch {
	case sw == "":
	case strings.HasPrefix(sw, node.SwitchFailedPrefix):
		s += " (switch " + sw + ")"
	default:
		s += " (" + sw + ")"
	}
	return strings.TrimSpace(s)
}

// peerList shows the current conference's members: ourselves, the
// active, then the frozen apart and dimmed with how long they have been
// frozen.
func (a *App) peerList(b *buffer, w, h int) []string {
	var out []string
	if b.home || h <= 0 {
		for len(out) < h {
			out = append(out, strings.Repeat(" ", w))
		}
		return out
	}
	var active, frozen []node.PeerInfo
	for _, p := range b.peers {
		switch {
		case p.Self:
		case p.Frozen:
			frozen = append(frozen, p)
		default:
			active = append(active, p)
		}
	}
	sort.SliceStable(active, func(i, j int) bool { return strings.ToLower(active[i].Name) < strings.ToLower(active[j].Name) })
	sort.SliceStable(frozen, func(i, j int) bool { return frozen[i].FrozenSince.After(frozen[j].FrozenSince) })
	out = append(out, a.st.SectionHead.Render(pad(fmt.Sprintf("Online %d", len(active)+1), w)))
	out = append(out, a.st.Self.Render(pad(" "+a.render().selfName+" (you)", w)))
	for _, p := range active {
		out = append(out, " "+nickColor(p.Key).Render(pad(a.peerName(p), w-1)))
	}
	if len(frozen) > 0 {
		out = append(out, "")
		out = append(out, a.st.SectionHead.Render(pad(fmt.Sprintf("Frozen %d", len(frozen)), w)))
		now := a.opt.Now()
		for _, p := range frozen {
			d := ""
			if !p.FrozenSince.IsZero() {
				d = shortDuration(now.Sub(p.FrozenSince))
			}
			nameW := max(1, w-2-width(d))
			out = append(out, a.st.Dim.Render(" "+pad(a.peerName(p), nameW)+" "+d))
		}
	}
	if len(out) > h {
		more := len(out) - h + 1
		out = append(out[:h-1], a.st.Dim.Render(pad(fmt.Sprintf(" … %d more (/peers)", more), w)))
	}
	for len(out) < h {
		out = append(out, "")
	}
	for i := range out {
		out[i] = pad(out[i], w)
	}
	return out
}

func (a *App) peerName(p node.PeerInfo) string {
	if p.Name != "" {
		return clean(p.Name, false)
	}
	return p.Key.Short()
}

// shortDuration is "45s", "12m", "3h", "2d".
func shortDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
