package tui

import (
	"hash/fnv"

	"charm.land/lipgloss/v2"

	"confchat/identity"
)

// Styles is every style the TUI draws with, built once by DefaultStyles.
type Styles struct {
	TitleBar    lipgloss.Style
	SectionHead lipgloss.Style
	Selected    lipgloss.Style
	Item        lipgloss.Style
	Dim         lipgloss.Style
	Unread      lipgloss.Style
	Mention     lipgloss.Style
	Separator   lipgloss.Style
	Time        lipgloss.Style
	System      lipgloss.Style
	Error       lipgloss.Style
	Pending     lipgloss.Style
	Marker      lipgloss.Style
	Self        lipgloss.Style
	Online      lipgloss.Style
	Offline     lipgloss.Style
	Status      lipgloss.Style
	Prompt      lipgloss.Style
	Hint        lipgloss.Style
	HelpTitle   lipgloss.Style
	Highlight   lipgloss.Style
}

// DefaultStyles uses ANSI-256 colours of middle lightness, readable on
// dark and on light terminal backgrounds alike.
func DefaultStyles() Styles {
	c := lipgloss.Color
	return Styles{
		TitleBar:    lipgloss.NewStyle().Bold(true).Reverse(true),
		SectionHead: lipgloss.NewStyle().Bold(true).Underline(true),
		Selected:    lipgloss.NewStyle().Bold(true).Reverse(true),
		Item:        lipgloss.NewStyle(),
		Dim:         lipgloss.NewStyle().Faint(true),
		Unread:      lipgloss.NewStyle().Bold(true),
		Mention:     lipgloss.NewStyle().Bold(true).Foreground(c("160")),
		Separator:   lipgloss.NewStyle().Foreground(c("244")),
		Time:        lipgloss.NewStyle().Foreground(c("244")),
		System:      lipgloss.NewStyle().Foreground(c("244")).Italic(true),
		Error:       lipgloss.NewStyle().Foreground(c("160")),
		Pending:     lipgloss.NewStyle().Foreground(c("136")),
		Marker:      lipgloss.NewStyle().Foreground(c("160")),
		Self:        lipgloss.NewStyle().Bold(true),
		Online:      lipgloss.NewStyle().Foreground(c("34")),
		Offline:     lipgloss.NewStyle().Faint(true),
		Status:      lipgloss.NewStyle().Reverse(true),
		Prompt:      lipgloss.NewStyle().Bold(true),
		Hint:        lipgloss.NewStyle().Foreground(c("136")),
		HelpTitle:   lipgloss.NewStyle().Bold(true).Underline(true),
		Highlight:   lipgloss.NewStyle().Bold(true).Foreground(c("160")),
	}
}

// nickPalette are ANSI-256 colours that keep contrast on black and on
// white: no near-white, near-black or pale yellow entries.
var nickPalette = [...]string{
	"25", "28", "31", "34", "37", "61", "64", "67", "91", "94",
	"97", "124", "127", "130", "133", "136", "166", "169", "172", "26",
}

// nickColor is a stable colour for a public key: the same peer has the
// same colour in every conference and every run.
func nickColor(k identity.PublicKey) lipgloss.Style {
	h := fnv.New32a()
	h.Write(k[:])
	return lipgloss.NewStyle().Foreground(lipgloss.Color(nickPalette[h.Sum32()%uint32(len(nickPalette))]))
}
