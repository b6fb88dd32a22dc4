package node

import (
	"context"
	"slices"
	"time"

	"confchat/identity"
	"confchat/netlayer"
)

// StatusInfo is what a status line shows.
type StatusInfo struct {
	Self      SelfInfo
	Listen    string // the bound listen address
	Connected int    // sessions up
	Routes    []RouteInfo
	Relays    []RelayInfo // our relays and whether we are registered there
}

// RouteInfo is the path of the session to one peer, and any switch
// between paths in progress ("" when none).
type RouteInfo struct {
	Peer   identity.PublicKey
	Route  netlayer.Route
	Switch string
	// Via and DirectFailed as in FriendInfo (punch.go).
	Via          string
	DirectFailed string
}

// Status returns our identity, listen address and the sessions that are
// up with their routes, ordered by key.
func (n *Node) Status(ctx context.Context) (StatusInfo, error) {
	var st StatusInfo
	err := n.do(ctx, func(time.Time) error {
		st.Self = n.selfInfo()
		if a := n.ep.Addr(); a != nil {
			st.Listen = a.String()
		}
		for key, s := range n.sessions {
			if !s.connected {
				continue
			}
			st.Connected++
			ri := RouteInfo{Peer: key, Route: s.route, Switch: s.sw.phase}
			ri.Via, ri.DirectFailed = n.viaOf(key, s.route)
			st.Routes = append(st.Routes, ri)
		}
		st.Relays = n.relayInfos()
		return nil
	})
	slices.SortFunc(st.Routes, func(a, b RouteInfo) int { return slices.Compare(a.Peer[:], b.Peer[:]) })
	return st, err
}

func (n *Node) selfInfo() SelfInfo {
	return SelfInfo{ID: n.id, Key: n.key.Public(), Name: n.name, Addresses: append([]string(nil), n.addrs...),
		DHT: n.dhtStatus()}
}
