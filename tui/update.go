package tui

import (
	"time"

	tea "charm.land/bubbletea/v2"
)

// quitWindow is how long a first Ctrl+C waits for the second.
const quitWindow = 3 * time.Second

// Update is the root of message handling; it routes to the handlers.
func (a *App) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		a.width, a.height = msg.Width, msg.Height
		a.layout()
		return a, nil
	case tea.KeyPressMsg:
		return a, a.handleKey(msg)
	case tea.PasteMsg:
		return a, a.handlePaste(msg)
	case tea.MouseWheelMsg:
		return a, a.handleWheel(msg)
	case tea.FocusMsg:
		a.focusLost = false
		return a, nil
	case tea.BlurMsg:
		a.focusLost = true
		return a, nil
	case tea.InterruptMsg:
		return a, a.quit()
	case eventMsg:
		return a, tea.Batch(a.handleEvent(msg.ev), waitEvent(a.ctx, a.events))
	case eventsEndedMsg:
		if !a.quitting {
			a.systemLine(a.current, kindError, "the node stopped; press Ctrl+C to leave")
		}
		return a, nil
	case tickMsg:
		return a, a.handleTick(msg)
	}
	return a, a.handleResult(msg)
}

// handleTick refreshes what changes with time: the status line, frozen
// durations, an expired quit prompt.
func (a *App) handleTick(msg tickMsg) tea.Cmd {
	if !a.quitArmed.IsZero() && a.opt.Now().Sub(a.quitArmed) > quitWindow {
		a.quitArmed = time.Time{}
	}
	cmds := []tea.Cmd{tick(time.Second)}
	if msg.now.Second()%3 == 0 {
		cmds = append(cmds, a.refreshStatus())
		if a.anyLoading() {
			cmds = append(cmds, a.refreshConferences()) // exact unread counts once restored
		}
	}
	return tea.Batch(cmds...)
}

// quit closes the program; the caller closes the node (gracefully).
func (a *App) quit() tea.Cmd {
	a.quitting = true
	var cmds []tea.Cmd
	if b := a.current; b != a.home {
		cmds = append(cmds, a.markRead(b))
	}
	return tea.Sequence(tea.Batch(cmds...), tea.Quit)
}

// anyLoading reports whether a listed conference is still being restored
// by the node (its unread count is a lower bound until then).
func (a *App) anyLoading() bool {
	for _, b := range a.byID {
		if b.info.Loading {
			return true
		}
	}
	return false
}
