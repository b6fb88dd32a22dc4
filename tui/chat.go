package tui

import (
	"fmt"
	"strings"
	"time"
)

// maxNickCells caps a nick's width so a long name cannot eat the pane.
const maxNickCells = 16

// chatRender holds what rendering a buffer needs besides the buffer.
type chatRender struct {
	st       *Styles
	loc      *time.Location
	now      time.Time
	selfName string
}

// entryLines renders (and caches) one entry wrapped to w cells.
func (r chatRender) entryLines(e *entry, w int) []string {
	if e.width == w && e.lines != nil {
		return e.lines
	}
	e.width, e.lines = w, r.render(e, w)
	return e.lines
}

// render draws one entry: "15:04 <nick> text", continuation lines
// indented under the text.
func (r chatRender) render(e *entry, w int) []string {
	st := r.st
	ts := e.time.In(r.loc).Format("15:04")
	if e.time.IsZero() {
		ts = "     "
	}
	prefix := st.Time.Render(ts) + " "
	pw := 6
	text := clean(e.text, true)
	var textStyle = st.Item
	switch e.kind {
	case kindMessage, kindAction:
		name := r.nick(e)
		if e.kind == kindAction {
			prefix += "* " + name + " "
			pw += 3 + width(name)
		} else {
			prefix += "<" + name + "> "
			pw += 3 + width(name)
		}
		switch {
		case e.self:
			textStyle = st.Self
		case e.mention:
			textStyle = st.Mention
		}
	case kindSystem:
		prefix += st.Dim.Render("--") + " "
		pw += 3
		textStyle = st.System
	case kindError:
		prefix += st.Error.Render("!!") + " "
		pw += 3
		textStyle = st.Error
	case kindHint:
		if e.time.IsZero() {
			prefix, pw = "  ", 2
		} else {
			prefix += st.Hint.Render("**") + " "
			pw += 3
		}
		textStyle = st.Hint
	}
	if pw > w/2 {
		// A narrow pane: the text starts on the next line.
		return r.stacked(prefix, text, textStyle, e, w)
	}
	tw := w - pw
	lines := wrap(text, tw)
	out := make([]string, len(lines))
	indent := strings.Repeat(" ", pw)
	for i, l := range lines {
		body := textStyle.Render(l)
		if i == 0 {
			out[i] = prefix + body
		} else {
			out[i] = indent + body
		}
	}
	if mark := r.mark(e); mark != "" {
		last := len(out) - 1
		if width(lines[last])+1+width(mark) <= tw {
			out[last] += " " + st.Pending.Render(mark)
		} else {
			out = append(out, indent+st.Pending.Render(mark))
		}
	}
	return out
}

func (r chatRender) stacked(prefix, text string, ts interface{ Render(...string) string }, e *entry, w int) []string {
	out := []string{truncate(prefix, w)}
	for _, l := range wrap(text, max(1, w-2)) {
		out = append(out, "  "+ts.Render(l))
	}
	if mark := r.mark(e); mark != "" {
		out = append(out, "  "+r.st.Pending.Render(mark))
	}
	return out
}

// mark is the delivery mark of our own messages.
func (r chatRender) mark(e *entry) string {
	switch e.state {
	case stateSending:
		return "[sending]"
	case statePending:
		return "[pending]"
	}
	return ""
}

// nick is the coloured, width-capped name of an entry's author.
func (r chatRender) nick(e *entry) string {
	name := e.name
	if e.self && r.selfName != "" {
		name = r.selfName
	}
	if name == "" {
		name = e.from.Short()
	}
	name = truncate(clean(name, false), maxNickCells)
	if e.self {
		return r.st.Self.Render(name)
	}
	return nickColor(e.from).Render(name)
}

// chatLine is one screen line of the chat pane.
type chatLine = string

// collect returns need lines of b (oldest first) that end skip lines
// above the newest, and whether they reach the start of what is loaded.
// Lines below the window are only counted, never copied, so a frame far
// back in a long history costs little more than one at the bottom.
//
// seen is how many lines it went through; when top is true that is every
// line below the head line, so the caller knows how far back b can scroll.
func (r chatRender) collect(b *buffer, w, skip, need int) (lines []chatLine, top bool, seen int) {
	marker := -1
	if b.readUpTo < len(b.entries) && b.hasOthersAfter(b.readUpTo) {
		marker = b.readUpTo
	}
	rev := make([]chatLine, 0, need)
	emit := func(l string) {
		if seen >= skip && len(rev) < need {
			rev = append(rev, l)
		}
		seen++
	}
	for i := len(b.entries) - 1; i >= 0 && len(rev) < need; i-- {
		el := r.entryLines(&b.entries[i], w)
		if seen+len(el) <= skip {
			seen += len(el) // wholly below the window
		} else {
			for j := len(el) - 1; j >= 0; j-- {
				emit(el[j])
			}
		}
		if i == marker {
			emit(r.markerLine(w))
		}
		if d := r.dayChange(b, i); d != "" {
			emit(d)
		}
	}
	top = len(rev) < need
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev, top, seen
}

// hasOthersAfter reports whether a message from someone else is at or
// after index i: only those make a "last read" marker worth drawing.
func (b *buffer) hasOthersAfter(i int) bool {
	for ; i < len(b.entries); i++ {
		e := &b.entries[i]
		if (e.kind == kindMessage || e.kind == kindAction) && !e.self {
			return true
		}
	}
	return false
}

func (r chatRender) markerLine(w int) string {
	label := " new messages "
	side := max(0, (w-width(label))/2)
	return r.st.Marker.Render(truncate(strings.Repeat("─", side)+label+strings.Repeat("─", max(0, w-side-width(label))), w))
}

// dayChange is the separator drawn above entry i when its day differs
// from the entry before it (or, for the first, from today). Day numbers
// are cached in the entries: a frame far back in history compares ints.
func (r chatRender) dayChange(b *buffer, i int) string {
	e := &b.entries[i]
	if e.time.IsZero() {
		return ""
	}
	d := r.dayOf(e)
	if i > 0 {
		p := &b.entries[i-1]
		if p.time.IsZero() || r.dayOf(p) == d {
			return ""
		}
	} else if d == dayNumber(r.now.In(r.loc)) {
		return ""
	}
	return r.st.Dim.Render("── " + e.time.In(r.loc).Format("Mon 2 Jan 2006") + " ──")
}

func (r chatRender) dayOf(e *entry) int32 {
	if e.day == 0 {
		e.day = dayNumber(e.time.In(r.loc))
	}
	return e.day
}

// dayNumber is t's calendar day, counted from 1970-01-01, plus one.
func dayNumber(t time.Time) int32 {
	y, m, d := t.Date()
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()/86400) + 1
}

// view draws the chat pane of b: h lines of w cells.
func (r chatRender) view(b *buffer, w, h int) string {
	if h <= 0 || w <= 0 {
		return ""
	}
	lines, _ := r.window(b, w, h)
	for i := range lines {
		lines[i] = pad(lines[i], w)
	}
	return strings.Join(lines, "\n")
}

// window is the h lines the pane shows at b's scroll position, and how
// far b can scroll back with what is loaded (-1: not at the top yet).
// The lines above the newest form one virtual list: a head line ("start
// of the conversation", "loading…"), then the entries' lines; while
// scrolled up the last screen line is a "more below" hint.
func (r chatRender) window(b *buffer, w, h int) (out []string, maxScroll int) {
	return r.windowAt(b, w, h, true)
}

// windowAt is window; clamp lets it move a scroll that is past the top
// (Home asks for 1<<30 lines) to the top screen once.
func (r chatRender) windowAt(b *buffer, w, h int, clamp bool) (out []string, maxScroll int) {
	body := h
	var footer string
	if b.scroll > 0 && h > 1 {
		n := "more below"
		if b.newBelow > 0 {
			n = fmt.Sprintf("%d new message%s below", b.newBelow, plural(b.newBelow))
		}
		footer = r.st.Hint.Render(truncate("  ↓ "+n+" — End or PgDn to read", w))
		body--
	}
	lines, top, seen := r.collect(b, w, b.scroll, body)
	maxScroll = -1
	if top {
		// The window reaches the head line (or past it): place it.
		total := seen // every line below the head line
		if head := r.head(b); head != "" {
			lines = append([]string{r.st.Dim.Render(truncate("  "+head, w))}, lines...)
			total++
		}
		if len(lines) > body {
			lines = lines[:body]
		}
		// Lines above the window's bottom are all loaded: the furthest
		// scroll shows the head line at the top of a scrolled pane.
		maxScroll = max(0, total-(h-1))
		if clamp && len(lines) < body && b.scroll > maxScroll {
			// Scrolled past the top: show the top screen instead, once.
			saved := b.scroll
			b.scroll = maxScroll
			defer func() { b.scroll = saved }()
			out, _ = r.windowAt(b, w, h, false)
			return out, maxScroll
		}
	}
	out = append(out, lines...)
	for len(out) < body {
		out = append([]string{""}, out...)
	}
	if footer != "" {
		out = append(out, footer)
	}
	return out, maxScroll
}

// head is the line above the oldest loaded message.
func (r chatRender) head(b *buffer) string {
	switch {
	case b.home:
		return ""
	case b.loading:
		return "loading older messages…"
	case !b.allLoaded && b.loaded:
		return "PgUp for older messages"
	case b.loaded:
		return "start of the conversation"
	}
	return ""
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
