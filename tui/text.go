package tui

import (
	"strings"
	"unicode"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// clean makes text from a peer safe to draw: control characters (escape
// sequences included) become U+FFFD, tabs become spaces, and newlines are
// kept only when multiline is set (message bodies), else they become spaces.
func clean(s string, multiline bool) string {
	ok := true
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == unicode.ReplacementChar ||
			r == '\u2028' || r == '\u2029' || isBidiControl(r) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' && multiline:
			b.WriteRune('\n')
		case r == '\n' || r == '\r' || r == '\u2028' || r == '\u2029':
			if multiline && r != '\r' {
				b.WriteRune('\n')
			} else if r != '\r' {
				b.WriteRune(' ')
			}
		case r == '\t':
			b.WriteString("    ")
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || isBidiControl(r):
			b.WriteRune(unicode.ReplacementChar)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// width is the number of terminal cells s takes (wide characters count 2).
func width(s string) int { return lipgloss.Width(s) }

// truncate cuts s to at most w cells, ending it with "…" when cut.
func truncate(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if width(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// pad cuts or pads s to exactly w cells.
func pad(s string, w int) string {
	s = truncate(s, w)
	if n := w - width(s); n > 0 {
		s += strings.Repeat(" ", n)
	}
	return s
}

// wrap breaks plain text into lines of at most w cells, at spaces where
// it can, inside words where it must.
func wrap(s string, w int) []string {
	if w < 1 {
		w = 1
	}
	var out []string
	for _, para := range strings.Split(s, "\n") {
		if para == "" {
			out = append(out, "")
			continue
		}
		for _, l := range strings.Split(ansi.Wrap(para, w, ""), "\n") {
			out = append(out, strings.TrimRight(l, " "))
		}
	}
	return out
}

// isBidiControl reports the Unicode bidirectional embedding, override and
// isolate controls (U+202A-U+202E, U+2066-U+2069) and the implicit marks
// (U+200E, U+200F, U+061C). A peer could use them to reverse how its text,
// or its name, reads on a bidi-capable terminal ("Trojan Source"); they
// are shown as the replacement character like other controls.
func isBidiControl(r rune) bool {
	return (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') ||
		r == '\u200e' || r == '\u200f' || r == '\u061c'
}
