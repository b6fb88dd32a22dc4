package main

import (
	"encoding/json"
	"strconv"
	"time"
)

// maxMessages bounds the messages one node's state records.
const maxMessages = 1 << 16

// recv is one message a node received.
type recv struct {
	at    time.Time // the node's clock when it stored the message
	order int       // position among this node's receipts
}

// nodeState is what one node's notifications told confbench. Times are
// the node's (see doc.go). Guarded by cluster.mu.
type nodeState struct {
	online   map[string]time.Time // friend key -> first friend.online
	joined   time.Time            // first conference.joined
	active   map[string]bool      // other members now active
	fullAt   time.Time            // when active first held every other node
	names    map[string]string    // member key -> name as last told
	namesAt  time.Time            // when every other node's name was first right
	frozen   map[string]time.Time // member key -> last peer_frozen
	unfrozen map[string]time.Time // member key -> last peer_unfrozen (or joined)
	msgs     map[string]recv      // text -> first receipt
	seen     map[string]bool      // from|number already received
	received int                  // receipts so far
	dups     int                  // receipts of a (from, number) already received
	lagged   int                  // notifications the bot dropped (events.lagged)
	delivUp  uint32               // highest conference.delivered number
}

func newNodeState() *nodeState {
	return &nodeState{online: map[string]time.Time{}, active: map[string]bool{}, names: map[string]string{},
		frozen: map[string]time.Time{}, unfrozen: map[string]time.Time{}, msgs: map[string]recv{},
		seen: map[string]bool{}}
}

// noteParams holds every field the notifications confbench reads carry.
type noteParams struct {
	ID         string `json:"id"` // ready
	At         string `json:"at"`
	PublicKey  string `json:"public_key"`
	Name       string `json:"name"`
	Conference string `json:"conference"`
	From       string `json:"from"`
	Text       string `json:"text"`
	Number     uint32 `json:"number"`
	Time       string `json:"time"`
	Missed     int    `json:"missed"`
}

// stamp is the node's emit time if the notification carries one, else
// when confbench read it.
func stamp(s string, read time.Time) time.Time {
	if s != "" {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t
		}
	}
	return read
}

// apply records one notification. self is the node's own key, want the
// names every member should end up with (keyed by public key).
func (s *nodeState) apply(method string, raw json.RawMessage, read time.Time, self string, want map[string]string) (stamped bool) {
	var v noteParams
	if json.Unmarshal(raw, &v) != nil {
		return false
	}
	return s.applyNote(method, v, read, self, want)
}

// applyNote is apply for params already decoded.
func (s *nodeState) applyNote(method string, v noteParams, read time.Time, self string, want map[string]string) (stamped bool) {
	at := stamp(v.At, read)
	switch method {
	case "friend.online":
		if _, ok := s.online[v.PublicKey]; !ok {
			s.online[v.PublicKey] = at
		}
	case "conference.joined":
		if s.joined.IsZero() {
			s.joined = at
		}
	case "conference.peer_joined", "conference.peer_unfrozen":
		if v.PublicKey != self {
			s.active[v.PublicKey] = true
			s.unfrozen[v.PublicKey] = at
			s.setName(v.PublicKey, v.Name, at, self, want)
			if s.fullAt.IsZero() && len(s.active) == len(want)-1 {
				s.fullAt = at
			}
		}
	case "conference.peer_frozen", "conference.peer_left":
		delete(s.active, v.PublicKey)
		s.frozen[v.PublicKey] = at
	case "conference.name":
		s.setName(v.PublicKey, v.Name, at, self, want)
	case "conference.message":
		s.message(v, stamp(v.Time, at))
	case "conference.delivered":
		s.delivUp = max(s.delivUp, v.Number)
	case "events.lagged":
		s.lagged += v.Missed
	}
	return v.At != "" || (method == "conference.message" && v.Time != "")
}

func (s *nodeState) setName(key, name string, at time.Time, self string, want map[string]string) {
	if name == "" {
		return
	}
	s.names[key] = name
	if !s.namesAt.IsZero() {
		return
	}
	for k, w := range want {
		if k != self && s.names[k] != w {
			return
		}
	}
	s.namesAt = at
}

func (s *nodeState) message(v noteParams, at time.Time) {
	k := v.From + "|" + strconv.FormatUint(uint64(v.Number), 10)
	if s.seen[k] {
		s.dups++
		return
	}
	if len(s.seen) >= maxMessages {
		return
	}
	s.seen[k] = true
	s.received++
	if _, ok := s.msgs[v.Text]; !ok {
		s.msgs[v.Text] = recv{at: at, order: s.received}
	}
}
