package tui

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"confchat/identity"
)

// layout is where each pane goes, recomputed on every resize.
type layout struct {
	sideW, peersW, chatW int
	bodyH, inputY        int
	peersInSide          bool
}

// Pane widths by terminal width.
const (
	wideFrom   = 100 // sidebar, chat and a peer list column
	sideFrom   = 70  // sidebar (with the peers folded in) and chat
	sideWide   = 24
	sideNarrow = 20
	peersWide  = 22
	// homeIDWidth is what the home pane needs to show the ID unwrapped
	// (its indent and the 76 hex characters).
	homeIDWidth = 2 + identity.IDLen
)

// layout recomputes the panes for the current size.
func (a *App) layout() {
	w, h := max(a.width, 1), max(a.height, 1)
	var l layout
	switch {
	case w >= wideFrom && a.current.home:
		l.sideW = sideWide
	case w >= wideFrom:
		l.sideW, l.peersW = sideWide, peersWide
	case w >= sideFrom:
		l.sideW, l.peersInSide = sideNarrow, true
	}
	if a.current.home && w-l.sideW-1 < homeIDWidth {
		// The home screen shows our full ID on one line, to copy it
		// whole: without room for it beside the sidebar, the sidebar
		// folds away there (it comes back in any conference).
		l.sideW, l.peersInSide = 0, false
	}
	l.chatW = w
	if l.sideW > 0 {
		l.chatW -= l.sideW + 1
	}
	if l.peersW > 0 {
		l.chatW -= l.peersW + 1
	}
	a.input.setWidth(w)
	ih := a.input.height()
	l.bodyH = max(0, h-2-ih)
	l.inputY = 1 + l.bodyH
	a.lay = l
}

func (a *App) render() chatRender {
	name := a.self.Name
	if name == "" {
		name = "me"
	}
	return chatRender{st: &a.st, loc: a.opt.Location, now: a.opt.Now(), selfName: name}
}

// View draws the whole screen.
func (a *App) View() tea.View {
	content := a.screen()
	v := tea.NewView(content)
	v.AltScreen = true
	v.ReportFocus = true
	if a.mouse {
		v.MouseMode = tea.MouseModeCellMotion
	}
	v.WindowTitle = "confchat — " + a.current.title()
	if a.confirm == nil && !a.showHelp {
		if c := a.input.ta.Cursor(); c != nil {
			c.Position.Y += a.lay.inputY
			v.Cursor = c
		}
	}
	return v
}

// screen is the screen's text, also what the golden tests compare.
func (a *App) screen() string {
	w := max(a.width, 1)
	rows := []string{a.titleBar(w)}
	rows = append(rows, a.body()...)
	rows = append(rows, a.inputView(w))
	rows = append(rows, a.statusLine(w))
	return strings.Join(rows, "\n")
}

// body is the middle rows: sidebar | chat | peers, or an overlay.
func (a *App) body() []string {
	l := a.lay
	h := l.bodyH
	if h <= 0 {
		return nil
	}
	if a.showHelp {
		return strings.Split(a.helpView(max(a.width, 1), h), "\n")
	}
	var chat string
	switch {
	case a.results != nil:
		chat = a.results.view(a, l.chatW, h)
	default:
		chat = a.render().view(a.current, l.chatW, h)
	}
	cols := [][]string{}
	sep := a.st.Separator.Render("│")
	if l.sideW > 0 {
		cols = append(cols, a.sidebar(l.sideW, h))
	}
	cols = append(cols, strings.Split(chat, "\n"))
	if l.peersW > 0 {
		cols = append(cols, a.peerList(a.current, l.peersW, h))
	}
	out := make([]string, h)
	for i := range out {
		var b strings.Builder
		for j, c := range cols {
			if j > 0 {
				b.WriteString(sep)
			}
			if i < len(c) {
				b.WriteString(c[i])
			}
		}
		out[i] = b.String()
	}
	return out
}

// titleBar names the current buffer, its peers and anything waiting.
func (a *App) titleBar(w int) string {
	b := a.current
	var parts []string
	title := " " + clean(b.title(), false)
	if a.lay.sideW == 0 && !b.home {
		title = fmt.Sprintf(" [%d/%d] %s", a.index(b)+1, len(a.shown()), clean(b.title(), false))
	}
	parts = append(parts, title)
	if !b.home {
		active, frozen := b.peerCounts()
		switch {
		case b.info.Invited:
			parts = append(parts, "invited — /join to accept")
		case !b.peersLoaded:
		case active+frozen == 0:
			parts = append(parts, "only you — /invite a friend")
		default:
			parts = append(parts, fmt.Sprintf("%d online incl. you, %d frozen", active+1, frozen))
		}
		if n := b.pendingCount(); n > 0 {
			if active == 0 {
				parts = append(parts, fmt.Sprintf("%d waiting for a peer", n))
			} else {
				parts = append(parts, fmt.Sprintf("%d pending", n))
			}
		}
	}
	right := "? help "
	if !a.quitArmed.IsZero() {
		right = "press Ctrl+C again to quit "
	}
	left := strings.Join(parts, " · ")
	gap := w - width(left) - width(right)
	if gap < 1 {
		left = truncate(left, max(0, w-width(right)-1))
		gap = w - width(left) - width(right)
	}
	line := left + strings.Repeat(" ", max(0, gap)) + right
	return a.st.TitleBar.Render(pad(line, w))
}

// inputView is the input line, or the y/N prompt in its place.
func (a *App) inputView(w int) string {
	if a.confirm != nil {
		return a.st.Hint.Render(pad(a.confirm.question+" [y/N] ", w))
	}
	v := a.input.ta.View()
	lines := strings.Split(v, "\n")
	if rem := a.input.remaining(); rem < 200 && len(lines) > 0 {
		tag := fmt.Sprintf(" %d left", rem)
		st := a.st.Hint
		if rem < 0 {
			tag = fmt.Sprintf(" %d too long", -rem)
			st = a.st.Error
		}
		last := len(lines) - 1
		lines[last] = pad(lines[last], max(0, w-width(tag))) + st.Render(tag)
	}
	for i := range lines {
		lines[i] = pad(lines[i], w)
	}
	return strings.Join(lines, "\n")
}
