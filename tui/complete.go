package tui

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// completion is the state of a Tab cycle: the line before the completed
// word, the candidates and which one is shown.
type completion struct {
	active bool
	head   string
	tail   string
	cands  []string
	i      int
}

func (in *inputLine) endCompletion() { in.comp = completion{} }

// complete handles Tab: the first press completes the word before the
// cursor (the longest common start when several fit, listing them), the
// next presses cycle through the candidates.
func (a *App) complete() {
	c := &a.input.comp
	if c.active && len(c.cands) > 1 {
		c.i = (c.i + 1) % len(c.cands)
		a.input.set(c.head + c.cands[c.i] + c.tail)
		return
	}
	line := a.input.value()
	head, word, tail, cands := a.candidates(line)
	if len(cands) == 0 {
		a.flash("nothing to complete")
		return
	}
	*c = completion{active: true, head: head, tail: tail, cands: cands}
	if len(cands) == 1 {
		a.input.set(head + cands[0] + tail)
		return
	}
	common := commonPrefix(cands)
	if len(common) > len(word) {
		a.input.set(head + common)
		c.active = false
	} else {
		a.input.set(head + cands[0] + tail)
	}
	a.flash("Tab again: " + truncate(strings.Join(cands, "  "), max(10, a.width-12)))
}

// candidates splits line into the text before the word being completed,
// the word, what follows, and the completions of the word.
func (a *App) candidates(line string) (head, word, tail string, cands []string) {
	if isCommand(line) && !strings.Contains(line, " ") {
		word = strings.ToLower(line[1:])
		for _, c := range commandList() {
			if strings.HasPrefix(c.name, word) {
				sfx := " "
				cands = append(cands, c.name+sfx)
			}
		}
		return "/", word, "", cands
	}
	if isCommand(line) {
		name, arg, _ := strings.Cut(line[1:], " ")
		cmd := findCommand(strings.ToLower(name))
		if cmd != nil && cmd.complete != completeNone && cmd.complete != completePeer {
			head = line[:len(line)-len(arg)]
			return head, arg, "", matchFold(a.namesFor(cmd.complete), arg)
		}
	}
	// A nick in a message: the last word.
	i := strings.LastIndexByte(line, ' ') + 1
	head, word = line[:i], line[i:]
	if word == "" {
		return head, word, "", nil
	}
	names := matchFold(a.namesFor(completePeer), word)
	if head == "" {
		for j := range names {
			names[j] += ": "
		}
	} else {
		for j := range names {
			names[j] += " "
		}
	}
	return head, word, "", names
}

// namesFor lists what a kind of argument can be.
func (a *App) namesFor(k completeKind) []string {
	var out []string
	switch k {
	case completeFriend:
		for _, f := range a.friends {
			if f.Confirmed {
				out = append(out, a.keyName(f.Key))
			}
		}
	case completeRequest:
		for _, r := range a.requests {
			out = append(out, a.keyName(r.Key))
		}
	case completeConference, completeInvite:
		for _, b := range a.allBuffers() {
			if k == completeConference || b.info.Invited || b.info.Hidden {
				out = append(out, b.title())
			}
		}
	case completePeer:
		if !a.current.home {
			for _, p := range a.current.peers {
				if !p.Self {
					out = append(out, a.peerName(p))
				}
			}
		}
		for _, f := range a.friends {
			out = append(out, a.keyName(f.Key))
		}
	}
	return out
}

// matchFold returns the distinct names starting with prefix, ignoring
// case, sorted.
func matchFold(names []string, prefix string) []string {
	seen := map[string]bool{}
	var out []string
	p := strings.ToLower(prefix)
	for _, n := range names {
		n = clean(n, false)
		if strings.HasPrefix(strings.ToLower(n), p) && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

func commonPrefix(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	p := ss[0]
	for _, s := range ss[1:] {
		for !strings.HasPrefix(s, p) {
			p = p[:len(p)-1]
		}
	}
	for !utf8.ValidString(p) {
		p = p[:len(p)-1]
	}
	return p
}
