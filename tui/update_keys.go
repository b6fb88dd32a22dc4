package tui

import (
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// handleKey routes one key press: prompts and overlays first, then the
// global bindings, then the input line.
func (a *App) handleKey(k tea.KeyPressMsg) tea.Cmd {
	if key.Matches(k, a.keys.Quit) {
		if !a.quitArmed.IsZero() && a.opt.Now().Sub(a.quitArmed) <= quitWindow {
			return a.quit()
		}
		a.quitArmed = a.opt.Now()
		return nil
	}
	a.quitArmed = time.Time{}
	if a.confirm != nil {
		return a.answerConfirm(k)
	}
	if a.showHelp {
		switch k.String() {
		case "esc", "?", "q", "enter", "f1":
			a.showHelp, a.helpTop = false, 0
		case "down", "j":
			a.helpTop++
		case "up", "k":
			a.helpTop = max(0, a.helpTop-1)
		case "pgdown", " ":
			a.helpTop += max(1, a.lay.bodyH-2)
		case "pgup":
			a.helpTop = max(0, a.helpTop-max(1, a.lay.bodyH-2))
		}
		return nil
	}
	if a.results != nil && k.String() == "esc" {
		a.results = nil
		return nil
	}
	a.flashText = ""
	if k.String() != "tab" {
		a.input.endCompletion()
	}
	empty := a.input.value() == ""
	switch {
	case key.Matches(k, a.keys.NextConf):
		return a.cycle(1)
	case key.Matches(k, a.keys.PrevConf):
		return a.cycle(-1)
	case key.Matches(k, a.keys.JumpConf):
		return a.jump(int(k.Code - '1'))
	case key.Matches(k, a.keys.NextUnread):
		return a.nextUnread()
	case key.Matches(k, a.keys.PageUp):
		return a.scrollBy(a.chatHeight() - 2)
	case key.Matches(k, a.keys.PageDown):
		return a.scrollBy(-(a.chatHeight() - 2))
	case key.Matches(k, a.keys.Top) && (empty || k.String() != "home"):
		return a.scrollBy(1 << 30)
	case key.Matches(k, a.keys.Bottom) && (empty || k.String() != "end"):
		return a.scrollBy(-(1 << 30))
	case key.Matches(k, a.keys.Search):
		a.input.set("/search ")
		return nil
	case key.Matches(k, a.keys.Mouse):
		a.mouse = !a.mouse
		if a.mouse {
			a.flash("mouse capture on: the wheel scrolls; Alt+M again to select text with the mouse")
		} else {
			a.flash("mouse capture off: select and copy text with the mouse; Alt+M to turn it back on")
		}
		return nil
	case key.Matches(k, a.keys.Help) && (empty || k.String() == "f1"):
		a.showHelp = true
		return nil
	case key.Matches(k, a.keys.Complete):
		a.complete()
		return nil
	case key.Matches(k, a.keys.Send):
		return a.submit()
	case key.Matches(k, a.keys.HistPrev) && a.input.onFirstLine():
		a.input.older()
		return nil
	case key.Matches(k, a.keys.HistNext) && a.input.onLastLine():
		a.input.newer()
		return nil
	case k.String() == "esc":
		return nil
	}
	cmd := a.input.update(k)
	a.layout()
	return cmd
}

// handlePaste inserts a bracketed paste into the input, newlines and
// all, so it is sent as one message; a paste too long for one message is
// refused with a hint and nothing is inserted.
func (a *App) handlePaste(p tea.PasteMsg) tea.Cmd {
	text := strings.ReplaceAll(p.Content, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	if n := len(a.input.value()) + len(text); n > maxMessageBytes {
		a.systemLine(a.current, kindError, "paste refused: it would make the message "+itoa(n)+
			" bytes, a message holds at most "+itoa(maxMessageBytes)+"; paste it in parts")
		return nil
	}
	cmd := a.input.update(tea.PasteMsg{Content: text})
	a.layout()
	return cmd
}

func (a *App) handleWheel(m tea.MouseWheelMsg) tea.Cmd {
	switch m.Button {
	case tea.MouseWheelUp:
		return a.scrollBy(3)
	case tea.MouseWheelDown:
		return a.scrollBy(-3)
	}
	return nil
}

// answerConfirm handles the y/N prompt: only y or Y says yes.
func (a *App) answerConfirm(k tea.KeyPressMsg) tea.Cmd {
	c := a.confirm
	a.confirm = nil
	if k.String() == "y" || k.String() == "Y" {
		return c.yes(a)
	}
	a.systemLine(a.current, kindSystem, "cancelled")
	return nil
}
