package bot

import (
	"context"
	"encoding/json"
	"time"

	"confchat/identity"
	"confchat/netlayer"
	"confchat/node"
	"confchat/peers"
)

// Keys are hex; conference ids are hex; times are RFC 3339.

type keyParam struct {
	PublicKey string `json:"public_key" rpc:"required"`
}

type confParam struct {
	Conference string `json:"conference" rpc:"required"`
}

func parseKey(s string) (identity.PublicKey, error) {
	k, err := identity.ParsePublicKey(s)
	if err != nil {
		return k, Errorf(CodeInvalidParams, "invalid params: %v", err)
	}
	return k, nil
}

func parseConf(s string) (node.ConferenceID, error) {
	c, err := identity.ParseConferenceID(s)
	if err != nil {
		return c, Errorf(CodeInvalidParams, "invalid params: %v", err)
	}
	return c, nil
}

// checkLen refuses text longer than the wire allows, before the node is
// asked (its own check would come back as an untyped error).
func checkLen(field, text string, max int) error {
	if len(text) > max {
		return Errorf(CodeInvalidParams, "invalid params: %s is %d bytes, the limit is %d", field, len(text), max)
	}
	return nil
}

// method adapts a typed handler: params are decoded strictly into P.
func method[P any](fn func(ctx context.Context, p P) (any, error)) Handler {
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var p P
		if err := DecodeParams(raw, &p); err != nil {
			return nil, err
		}
		res, err := fn(ctx, p)
		return res, toAppError(err)
	}
}

// pipelined adapts a typed pipelined handler (see Mux.HandlePipelined);
// both errors, the start's and the outcome's, are mapped like method's.
func pipelined[P any](fn func(ctx context.Context, p P) (func() (any, error), error)) PipelinedHandler {
	return func(ctx context.Context, raw json.RawMessage) (func() (any, error), error) {
		var p P
		if err := DecodeParams(raw, &p); err != nil {
			return nil, err
		}
		wait, err := fn(ctx, p)
		if err != nil {
			return nil, toAppError(err)
		}
		return func() (any, error) {
			res, err := wait()
			return res, toAppError(err)
		}, nil
	}
}

type empty struct{}

func (s *Server) register(m *Mux) {
	m.Handle("self.get", method(s.selfGet))
	m.Handle("self.set_name", method(s.selfSetName))
	m.Handle("self.set_nospam", method(s.selfSetNospam))
	m.Handle("friend.add", method(s.friendAdd))
	m.Handle("friend.accept", method(s.friendAccept))
	m.Handle("friend.decline", method(s.friendDecline))
	m.Handle("friend.remove", method(s.friendRemove))
	m.Handle("friend.list", method(s.friendList))
	m.Handle("friend.requests", method(s.friendRequests))
	m.Handle("conference.create", method(s.confCreate))
	m.Handle("conference.invite", method(s.confInvite))
	m.Handle("conference.join", method(s.confJoin))
	m.Handle("conference.list", method(s.confList))
	m.Handle("conference.peers", method(s.confPeers))
	m.HandlePipelined("conference.send", pipelined(s.confSend))
	m.Handle("conference.set_title", method(s.confSetTitle))
	m.Handle("conference.history", method(s.confHistory))
	m.Handle("conference.leave", method(s.confLeave))
	m.Handle("self.status", method(s.selfStatus))
	m.Handle("conference.search", method(s.confSearch))
	m.Handle("conference.mark_read", method(s.confMarkRead))
	m.Handle("shutdown", method(s.shutdownMethod))
}

type selfResult struct {
	ID        string   `json:"id"`
	PublicKey string   `json:"public_key"`
	Nospam    string   `json:"nospam"`
	Name      string   `json:"name"`
	Addresses []string `json:"addresses"`
	DHT       *dhtJSON `json:"dht"` // bot/dht.go
}

func (s *Server) selfGet(ctx context.Context, _ empty) (any, error) {
	me, err := s.node.Self(ctx)
	if err != nil {
		return nil, err
	}
	return selfResult{ID: me.ID.String(), PublicKey: me.Key.String(), Nospam: formatNospam(me.ID.Nospam),
		Name: me.Name, Addresses: nonNil(me.Addresses), DHT: dhtStatusJSON(me.DHT)}, nil
}

func (s *Server) selfSetName(ctx context.Context, p struct {
	Name string `json:"name" rpc:"required"`
}) (any, error) {
	if err := checkLen("name", p.Name, peers.MaxNameLen); err != nil {
		return nil, err
	}
	return nil, s.node.SetName(ctx, p.Name)
}

func (s *Server) friendAdd(ctx context.Context, p struct {
	ID      string `json:"id" rpc:"required"`
	Address string `json:"address"`
	Message string `json:"message"`
}) (any, error) {
	id, err := identity.ParseID(p.ID)
	if err != nil {
		return nil, err
	}
	if err := checkLen("message", p.Message, peers.MaxMessageLen); err != nil {
		return nil, err
	}
	if err := s.node.AddFriend(ctx, id, p.Address, p.Message); err != nil {
		return nil, err
	}
	return keyParam{PublicKey: id.Key.String()}, nil
}

func (s *Server) friendAccept(ctx context.Context, p keyParam) (any, error) {
	k, err := parseKey(p.PublicKey)
	if err != nil {
		return nil, err
	}
	return nil, s.node.AcceptFriend(ctx, k)
}

func (s *Server) friendDecline(ctx context.Context, p keyParam) (any, error) {
	k, err := parseKey(p.PublicKey)
	if err != nil {
		return nil, err
	}
	return nil, s.node.DeclineFriend(ctx, k)
}

func (s *Server) friendRemove(ctx context.Context, p keyParam) (any, error) {
	k, err := parseKey(p.PublicKey)
	if err != nil {
		return nil, err
	}
	return nil, s.node.RemoveFriend(ctx, k)
}

type friendJSON struct {
	PublicKey string         `json:"public_key"`
	Name      string         `json:"name"`
	Online    bool           `json:"online"`
	Route     netlayer.Route `json:"route"`
	Switch    string         `json:"switch"`
	Confirmed bool           `json:"confirmed"`
	Addresses []string       `json:"addresses"`
	// Via and DirectFailed: how a connected path runs ("relay", "hole
	// punch", "mapping", "direct") and why the last hole punch failed.
	Via          string `json:"via"`
	DirectFailed string `json:"direct_failed"`
}

func (s *Server) friendList(ctx context.Context, _ empty) (any, error) {
	fs, err := s.node.Friends(ctx)
	if err != nil {
		return nil, err
	}
	out := []friendJSON{}
	for _, f := range fs {
		out = append(out, friendJSON{PublicKey: f.Key.String(), Name: f.Name, Online: f.Online,
			Route: f.Route, Switch: f.Switch, Confirmed: f.Confirmed, Addresses: nonNil(f.Addresses),
			Via: f.Via, DirectFailed: f.DirectFailed})
	}
	return map[string]any{"friends": out}, nil
}

type requestJSON struct {
	PublicKey string `json:"public_key"`
	Name      string `json:"name"`
	Message   string `json:"message"`
	Time      string `json:"time"`
}

func (s *Server) friendRequests(ctx context.Context, _ empty) (any, error) {
	rs, err := s.node.FriendRequests(ctx)
	if err != nil {
		return nil, err
	}
	out := []requestJSON{}
	for _, r := range rs {
		out = append(out, requestJSON{PublicKey: r.Key.String(), Name: r.Name, Message: r.Message, Time: rfc3339(r.Time)})
	}
	return map[string]any{"requests": out}, nil
}

func (s *Server) confCreate(ctx context.Context, p struct {
	Title string `json:"title"`
}) (any, error) {
	id, err := s.node.CreateConference(ctx, p.Title)
	if err != nil {
		return nil, err
	}
	return confParam{Conference: id.String()}, nil
}

func (s *Server) confInvite(ctx context.Context, p struct {
	Conference string `json:"conference" rpc:"required"`
	PublicKey  string `json:"public_key" rpc:"required"`
}) (any, error) {
	c, err := parseConf(p.Conference)
	if err != nil {
		return nil, err
	}
	k, err := parseKey(p.PublicKey)
	if err != nil {
		return nil, err
	}
	return nil, s.node.Invite(ctx, c, k)
}

func (s *Server) confJoin(ctx context.Context, p confParam) (any, error) {
	c, err := parseConf(p.Conference)
	if err != nil {
		return nil, err
	}
	return nil, s.node.Join(ctx, c)
}

type confJSON struct {
	Conference  string `json:"conference"`
	Title       string `json:"title"`
	PeerCount   int    `json:"peer_count"`
	FrozenCount int    `json:"frozen_count"`
	Joined      bool   `json:"joined"`
	Invited     bool   `json:"invited"`
	InvitedBy   string `json:"invited_by"`
	Hidden      bool   `json:"hidden"`
	Unread      int    `json:"unread"`
	LastRead    int64  `json:"last_read"`
	Delivered   uint32 `json:"delivered"`
	Loading     bool   `json:"loading"`
}

func (s *Server) confList(ctx context.Context, _ empty) (any, error) {
	cs, err := s.node.Conferences(ctx)
	if err != nil {
		return nil, err
	}
	out := []confJSON{}
	for _, c := range cs {
		out = append(out, confJSON{Conference: c.ID.String(), Title: c.Title, PeerCount: c.PeerCount,
			FrozenCount: c.FrozenCount, Joined: c.Joined, Invited: c.Invited, InvitedBy: optKey(c.InvitedBy),
			Hidden: c.Hidden, Unread: c.Unread, LastRead: c.LastRead, Delivered: c.Delivered, Loading: c.Loading})
	}
	return map[string]any{"conferences": out}, nil
}

type peerJSON struct {
	PublicKey   string   `json:"public_key"`
	Name        string   `json:"name"`
	Frozen      bool     `json:"frozen"`
	Self        bool     `json:"self"`
	LastActive  string   `json:"last_active"`
	FrozenSince string   `json:"frozen_since"`
	Addresses   []string `json:"addresses"`
}

func (s *Server) confPeers(ctx context.Context, p confParam) (any, error) {
	c, err := parseConf(p.Conference)
	if err != nil {
		return nil, err
	}
	ps, err := s.node.Peers(ctx, c)
	if err != nil {
		return nil, err
	}
	out := []peerJSON{}
	for _, p := range ps {
		out = append(out, peerJSON{PublicKey: p.Key.String(), Name: p.Name, Frozen: p.Frozen, Self: p.Self,
			LastActive: rfc3339(p.LastActive), FrozenSince: rfc3339(p.FrozenSince), Addresses: nonNil(p.Addresses)})
	}
	return map[string]any{"peers": out}, nil
}

// confSend is pipelined: it returns once the node's loop has taken the
// message (numbered in request order); the wait reports it once stored.
func (s *Server) confSend(ctx context.Context, p struct {
	Conference string `json:"conference" rpc:"required"`
	Text       string `json:"text" rpc:"required"`
	Action     bool   `json:"action"`
}) (func() (any, error), error) {
	c, err := parseConf(p.Conference)
	if err != nil {
		return nil, err
	}
	if p.Text == "" {
		return nil, Errorf(CodeInvalidParams, "invalid params: text is empty")
	}
	wait, err := s.node.StartSendMessage(ctx, c, p.Text, p.Action)
	if err != nil {
		return nil, err
	}
	return func() (any, error) {
		m, err := wait()
		if err != nil {
			return nil, err
		}
		return sendResult{Number: m.Number, Cursor: m.Seq, Time: rfc3339(m.Time)}, nil
	}, nil
}

func (s *Server) confSetTitle(ctx context.Context, p struct {
	Conference string `json:"conference" rpc:"required"`
	Title      string `json:"title" rpc:"required"`
}) (any, error) {
	c, err := parseConf(p.Conference)
	if err != nil {
		return nil, err
	}
	return nil, s.node.SetTitle(ctx, c, p.Title)
}

type sendResult struct {
	Number uint32 `json:"number"`
	Cursor int64  `json:"cursor"`
	Time   string `json:"time"`
}

type messageJSON struct {
	Conference string `json:"conference,omitempty"`
	From       string `json:"from"`
	Name       string `json:"name"`
	Text       string `json:"text"`
	Action     bool   `json:"action"`
	Number     uint32 `json:"number"`
	Time       string `json:"time"`
	Cursor     int64  `json:"cursor,omitempty"`
	Pending    *bool  `json:"pending,omitempty"`
}

// maxHistory bounds one conference.history page.
const maxHistory = 1000

func (s *Server) confHistory(ctx context.Context, p struct {
	Conference string `json:"conference" rpc:"required"`
	Limit      *int   `json:"limit"`
	Before     int64  `json:"before"`
}) (any, error) {
	c, err := parseConf(p.Conference)
	if err != nil {
		return nil, err
	}
	limit := 100
	if p.Limit != nil {
		limit = *p.Limit
	}
	if limit < 1 || limit > maxHistory {
		return nil, Errorf(CodeInvalidParams, "invalid params: limit must be 1 to %d", maxHistory)
	}
	if p.Before < 0 {
		return nil, Errorf(CodeInvalidParams, "invalid params: before must be a cursor from an earlier page")
	}
	hs, err := s.node.History(ctx, c, limit, p.Before)
	if err != nil {
		return nil, err
	}
	out := []messageJSON{}
	for _, h := range hs {
		out = append(out, messageJSON{From: h.From.String(), Name: h.Name, Text: h.Text, Action: h.Action,
			Number: h.Number, Time: rfc3339(h.Time), Cursor: h.Seq, Pending: &h.Pending})
	}
	return map[string]any{"messages": out}, nil
}

func (s *Server) confLeave(ctx context.Context, p confParam) (any, error) {
	c, err := parseConf(p.Conference)
	if err != nil {
		return nil, err
	}
	return nil, s.node.Leave(ctx, c)
}

func (s *Server) shutdownMethod(context.Context, empty) (any, error) {
	// The response is still written: Serve stops after it, and the caller
	// of Shutdown closes the node.
	if s.opts.Shutdown != nil {
		s.opts.Shutdown()
	}
	return nil, nil
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// optKey is a key's hex, or "" for the zero key (none).
func optKey(k identity.PublicKey) string {
	if k == (identity.PublicKey{}) {
		return ""
	}
	return k.String()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
