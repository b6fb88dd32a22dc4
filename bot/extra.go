package bot

import (
	"context"
	"errors"

	"confchat/netlayer"
	"confchat/node"
)

// maxSearch bounds one conference.search answer (the node's own limit).
const maxSearch = 500

type routeJSON struct {
	PublicKey string         `json:"public_key"`
	Route     netlayer.Route `json:"route"`
	Switch    string         `json:"switch"`
}

type relayJSON struct {
	Address    string `json:"address"`
	Registered bool   `json:"registered"`
}

// selfStatus is what a status line shows: our listen address and the
// sessions that are up, with their routes.
func (s *Server) selfStatus(ctx context.Context, _ empty) (any, error) {
	st, err := s.node.Status(ctx)
	if err != nil {
		return nil, err
	}
	routes := []routeJSON{}
	for _, r := range st.Routes {
		routes = append(routes, routeJSON{PublicKey: r.Peer.String(), Route: r.Route, Switch: r.Switch})
	}
	relays := []relayJSON{}
	for _, r := range st.Relays {
		relays = append(relays, relayJSON{Address: r.Address.Bare(), Registered: r.Registered})
	}
	return map[string]any{"id": st.Self.ID.String(), "listen": st.Listen, "connected": st.Connected,
		"routes": routes, "relays": relays}, nil
}

// confSearch finds messages containing text, in one conference or all.
func (s *Server) confSearch(ctx context.Context, p struct {
	Conference *string `json:"conference"`
	Text       string  `json:"text" rpc:"required"`
	Limit      *int    `json:"limit"`
}) (any, error) {
	if p.Text == "" {
		return nil, Errorf(CodeInvalidParams, "invalid params: text is empty")
	}
	if err := checkLen("text", p.Text, node.MaxSearchText); err != nil {
		return nil, err
	}
	limit := 50
	if p.Limit != nil {
		limit = *p.Limit
	}
	if limit < 1 || limit > maxSearch {
		return nil, Errorf(CodeInvalidParams, "invalid params: limit must be 1 to %d", maxSearch)
	}
	var id *node.ConferenceID
	if p.Conference != nil {
		c, err := parseConf(*p.Conference)
		if err != nil {
			return nil, err
		}
		id = &c
	}
	rs, err := s.node.Search(ctx, id, p.Text, limit)
	if err != nil {
		return nil, err
	}
	out := []messageJSON{}
	for _, r := range rs {
		pending := r.Pending
		out = append(out, messageJSON{Conference: r.Conference.String(), From: r.From.String(), Name: r.Name,
			Text: r.Text, Action: r.Action, Number: r.Number, Time: rfc3339(r.Time), Cursor: r.Seq, Pending: &pending})
	}
	return map[string]any{"messages": out}, nil
}

// confMarkRead records that the user read a conference up to cursor.
func (s *Server) confMarkRead(ctx context.Context, p struct {
	Conference string `json:"conference" rpc:"required"`
	Cursor     *int64 `json:"cursor" rpc:"required"`
}) (any, error) {
	c, err := parseConf(p.Conference)
	if err != nil {
		return nil, err
	}
	if *p.Cursor < 0 {
		return nil, Errorf(CodeInvalidParams, "invalid params: cursor must be 0 or a history cursor")
	}
	err = s.node.MarkRead(ctx, c, *p.Cursor)
	if errors.Is(err, node.ErrNotCursor) {
		return nil, Errorf(CodeInvalidParams, "invalid params: cursor %d is not a history cursor of that conference", *p.Cursor)
	}
	return nil, err
}
