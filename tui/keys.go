package tui

import "charm.land/bubbles/v2/key"

// KeyMap is every key binding, listed by ? and /help through bubbles/help.
type KeyMap struct {
	Send       key.Binding
	Newline    key.Binding
	Complete   key.Binding
	HistPrev   key.Binding
	HistNext   key.Binding
	NextConf   key.Binding
	PrevConf   key.Binding
	JumpConf   key.Binding
	NextUnread key.Binding
	PageUp     key.Binding
	PageDown   key.Binding
	Top        key.Binding
	Bottom     key.Binding
	Search     key.Binding
	Mouse      key.Binding
	Help       key.Binding
	Close      key.Binding
	Quit       key.Binding
}

// keyLabelWidth is the key column of the help table.
const keyLabelWidth = 10

// DefaultKeyMap returns the bindings the README documents.
func DefaultKeyMap() KeyMap {
	// One width for every key label keeps the help table's columns
	// aligned across its groups.
	b := func(keys []string, k, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(pad(k, keyLabelWidth), desc))
	}
	return KeyMap{
		Send:       b([]string{"enter"}, "enter", "send the line"),
		Newline:    b([]string{"alt+enter", "shift+enter", "ctrl+j"}, "alt+enter", "new line in the input"),
		Complete:   b([]string{"tab"}, "tab", "complete command, name or title"),
		HistPrev:   b([]string{"up"}, "↑/↓", "input history (this conference)"),
		HistNext:   b([]string{"down"}, "↓", "newer input"),
		NextConf:   b([]string{"ctrl+n", "alt+right"}, "ctrl+n", "next conference"),
		PrevConf:   b([]string{"ctrl+p", "alt+left"}, "ctrl+p", "previous conference"),
		JumpConf:   b([]string{"alt+1", "alt+2", "alt+3", "alt+4", "alt+5", "alt+6", "alt+7", "alt+8", "alt+9"}, "alt+1..9", "go to conference N"),
		NextUnread: b([]string{"alt+a"}, "alt+a", "next conference with unread messages"),
		PageUp:     b([]string{"pgup"}, "pgup/wheel", "scroll back"),
		PageDown:   b([]string{"pgdown"}, "pgdn/wheel", "scroll forward"),
		Top:        b([]string{"alt+home", "ctrl+home", "home"}, "home", "oldest message (empty input)"),
		Bottom:     b([]string{"alt+end", "ctrl+end", "end"}, "end", "newest message (empty input)"),
		Search:     b([]string{"ctrl+f"}, "ctrl+f", "search this conference"),
		Mouse:      b([]string{"alt+m"}, "alt+m", "mouse capture on/off (off: select text)"),
		Help:       b([]string{"?", "f1"}, "?", "this help (empty input)"),
		Close:      b([]string{"esc"}, "esc", "close help, results or prompt"),
		Quit:       b([]string{"ctrl+c"}, "ctrl+c ×2", "quit (or /quit)"),
	}
}

// ShortHelp is the one-line hint.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Help, k.NextConf, k.PageUp, k.Quit}
}

// FullHelp is the help screen's key table, in columns.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Send, k.Newline, k.Complete, k.HistPrev, k.Search, k.Help},
		{k.NextConf, k.PrevConf, k.JumpConf, k.NextUnread, k.Close},
		{k.PageUp, k.PageDown, k.Top, k.Bottom, k.Mouse, k.Quit},
	}
}
