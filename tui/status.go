package tui

import (
	"fmt"
	"sort"
	"strings"

	"confchat/identity"
)

// statusLine: our name and short ID, the listen address, sessions up and
// each peer's route with any switch in progress; a flash message or the
// quit hint takes its place briefly.
func (a *App) statusLine(w int) string {
	if a.flashText != "" {
		return a.st.Status.Render(pad(" "+a.flashText, w))
	}
	name := a.self.Name
	if name == "" {
		name = "(no name: /nick)"
	}
	parts := []string{" " + clean(name, false), a.self.Key.Short()}
	if a.status.Listen != "" {
		parts = append(parts, "listening "+a.status.Listen)
	}
	parts = append(parts, fmt.Sprintf("%d connected", a.status.Connected))
	if r := a.routeSummary(); r != "" {
		parts = append(parts, r)
	}
	if d := dhtSummary(a.self.DHT); d != "" { // tui/dht.go
		parts = append(parts, d)
	}
	if !a.mouse {
		parts = append(parts, "mouse off")
	}
	return a.st.Status.Render(pad(strings.Join(parts, " · "), w))
}

// routeSummary lists "name route" per connected peer, switches first.
func (a *App) routeSummary() string {
	type pr struct{ name, label string }
	var rs []pr
	for _, r := range a.status.Routes {
		l := withVia(routeLabel(r.Route, a.switchOf(r.Peer)), r.Via, r.DirectFailed) // tui/nat.go
		if l == "" {
			continue
		}
		rs = append(rs, pr{clean(a.keyName(r.Peer), false), l})
	}
	sort.Slice(rs, func(i, j int) bool {
		si, sj := strings.Contains(rs[i].label, "("), strings.Contains(rs[j].label, "(")
		if si != sj {
			return si
		}
		return rs[i].name < rs[j].name
	})
	var out []string
	for _, r := range rs {
		out = append(out, truncate(r.name, 12)+" "+r.label)
	}
	return strings.Join(out, ", ")
}

// keyName is the best name we know for a key: a friend's, a peer's in
// any conference, else the short hex.
func (a *App) keyName(k identity.PublicKey) string {
	for _, f := range a.friends {
		if f.Key == k && f.Name != "" {
			return f.Name
		}
	}
	for _, b := range a.byID {
		for _, p := range b.peers {
			if p.Key == k && p.Name != "" {
				return p.Name
			}
		}
	}
	for _, r := range a.requests {
		if r.Key == k && r.Name != "" {
			return clean(r.Name, false) // so /accept NAME finds the asker
		}
	}
	return k.Short()
}

// flash shows a short note in the status line until the next key.
func (a *App) flash(s string) { a.flashText = s }

// switchOf is the route switch in progress to k ("" when none): the
// node's Status says so, or a RouteChanged event since.
func (a *App) switchOf(k identity.PublicKey) string {
	if s, ok := a.switches[k]; ok {
		return s
	}
	for _, r := range a.status.Routes {
		if r.Peer == k {
			return r.Switch
		}
	}
	return ""
}
