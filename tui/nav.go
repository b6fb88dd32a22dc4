package tui

import (
	tea "charm.land/bubbletea/v2"

	"confchat/node"
)

// cycle moves to the next (+1) or previous (-1) buffer; home is before
// the first conference.
func (a *App) cycle(dir int) tea.Cmd {
	all := append([]*buffer{a.home}, a.shown()...)
	i := 0
	for j, b := range all {
		if b == a.current {
			i = j
		}
	}
	i = (i + dir + len(all)) % len(all)
	return a.switchTo(all[i])
}

// jump goes to the i-th conference (0-based), as Alt+1..9 do.
func (a *App) jump(i int) tea.Cmd {
	bs := a.shown()
	if i < 0 || i >= len(bs) {
		return nil
	}
	return a.switchTo(bs[i])
}

// nextUnread goes to the next conference with unread messages, mentions
// first.
func (a *App) nextUnread() tea.Cmd {
	bs := a.shown()
	start := a.index(a.current)
	for _, wantMention := range []bool{true, false} {
		for k := 1; k <= len(bs); k++ {
			b := bs[(start+k+len(bs))%len(bs)]
			if b != a.current && b.unread > 0 && (!wantMention || b.mention) {
				return a.switchTo(b)
			}
		}
	}
	a.flash("no conference has unread messages")
	return nil
}

// switchTo makes b the current buffer: the old one keeps its draft and
// its read position; b loads what it lacks.
func (a *App) switchTo(b *buffer) tea.Cmd {
	if b == a.current {
		return nil
	}
	old := a.current
	old.draft = a.input.value()
	old.readUpTo = len(old.entries)
	a.current = b
	a.results = nil
	a.input.set(b.draft)
	a.input.history = b.inputHist
	a.input.histPos = len(b.inputHist)
	if b.home {
		a.input.history = a.home.inputHist
	}
	b.unread, b.mention = 0, false
	a.layout()
	return a.loadMissing(b)
}

// loadMissing loads what the shown buffer b lacks: its first history
// page, its peers and its input history. An invite has none of them
// until it is joined; then show loads them.
func (a *App) loadMissing(b *buffer) tea.Cmd {
	if b.home || b.info.Invited {
		return nil
	}
	var cmds []tea.Cmd
	if !b.loaded {
		cmds = append(cmds, a.loadHistory(b))
	}
	if !b.peersLoaded {
		cmds = append(cmds, a.loadPeers(b.id))
	}
	if !b.histLoaded {
		cmds = append(cmds, a.loadInputHistory(b.id))
	}
	cmds = append(cmds, a.markRead(b))
	return tea.Batch(cmds...)
}

// show makes b current if it is hidden or not yet listed, and tells the
// node it is visible again.
func (a *App) show(b *buffer) tea.Cmd {
	var cmd tea.Cmd
	if b.info.Hidden {
		b.info.Hidden = false
		id := b.id
		cmd = action(a.ctx, "reopen", "", "", func(ctx ctxT) error { return a.node.SetHidden(ctx, id, false) })
	}
	if a.index(b) < 0 {
		a.bufs = append(a.bufs, b)
	}
	if b == a.current { // an invite joined while it was shown
		return tea.Batch(cmd, a.loadMissing(b))
	}
	return tea.Batch(cmd, a.switchTo(b))
}

// chatHeight is the number of chat lines on screen.
func (a *App) chatHeight() int { return max(1, a.lay.bodyH) }

// scrollBy scrolls the current buffer n lines back (negative: forward),
// clamped to what is loaded; near the top it loads older history.
func (a *App) scrollBy(n int) tea.Cmd {
	b := a.current
	b.scroll = max(0, b.scroll+n)
	h := a.chatHeight()
	r := a.render()
	// Look a screen further back, so the next page loads before the top.
	saved := b.scroll
	b.scroll += h
	_, maxScroll := r.window(b, a.lay.chatW, h)
	b.scroll = saved
	top := maxScroll >= 0
	if top && b.scroll > maxScroll {
		b.scroll = maxScroll
	}
	var cmds []tea.Cmd
	if top && !b.allLoaded && !b.loading && !b.home {
		cmds = append(cmds, a.loadHistory(b))
	}
	if b.scroll == 0 {
		b.newBelow = 0
		if !b.home {
			cmds = append(cmds, a.markRead(b))
		}
	}
	return tea.Batch(cmds...)
}

// markRead tells the node the user has seen b up to its newest message.
func (a *App) markRead(b *buffer) tea.Cmd {
	seq := b.lastSeq()
	if b.home || seq <= b.info.LastRead || b.scroll > 0 {
		return nil
	}
	b.info.LastRead = seq
	id := b.id
	return func() tea.Msg {
		ctx, cancel := ctxWithTimeout(a.ctx)
		defer cancel()
		if err := a.node.MarkRead(ctx, id, seq); err != nil {
			return failedMsg{err: err}
		}
		return nil
	}
}

// loadHistory fetches the page of history before what b has loaded. An
// invite has none until it is joined (the node knows no such conference
// yet), however far it is scrolled.
func (a *App) loadHistory(b *buffer) tea.Cmd {
	if b.loading || b.home || b.info.Invited {
		return nil
	}
	b.loading = true
	id, before, limit := b.id, b.oldestSeq, a.opt.HistoryPage
	if !b.loaded {
		before = 0
	}
	return func() tea.Msg {
		ctx, cancel := ctxWithTimeout(a.ctx)
		defer cancel()
		hs, err := a.node.History(ctx, id, limit, before)
		if err != nil {
			return historyFailedMsg{id: id, err: err}
		}
		return historyMsg{id: id, before: before, entries: hs, limit: limit}
	}
}

// applyHistory puts a page of history into b: the first page replaces
// the live lines' start, later pages go in front.
func (a *App) applyHistory(b *buffer, m historyMsg) {
	b.loading = false
	if m.before == 0 && b.loaded {
		return // a first page that raced a newer one: what is shown is newer
	}
	es := make([]entry, 0, len(m.entries))
	for _, h := range m.entries {
		e := entryFromHistory(h)
		e.mention = !e.self && a.mentions(e.text)
		es = append(es, e)
	}
	if len(m.entries) < m.limit {
		b.allLoaded = true
	}
	if len(m.entries) > 0 {
		b.oldestSeq = m.entries[0].Seq
	}
	if !b.loaded {
		b.loaded = true
		live := b.entries
		b.entries, b.settled = nil, 0
		b.prepend(es)
		// Lines that arrived live while the page loaded follow it,
		// unless the page already holds them.
		last := b.lastSeq()
		for _, e := range live {
			if e.seq == 0 || e.seq > last {
				b.entries = append(b.entries, e)
			}
		}
		b.readUpTo = len(b.entries)
		for i, e := range b.entries {
			if e.seq > b.info.LastRead && b.info.LastRead > 0 && !e.self {
				b.readUpTo = i
				break
			}
		}
		return
	}
	b.prepend(es)
}

func (a *App) loadPeers(id node.ConferenceID) tea.Cmd {
	return call(a.ctx, func(ctx ctxT) ([]node.PeerInfo, error) { return a.node.Peers(ctx, id) },
		func(ps []node.PeerInfo) tea.Msg { return peersMsg{id: id, peers: ps} })
}

func (a *App) loadInputHistory(id node.ConferenceID) tea.Cmd {
	return call(a.ctx, func(ctx ctxT) ([]string, error) { return a.node.InputHistory(ctx, id) },
		func(ls []string) tea.Msg { return inputHistMsg{id: id, lines: ls} })
}

func (a *App) refreshConferences() tea.Cmd {
	return call(a.ctx, a.node.Conferences, func(cs []node.ConferenceInfo) tea.Msg { return conferencesMsg{infos: cs} })
}

func (a *App) refreshFriends() tea.Cmd {
	return call(a.ctx, a.node.Friends, func(fs []node.FriendInfo) tea.Msg { return friendsMsg{friends: fs} })
}

func (a *App) refreshRequests() tea.Cmd {
	return call(a.ctx, a.node.FriendRequests, func(rs []node.RequestInfo) tea.Msg { return requestsMsg{reqs: rs} })
}

func (a *App) refreshStatus() tea.Cmd {
	return call(a.ctx, a.node.Status, func(st node.StatusInfo) tea.Msg { return statusMsg{st: st} })
}
