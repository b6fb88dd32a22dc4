package tui

import (
	"time"

	tea "charm.land/bubbletea/v2"
)

// handleResult applies the answer of a node call.
func (a *App) handleResult(msg tea.Msg) tea.Cmd {
	switch m := msg.(type) {
	case conferencesMsg:
		a.setConferences(m.infos)
		var cmds []tea.Cmd
		if b := a.byID[a.switchOnList]; b != nil && !b.info.Invited {
			a.switchOnList = [33]byte{}
			cmds = append(cmds, a.show(b))
		}
		for _, b := range a.bufs {
			if !b.peersLoaded && !b.info.Invited {
				b.peersLoaded = true // one load in flight; peersMsg fills it
				cmds = append(cmds, a.loadPeers(b.id))
			}
		}
		return tea.Batch(cmds...)
	case friendsMsg:
		a.friends = m.friends
	case requestsMsg:
		a.requests = m.reqs
	case statusMsg:
		a.status, a.self = m.st, m.st.Self
	case peersMsg:
		if b := a.byID[m.id]; b != nil {
			b.peers, b.peersLoaded = m.peers, true
		}
	case historyMsg:
		if b := a.byID[m.id]; b != nil {
			a.applyHistory(b, m)
			if b == a.current && b.scroll == 0 {
				return a.markRead(b)
			}
		}
	case historyFailedMsg:
		if b := a.byID[m.id]; b != nil {
			b.loading = false
			a.systemLine(b, kindError, "could not load history: "+describe(m.err))
		}
	case inputHistMsg:
		if b := a.byID[m.id]; b != nil {
			b.inputHist, b.histLoaded = append(m.lines, b.inputHist...), true
			if b == a.current {
				a.input.history = b.inputHist
				a.input.histPos = len(b.inputHist)
			}
		}
	case sentMsg:
		a.onSent(m)
	case createdMsg:
		return a.onCreated(m)
	case searchMsg:
		a.results = newSearchView(a, m)
	case rollMsg:
		a.flushRoll(m.id)
	case doneMsg:
		return a.onDone(m)
	case failedMsg:
		text, now := describe(m.err), a.opt.Now()
		if text == a.lastBgErr && now.Sub(a.lastBgErrAt) < bgErrRepeat {
			return nil // said already; the status and the log keep it
		}
		a.lastBgErr, a.lastBgErrAt = text, now
		a.systemLine(a.current, kindError, text)
	}
	return nil
}

// onDone reports a command's outcome; on error the typed line comes back
// into the input if the user has not started another.
func (a *App) onDone(m doneMsg) tea.Cmd {
	if m.err != nil {
		text := m.what + ": " + describe(m.err)
		if m.restore != "" && a.input.value() == "" {
			text += " (the line is kept: fix it, or Ctrl+U to clear)"
		}
		a.systemLine(a.current, kindError, text)
		if m.restore != "" && a.input.value() == "" {
			a.input.set(m.restore)
			a.layout()
		}
		return nil
	}
	if m.ok != "" {
		a.systemLine(a.current, kindSystem, m.ok)
	}
	if m.after != nil {
		return m.after(a)
	}
	return nil
}

// onSent settles an own message: stored (pending until another member
// holds it) or failed (the line is removed and the text goes back into
// the input).
func (a *App) onSent(m sentMsg) {
	b := a.byID[m.id]
	if b == nil {
		return
	}
	i := -1
	for j := len(b.entries) - 1; j >= 0; j-- {
		if b.entries[j].token == m.token && b.entries[j].state == stateSending {
			i = j
			break
		}
	}
	if m.err != nil {
		if i >= 0 {
			b.entries = append(b.entries[:i], b.entries[i+1:]...)
			b.readUpTo = min(b.readUpTo, len(b.entries))
		}
		a.systemLine(b, kindError, "not sent: "+describe(m.err))
		if b == a.current && a.input.value() == "" {
			a.input.set(m.text)
			a.layout()
		}
		return
	}
	if i < 0 {
		return
	}
	e := &b.entries[i]
	e.number, e.seq, e.time, e.lines = m.sent.Number, m.sent.Seq, m.sent.Time, nil
	e.state = statePending
	if m.sent.Number != 0 && m.sent.Number <= b.info.Delivered {
		e.state = stateDone
	}
}

// bgErrRepeat is how long the same background failure stays unrepeated.
const bgErrRepeat = time.Minute
