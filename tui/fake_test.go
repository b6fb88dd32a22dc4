package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"confchat/identity"
	"confchat/netlayer"
	"confchat/node"
)

// fakeNode is a hand-written in-memory Node for tests. It records the
// calls that change state and answers queries from its fields.
type fakeNode struct {
	mu       sync.Mutex
	self     node.SelfInfo
	listen   string
	confs    []node.ConferenceInfo
	peers    map[node.ConferenceID][]node.PeerInfo
	history  map[node.ConferenceID][]node.HistoryEntry
	friends  []node.FriendInfo
	requests []node.RequestInfo
	inputs   map[node.ConferenceID][]string
	sendErr  error
	notOnDHT bool // AddFriend by ID alone fails with node.ErrNotOnDHT
	calls    []string
	nextNum  uint32
	nextSeq  int64
	created  int
}

var _ Node = (*fakeNode)(nil)

func pk(b byte) identity.PublicKey {
	var k identity.PublicKey
	for i := range k {
		k[i] = b
	}
	return k
}

func confID(b byte) node.ConferenceID {
	var c node.ConferenceID
	for i := 1; i < len(c); i++ {
		c[i] = b
	}
	return c
}

func newFakeNode() *fakeNode {
	k := pk(0xaa)
	id := identity.ID{Key: k, Nospam: 0x01020304}
	return &fakeNode{
		self:    node.SelfInfo{ID: id, Key: k, Name: "alice", Addresses: []string{"127.0.0.1:33445"}},
		listen:  "127.0.0.1:33445",
		peers:   map[node.ConferenceID][]node.PeerInfo{},
		history: map[node.ConferenceID][]node.HistoryEntry{},
		inputs:  map[node.ConferenceID][]string{},
		nextNum: 1, nextSeq: 1000,
	}
}

func (f *fakeNode) record(s string) {
	f.mu.Lock()
	f.calls = append(f.calls, s)
	f.mu.Unlock()
}

func (f *fakeNode) called(prefix string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if strings.HasPrefix(c, prefix) {
			return true
		}
	}
	return false
}

func (f *fakeNode) Self(context.Context) (node.SelfInfo, error) { return f.self, nil }

func (f *fakeNode) Status(context.Context) (node.StatusInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := node.StatusInfo{Self: f.self, Listen: f.listen}
	for _, fr := range f.friends {
		if fr.Online {
			st.Connected++
			st.Routes = append(st.Routes, node.RouteInfo{Peer: fr.Key, Route: fr.Route})
		}
	}
	return st, nil
}

func (f *fakeNode) Conferences(context.Context) ([]node.ConferenceInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]node.ConferenceInfo(nil), f.confs...), nil
}

func (f *fakeNode) Peers(_ context.Context, id node.ConferenceID) ([]node.PeerInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]node.PeerInfo(nil), f.peers[id]...), nil
}

func (f *fakeNode) History(_ context.Context, id node.ConferenceID, limit int, before int64) ([]node.HistoryEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "history "+id.Short())
	if f.invited(id) {
		return nil, node.ErrUnknownConference
	}
	hs := f.history[id]
	end := len(hs)
	if before > 0 {
		end = 0
		for i, h := range hs {
			if h.Seq < before {
				end = i + 1
			}
		}
	}
	start := max(0, end-limit)
	return append([]node.HistoryEntry(nil), hs[start:end]...), nil
}

func (f *fakeNode) Friends(context.Context) ([]node.FriendInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]node.FriendInfo(nil), f.friends...), nil
}

func (f *fakeNode) FriendRequests(context.Context) ([]node.RequestInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]node.RequestInfo(nil), f.requests...), nil
}

func (f *fakeNode) AddFriend(_ context.Context, id identity.ID, address, message string) error {
	if address == "" { // by ID alone: the node looks it up on the DHT (tui/dht_test.go)
		f.record("add " + id.Key.Short() + " dht " + message)
		if f.notOnDHT {
			return fmt.Errorf("%w: no item for %s", node.ErrNotOnDHT, id.Key.Short())
		}
		f.mu.Lock()
		f.friends = append(f.friends, node.FriendInfo{Key: id.Key})
		f.mu.Unlock()
		return nil
	}
	if !strings.Contains(address, ":") {
		return node.ErrBadAddress
	}
	f.record("add " + id.Key.Short() + " " + address + " " + message)
	f.mu.Lock()
	f.friends = append(f.friends, node.FriendInfo{Key: id.Key, Addresses: []string{address}})
	f.mu.Unlock()
	return nil
}

func (f *fakeNode) AcceptFriend(_ context.Context, k identity.PublicKey) error {
	f.record("accept " + k.Short())
	return nil
}

func (f *fakeNode) DeclineFriend(_ context.Context, k identity.PublicKey) error {
	f.record("decline " + k.Short())
	return nil
}

func (f *fakeNode) CreateConference(_ context.Context, title string) (node.ConferenceID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.created++
	id := confID(byte(0x50 + f.created))
	f.confs = append(f.confs, node.ConferenceInfo{ID: id, Title: title, Joined: true, PeerCount: 1})
	f.peers[id] = []node.PeerInfo{{Key: f.self.Key, Name: f.self.Name, Self: true}}
	f.calls = append(f.calls, "create "+title)
	return id, nil
}

func (f *fakeNode) Invite(_ context.Context, id node.ConferenceID, k identity.PublicKey) error {
	f.record("invite " + k.Short())
	return nil
}

func (f *fakeNode) Join(_ context.Context, id node.ConferenceID) error {
	f.record("join " + id.Short())
	return nil
}

func (f *fakeNode) Leave(_ context.Context, id node.ConferenceID) error {
	f.record("leave " + id.Short())
	return nil
}

func (f *fakeNode) SendMessage(_ context.Context, id node.ConferenceID, text string, action bool) (node.SentMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sendErr != nil {
		return node.SentMessage{}, f.sendErr
	}
	f.calls = append(f.calls, "send "+text)
	s := node.SentMessage{Number: f.nextNum, Seq: f.nextSeq, Time: testNow}
	f.nextNum++
	f.nextSeq++
	return s, nil
}

func (f *fakeNode) SetTitle(_ context.Context, id node.ConferenceID, title string) error {
	f.record("title " + title)
	return nil
}

func (f *fakeNode) SetName(_ context.Context, name string) error {
	f.record("nick " + name)
	return nil
}

func (f *fakeNode) SetHidden(_ context.Context, id node.ConferenceID, hidden bool) error {
	if hidden {
		f.record("hide " + id.Short())
	} else {
		f.record("unhide " + id.Short())
	}
	return nil
}

func (f *fakeNode) MarkRead(_ context.Context, id node.ConferenceID, seq int64) error {
	f.record("read")
	return nil
}

// invited reports whether id is an invite not yet joined: like the node,
// the fake knows no such conference for history and input history. f.mu
// held.
func (f *fakeNode) invited(id node.ConferenceID) bool {
	for _, c := range f.confs {
		if c.ID == id && c.Invited {
			return true
		}
	}
	return false
}

func (f *fakeNode) InputHistory(_ context.Context, id node.ConferenceID) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.invited(id) {
		return nil, node.ErrUnknownConference
	}
	return append([]string(nil), f.inputs[id]...), nil
}

func (f *fakeNode) AddInputHistory(_ context.Context, id node.ConferenceID, line string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inputs[id] = append(f.inputs[id], line)
	return nil
}

func (f *fakeNode) Search(_ context.Context, id *node.ConferenceID, text string, limit int) ([]node.SearchResult, error) {
	if text == "" {
		return nil, node.ErrEmptySearch
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []node.SearchResult
	for cid, hs := range f.history {
		if id != nil && cid != *id {
			continue
		}
		for i := len(hs) - 1; i >= 0; i-- {
			if strings.Contains(strings.ToLower(hs[i].Text), strings.ToLower(text)) {
				out = append(out, node.SearchResult{Conference: cid, HistoryEntry: hs[i]})
			}
		}
	}
	return out, nil
}

// fakeEvents is an Events fed by a channel.
type fakeEvents struct{ ch chan node.Event }

func newFakeEvents() *fakeEvents { return &fakeEvents{ch: make(chan node.Event, 64)} }

func (e *fakeEvents) Next(ctx context.Context) (node.Event, bool) {
	select {
	case ev, ok := <-e.ch:
		return ev, ok
	case <-ctx.Done():
		return nil, false
	}
}

var errFake = errors.New("disk on fire")

var _ = netlayer.RouteDirect
