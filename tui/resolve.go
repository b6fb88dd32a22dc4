package tui

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"confchat/identity"
)

// resolveKey picks one key from keys by what the user typed: a name
// (exact, then prefix; case-insensitive) or the start of a key in hex.
// Several matches are an error that lists them with their keys.
func (a *App) resolveKey(arg string, keys []identity.PublicKey) (identity.PublicKey, error) {
	arg = strings.TrimSpace(arg)
	low := strings.ToLower(arg)
	var exact, prefix, byKey []identity.PublicKey
	for _, k := range keys {
		name := strings.ToLower(a.keyName(k))
		switch {
		case name == low:
			exact = append(exact, k)
		case strings.HasPrefix(name, low):
			prefix = append(prefix, k)
		}
		if len(low) >= 4 && strings.HasPrefix(k.String(), low) {
			byKey = append(byKey, k)
		}
	}
	for _, set := range [][]identity.PublicKey{byKey, exact, prefix} {
		switch len(set) {
		case 0:
			continue
		case 1:
			return set[0], nil
		}
		var names []string
		for _, k := range set {
			names = append(names, fmt.Sprintf("%s (%s)", a.keyName(k), k.Short()))
		}
		sort.Strings(names)
		return identity.PublicKey{}, fmt.Errorf("%q matches %s; type more of the key", arg, strings.Join(names, ", "))
	}
	if len(keys) == 0 {
		return identity.PublicKey{}, errors.New("nobody to choose from yet")
	}
	return identity.PublicKey{}, fmt.Errorf("no one called %q (Tab completes names)", arg)
}

// resolveConference finds a conference or invite by title or id prefix;
// an empty arg means the newest pending invite.
func (a *App) resolveConference(arg string) (*buffer, error) {
	arg = strings.TrimSpace(arg)
	if arg == "" {
		for _, b := range a.allBuffers() {
			if b.info.Invited {
				return b, nil
			}
		}
		return nil, errors.New("no invite is pending; /join TITLE reopens a closed conference")
	}
	low := strings.ToLower(arg)
	var exact, prefix, byID []*buffer
	for _, b := range a.allBuffers() {
		t := strings.ToLower(b.title())
		switch {
		case t == low:
			exact = append(exact, b)
		case strings.HasPrefix(t, low):
			prefix = append(prefix, b)
		}
		if len(low) >= 4 && strings.HasPrefix(b.id.String(), low) {
			byID = append(byID, b)
		}
	}
	for _, set := range [][]*buffer{byID, exact, prefix} {
		switch len(set) {
		case 0:
			continue
		case 1:
			return set[0], nil
		}
		var names []string
		for _, b := range set {
			names = append(names, fmt.Sprintf("%s (%s)", b.title(), b.id.Short()))
		}
		return nil, fmt.Errorf("%q matches %s; type the id", arg, strings.Join(names, ", "))
	}
	return nil, fmt.Errorf("no conference or invite called %q", arg)
}

// allBuffers is every conference and invite, hidden ones included, in a
// stable order (listed first, then hidden by title).
func (a *App) allBuffers() []*buffer {
	out := append([]*buffer(nil), a.bufs...)
	var hidden []*buffer
	for _, b := range a.byID {
		if a.index(b) < 0 {
			hidden = append(hidden, b)
		}
	}
	sort.Slice(hidden, func(i, j int) bool { return hidden[i].title() < hidden[j].title() })
	return append(out, hidden...)
}
