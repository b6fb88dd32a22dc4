package bot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"confchat/identity"
	"confchat/node"
)

// withAt returns params (a JSON object) with the field "at" added: the
// node's clock when it emitted the event, RFC 3339 with nanoseconds.
func withAt(params any, at time.Time) (json.RawMessage, error) {
	b, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return nil, fmt.Errorf("notification params %T are not an object", params)
	}
	out := make([]byte, 0, len(b)+48)
	out = append(out, b[:len(b)-1]...)
	if len(b) > 2 {
		out = append(out, ',')
	}
	out = append(out, `"at":`...)
	out = strconv.AppendQuote(out, rfc3339(at))
	return append(out, '}'), nil
}

type peerNote struct {
	Conference string `json:"conference"`
	PublicKey  string `json:"public_key"`
	Name       string `json:"name"`
}

func peerNotification(p node.PeerEvent) peerNote {
	return peerNote{Conference: p.Conference.String(), PublicKey: p.Peer.String(), Name: p.Name}
}

type keyNote struct {
	PublicKey string `json:"public_key"`
}

func key(k identity.PublicKey) keyNote { return keyNote{PublicKey: k.String()} }

// notificationFor maps a node event to a notification method and params;
// "" means the event is not sent to bots.
func notificationFor(ev node.Event) (string, any) {
	switch ev := ev.(type) {
	case node.FriendRequestReceived:
		return "friend.request", map[string]string{"public_key": ev.From.String(), "name": ev.Name,
			"message": ev.Message}
	case node.FriendOnline:
		return "friend.online", key(ev.Friend)
	case node.FriendOffline:
		return "friend.offline", key(ev.Friend)
	case node.FriendAccepted:
		return "friend.accepted", map[string]string{"public_key": ev.Friend.String(), "name": ev.Name}
	case node.FriendRenamed:
		return "friend.renamed", map[string]string{"public_key": ev.Friend.String(), "name": ev.Name}
	case node.RouteChanged:
		return "connection.route", map[string]any{"public_key": ev.Peer.String(), "route": ev.Route,
			"switch": ev.Switch}
	case node.ConferenceInvited:
		return "conference.invited", map[string]string{"conference": ev.Conference.String(),
			"from": ev.From.String(), "title": ev.Title}
	case node.ConferenceJoined:
		return "conference.joined", map[string]string{"conference": ev.Conference.String()}
	case node.MessageReceived:
		if ev.Message.Self {
			return "", nil // our own are confirmed by the conference.send result
		}
		m := ev.Message
		return "conference.message", messageJSON{Conference: ev.Conference.String(), From: m.From.String(),
			Name: m.Name, Text: m.Text, Action: m.Action, Number: m.Number, Time: rfc3339(m.Time), Cursor: m.Seq}
	case node.MessageDelivered:
		return "conference.delivered", map[string]any{"conference": ev.Conference.String(), "number": ev.UpTo}
	case node.ConferenceLeft:
		return "conference.left", map[string]string{"conference": ev.Conference.String()}
	case node.FriendRemoved:
		return "friend.removed", key(ev.Friend)
	case node.StorageFailed:
		msg := "storage failed"
		if ev.Err != nil {
			msg = ev.Err.Error()
		}
		return "storage.failed", map[string]any{"error": msg, "retrying": ev.Retrying}
	case node.PeerJoined:
		return "conference.peer_joined", peerNotification(node.PeerEvent(ev))
	case node.PeerLeft:
		return "conference.peer_left", peerNotification(node.PeerEvent(ev))
	case node.PeerFrozen:
		return "conference.peer_frozen", peerNotification(node.PeerEvent(ev))
	case node.PeerUnfrozen:
		return "conference.peer_unfrozen", peerNotification(node.PeerEvent(ev))
	case node.TitleChanged:
		return "conference.title", map[string]string{"conference": ev.Conference.String(), "title": ev.Title,
			"from": ev.By.String()}
	case node.NameChanged:
		return "conference.name", map[string]string{"conference": ev.Conference.String(),
			"public_key": ev.Peer.String(), "name": ev.Name}
	case node.Lagged:
		return "events.lagged", map[string]int{"missed": ev.Missed}
	}
	return dhtNotification(ev) // bot/dht.go
}
