package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textarea"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"confchat/conference"
)

// maxMessageBytes is the longest message text the conference accepts.
const maxMessageBytes = conference.MaxTextLength

// maxInputLines is how tall the input grows before it scrolls.
const maxInputLines = 5

// inputLine is the text entry at the bottom: a textarea that grows to a
// few lines, with per-conference history on ↑/↓.
type inputLine struct {
	ta      textarea.Model
	history []string // oldest first
	histPos int      // len(history) when not browsing
	saved   string   // the line being typed before browsing started
	comp    completion
}

func newInputLine(st *Styles) inputLine {
	ta := textarea.New()
	ta.Prompt = "> "
	ta.Placeholder = "type a message, /help for commands, ? for keys"
	ta.ShowLineNumbers = false
	ta.DynamicHeight = true
	ta.MinHeight = 1
	ta.MaxHeight = maxInputLines
	ta.CharLimit = 0
	ta.SetVirtualCursor(false)
	km := textarea.DefaultKeyMap()
	km.InsertNewline = key.NewBinding(key.WithKeys("alt+enter", "shift+enter", "ctrl+j"))
	km.LineNext = key.NewBinding(key.WithKeys("down"))
	km.LinePrevious = key.NewBinding(key.WithKeys("up"))
	km.CharacterForward = key.NewBinding(key.WithKeys("right"))
	km.PageUp.SetEnabled(false)
	km.PageDown.SetEnabled(false)
	km.Paste.SetEnabled(false)
	ta.KeyMap = km
	s := textarea.DefaultStyles(true)
	plain := lipgloss.NewStyle()
	for _, ss := range []*textarea.StyleState{&s.Focused, &s.Blurred} {
		ss.Base, ss.CursorLine, ss.Text, ss.EndOfBuffer = plain, plain, plain, plain
		ss.Prompt = st.Prompt
		ss.Placeholder = st.Dim
	}
	ta.SetStyles(s)
	return inputLine{ta: ta}
}

func (in *inputLine) focus() tea.Cmd { return in.ta.Focus() }

func (in *inputLine) value() string { return in.ta.Value() }

func (in *inputLine) set(s string) {
	in.ta.SetValue(s)
	in.ta.MoveToEnd()
}

func (in *inputLine) reset() {
	in.ta.Reset()
	in.histPos = len(in.history)
	in.saved = ""
}

func (in *inputLine) setWidth(w int) { in.ta.SetWidth(max(1, w)) }

func (in *inputLine) height() int { return max(1, in.ta.Height()) }

func (in *inputLine) update(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	in.ta, cmd = in.ta.Update(msg)
	return cmd
}

// remember adds a sent line to the history (no consecutive duplicates).
func (in *inputLine) remember(line string) {
	if n := len(in.history); n == 0 || in.history[n-1] != line {
		in.history = append(in.history, line)
		if len(in.history) > 200 {
			in.history = in.history[len(in.history)-200:]
		}
	}
	in.histPos = len(in.history)
}

// older and newer browse the history; they report whether they moved.
func (in *inputLine) older() bool {
	if in.histPos == 0 || len(in.history) == 0 {
		return false
	}
	if in.histPos == len(in.history) {
		in.saved = in.value()
	}
	in.histPos--
	in.set(in.history[in.histPos])
	return true
}

func (in *inputLine) newer() bool {
	if in.histPos >= len(in.history) {
		return false
	}
	in.histPos++
	if in.histPos == len(in.history) {
		in.set(in.saved)
	} else {
		in.set(in.history[in.histPos])
	}
	return true
}

// onFirstLine / onLastLine say whether ↑/↓ should browse history rather
// than move inside a multi-line input.
func (in *inputLine) onFirstLine() bool { return in.ta.Line() == 0 }
func (in *inputLine) onLastLine() bool  { return in.ta.Line() >= in.ta.LineCount()-1 }

// remaining is how many bytes the message may still grow.
func (in *inputLine) remaining() int { return maxMessageBytes - len(in.value()) }

// isCommand reports whether the line is a /command (not "//text").
func isCommand(s string) bool {
	return strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//")
}
