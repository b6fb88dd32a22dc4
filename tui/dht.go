package tui

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"confchat/identity"
	"confchat/node"
)

// dhtAddTimeout bounds /add by ID alone: a lookup on the public DHT takes
// seconds, more than callTimeout allows.
const dhtAddTimeout = 45 * time.Second

// dhtSummary is the status line's DHT part: nodes in the routing table
// and the last publish, or why the DHT does not work; "" when it is off.
func dhtSummary(s node.DHTStatus) string {
	switch {
	case !s.Enabled && s.Error != "":
		return "DHT failed"
	case !s.Enabled:
		return ""
	case !s.Ready:
		return "DHT starting"
	case s.Nodes == 0:
		return "DHT: no nodes"
	case s.PublishErr != "":
		return fmt.Sprintf("DHT %d node%s, publish failed", s.Nodes, plural(s.Nodes))
	case s.PublishSeq > 0:
		return fmt.Sprintf("DHT %d node%s, published #%d", s.Nodes, plural(s.Nodes), s.PublishSeq)
	}
	return fmt.Sprintf("DHT %d node%s", s.Nodes, plural(s.Nodes))
}

// looksLikeAddr reports whether an /add argument is host:port rather
// than the first word of the message.
func looksLikeAddr(s string) bool {
	if strings.HasPrefix(s, "relay:") {
		return node.ValidAddress(s) // relay:KEY@host:port, as the welcome shows it
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return false
	}
	_, err = strconv.ParseUint(port, 10, 16)
	return err == nil
}

// addByID runs /add ID [message] without an address: the node finds the
// ID on the DHT first.
func (a *App) addByID(id identity.ID, msg, line string) tea.Cmd {
	ok := fmt.Sprintf("found %s on the DHT and sent a friend request; they show under Friends, and can chat once they accept", id.Key.Short())
	a.systemLine(a.home, kindSystem, fmt.Sprintf("looking %s up on the DHT…", id.Key.Short()))
	parent := a.ctx
	do := func() tea.Msg {
		ctx, cancel := context.WithTimeout(parent, dhtAddTimeout)
		defer cancel()
		if err := a.node.AddFriend(ctx, id, "", msg); err != nil {
			return doneMsg{err: err, what: "/add", restore: line}
		}
		return doneMsg{ok: ok, what: "/add"}
	}
	return tea.Batch(do, a.refreshFriends())
}
