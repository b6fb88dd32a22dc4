package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"confchat/identity"
	"confchat/netlayer"
	"confchat/peers"
	"confchat/storage"
)

// Friend request rate limit per source: a burst, then one per interval.
const (
	requestBurst    = 5
	requestInterval = time.Minute
)

// Errors of the friend API. Front ends branch on them with errors.Is.
var (
	ErrNotFriend  = errors.New("not a friend")
	ErrNoRequest  = errors.New("no pending friend request from that key")
	ErrSelf       = errors.New("that is our own key")
	ErrBadAddress = errors.New("bad address")
)

func isFriendPacket(id byte) bool {
	return id >= peers.PacketFriendRequest && id <= peers.PacketAddresses
}

func (n *Node) loadFriends(ctx context.Context) error {
	stored, err := n.db.Friends(ctx)
	if err != nil {
		return err
	}
	reqs, err := n.db.FriendRequests(ctx)
	if err != nil {
		return err
	}
	friends := make([]peers.Friend, 0, len(stored))
	for _, f := range stored {
		friends = append(friends, peers.Friend{Key: f.Key, Name: f.Name, Addresses: f.Addresses,
			Nospam: f.Nospam, Confirmed: f.Confirmed, AddedAt: f.AddedAt})
	}
	pending := make([]peers.PendingRequest, 0, len(reqs))
	for _, r := range reqs {
		pending = append(pending, peers.PendingRequest{Key: r.Key, ReceivedAt: r.ReceivedAt,
			Request: peers.Request{Message: r.Message, Addresses: r.Addresses}})
	}
	n.book = peers.NewBook(friends, pending, peers.NewLimiter(requestBurst, requestInterval))
	return nil
}

// startup opens sessions to every friend and applies what the restored
// engines asked for. It runs before the loop starts.
func (n *Node) startup(now time.Time) {
	n.dropDisplacedRequests() // the book trims what was stored past its cap
	for _, f := range n.book.Friends() {
		n.wantFriend(f)
	}
	for _, c := range n.confs {
		if c.engine != nil {
			n.apply(now, c)
		}
	}
}

func (n *Node) wantFriend(f peers.Friend) {
	kind := peers.WantFriend
	if !f.Confirmed {
		kind = peers.WantRequest
	}
	n.wants.Add(f.Key, peers.Want{Kind: kind}, time.Time{})
	n.openSession(f.Key, f.Addresses)
}

// friendSessionUp runs when a session comes up: a confirmed friend gets
// our name and addresses, an unconfirmed one our request (again).
func (n *Node) friendSessionUp(now time.Time, key identity.PublicKey) {
	f, ok := n.book.Friend(key)
	if !ok {
		return
	}
	if !f.Confirmed {
		n.sendRequest(key)
		return
	}
	n.sendHello(key, peers.PacketAddresses)
	if n.book.SetOnline(key, true, n.sessions[key].route) {
		n.emit(FriendOnline{Friend: key, Route: n.sessions[key].route})
	}
}

// helloFriends sends our name, addresses and nospam to every connected
// confirmed friend (after a change of any of them).
func (n *Node) helloFriends() {
	for _, f := range n.book.Friends() {
		if f.Confirmed && n.connected(f.Key) {
			n.sendHello(f.Key, peers.PacketAddresses)
		}
	}
}

// sendHello sends our name, addresses and current nospam (so friends hold
// our full current ID) in a friend accept or addresses packet.
func (n *Node) sendHello(key identity.PublicKey, id byte) {
	b, err := peers.EncodeHello(id, peers.Hello{Name: n.name, Addresses: n.addrs,
		Nospam: n.id.Nospam, HasNospam: true})
	if err != nil {
		n.log.Error("encode hello", "err", err)
		return
	}
	n.send(key, b)
}

func (n *Node) sendRequest(key identity.PublicKey) {
	f, _ := n.book.Friend(key)
	msg, _, _ := n.db.Setting(n.qctx, requestMessageKey(key))
	b, err := peers.EncodeRequest(peers.Request{Nospam: f.Nospam, Name: n.name, Message: msg, Addresses: n.addrs})
	if err != nil {
		n.log.Error("encode friend request", "err", err)
		return
	}
	n.send(key, b)
}

func requestMessageKey(key identity.PublicKey) string { return "request_message:" + key.String() }

// handleFrame routes a frame by its first byte.
func (n *Node) handleFrame(now time.Time, from identity.PublicKey, data []byte) {
	if len(data) == 0 {
		return
	}
	if data[0] == packetPunch { // punch.go
		n.handlePunchFrame(now, from, data)
		return
	}
	if isFriendPacket(data[0]) {
		if err := n.handleFriendPacket(now, from, data); err != nil {
			n.log.Debug("friend packet dropped", "peer", from.Short(), "err", err)
		}
		return
	}
	n.handleConferencePacket(now, from, data)
}

func (n *Node) handleFriendPacket(now time.Time, from identity.PublicKey, data []byte) error {
	switch data[0] {
	case peers.PacketFriendRequest:
		r, err := peers.DecodeRequest(data)
		if err != nil {
			return err
		}
		return n.friendRequestArrived(now, from, r)
	case peers.PacketFriendAccept, peers.PacketAddresses:
		h, err := peers.DecodeHello(data)
		if err != nil {
			return err
		}
		return n.helloArrived(now, from, data[0], h)
	case peers.PacketFriendRemove:
		if n.book.Remove(from) {
			n.forgetFriend(from)
		}
	}
	return nil
}

func (n *Node) friendRequestArrived(now time.Time, from identity.PublicKey, r peers.Request) error {
	var src peers.Source
	if s, ok := n.sessions[from]; ok {
		src = peers.SourceOf(s.remote)
	}
	defer n.dropDisplacedRequests()
	switch n.book.HandleRequest(from, r, src, n.id.Nospam, now) {
	case peers.RequestStored:
		if s, ok := n.sessions[from]; ok && !n.wants.Wanted(from) {
			s.strangerUntil = now.Add(strangerGrace)
		}
		err := n.db.PutFriendRequest(n.qctx, storage.FriendRequest{
			Key: from, Message: r.Message, Addresses: r.Addresses, ReceivedAt: now})
		n.emit(FriendRequestReceived{From: from, Name: r.Name, Message: r.Message})
		return err
	case peers.RequestMutual:
		n.sendHello(from, peers.PacketFriendAccept)
		return n.friendConfirmed(now, from)
	case peers.RequestFromFriend:
		n.sendHello(from, peers.PacketFriendAccept)
	case peers.RequestBadNospam:
		return errors.New("friend request with a stale nospam ignored")
	case peers.RequestRateLimited:
		return errors.New("friend request rate-limited")
	}
	return nil
}

// dropDisplacedRequests deletes the rows of pending requests the book
// evicted (its cap) or aged out, and lets their stranger sessions go.
func (n *Node) dropDisplacedRequests() {
	for _, key := range n.book.DroppedRequests() {
		if err := n.db.DeleteFriendRequest(n.qctx, key); err != nil {
			n.log.Warn("delete displaced friend request", "peer", key.Short(), "err", err)
		}
		n.releaseSession(key)
	}
}

func (n *Node) helloArrived(now time.Time, from identity.PublicKey, id byte, h peers.Hello) error {
	f, ok := n.book.Friend(from)
	if !ok {
		return ErrNotFriend
	}
	if id == peers.PacketFriendAccept && !f.Confirmed {
		n.book.Confirm(from, h)
		return n.friendConfirmed(now, from)
	}
	old := f.Name
	if !n.book.Learn(from, h) {
		return nil
	}
	n.friendAddrsChanged(from) // relay.go: a live relayed session gets the new direct candidates
	err := n.saveFriend(from)
	if f, _ := n.book.Friend(from); f.Name != old {
		n.emit(FriendRenamed{Friend: from, Name: f.Name})
	}
	return err
}

// friendConfirmed: a friendship became mutual. Persist it, keep its
// session for good, and say so.
func (n *Node) friendConfirmed(now time.Time, key identity.PublicKey) error {
	n.wants.Remove(key, peers.Want{Kind: peers.WantRequest})
	n.wants.Add(key, peers.Want{Kind: peers.WantFriend}, time.Time{})
	if s, ok := n.sessions[key]; ok {
		s.strangerUntil = time.Time{}
	}
	err := n.saveFriend(key)
	n.friendChanged(key)
	f, _ := n.book.Friend(key)
	n.emit(FriendAccepted{Friend: key, Name: f.Name})
	n.routeWanted(key)        // route.go
	n.friendAddrsChanged(key) // relay.go
	if n.connected(key) && n.book.SetOnline(key, true, n.sessions[key].route) {
		n.emit(FriendOnline{Friend: key, Route: n.sessions[key].route})
	}
	return err
}

func (n *Node) saveFriend(key identity.PublicKey) error {
	f, ok := n.book.Friend(key)
	if !ok {
		return ErrNotFriend
	}
	return n.db.PutFriend(n.qctx, storage.Friend{Key: f.Key, Name: f.Name,
		Addresses: f.Addresses, Nospam: f.Nospam, Confirmed: f.Confirmed, AddedAt: f.AddedAt})
}

// forgetFriend deletes a removed friend and lets its session go unless a
// conference still needs it.
func (n *Node) forgetFriend(key identity.PublicKey) {
	ctx := n.qctx
	if err := n.db.DeleteFriend(ctx, key); err != nil {
		n.log.Error("delete friend", "err", err)
	}
	n.db.SetSetting(ctx, requestMessageKey(key), "")
	n.db.SetDHTSeen(ctx, key, 0)
	n.friendChanged(key)
	n.wants.Remove(key, peers.Want{Kind: peers.WantFriend})
	n.wants.Remove(key, peers.Want{Kind: peers.WantRequest})
	if n.book.SetOnline(key, false, netlayer.RouteNone) {
		n.emit(FriendOffline{Friend: key})
	}
	n.emit(FriendRemoved{Friend: key})
	n.releaseSession(key)
}

// AddFriend sends a friend request to id at address, with message. If id
// had already asked us, the friendship is confirmed at once. An empty
// address looks id up on the DHT first, on the caller's goroutine (the
// loop never waits for the DHT): ErrNotOnDHT when nothing usable is
// found, ErrNoAddress when the DHT is off.
func (n *Node) AddFriend(ctx context.Context, id identity.ID, address, message string) error {
	if err := identity.ValidatePublicKey(id.Key); err != nil {
		return err
	}
	if address != "" {
		if err := checkDialAddr(address); err != nil {
			return err
		}
	}
	if len(message) > peers.MaxMessageLen {
		return fmt.Errorf("message is %d bytes, the limit is %d", len(message), peers.MaxMessageLen)
	}
	if id.Key == n.key.Public() {
		return ErrSelf
	}
	addrs, seen := []string{address}, int64(0)
	if address == "" {
		var err error
		if addrs, seen, err = n.lookupForAdd(ctx, id); err != nil {
			return err
		}
	}
	return n.do(ctx, func(now time.Time) error {
		if id.Key == n.key.Public() {
			return ErrSelf
		}
		if err := n.db.SetSetting(n.qctx, requestMessageKey(id.Key), message); err != nil {
			return err
		}
		f, mutual := n.book.Add(id.Key, id.Nospam, addrs, now)
		if err := n.saveFriend(id.Key); err != nil {
			return err
		}
		if seen > 0 {
			if err := n.db.SetDHTSeen(n.qctx, id.Key, seen); err != nil {
				return err
			}
		}
		n.wantFriend(f)
		if mutual {
			n.sendHello(id.Key, peers.PacketFriendAccept)
			return n.friendConfirmed(now, id.Key)
		}
		if n.connected(id.Key) {
			n.sendRequest(id.Key)
		}
		return nil
	})
}

// AcceptFriend accepts a pending friend request.
func (n *Node) AcceptFriend(ctx context.Context, key identity.PublicKey) error {
	return n.do(ctx, func(now time.Time) error {
		f, ok := n.book.Accept(key, now)
		if !ok {
			return ErrNoRequest
		}
		if err := n.db.DeleteFriendRequest(n.qctx, key); err != nil {
			return err
		}
		if err := n.saveFriend(key); err != nil {
			return err
		}
		n.wantFriend(f)
		n.sendHello(key, peers.PacketFriendAccept)
		return n.friendConfirmed(now, key)
	})
}

// DeclineFriend drops a pending friend request.
func (n *Node) DeclineFriend(ctx context.Context, key identity.PublicKey) error {
	return n.do(ctx, func(now time.Time) error {
		if !n.book.Decline(key) {
			return ErrNoRequest
		}
		n.releaseSession(key)
		return n.db.DeleteFriendRequest(n.qctx, key)
	})
}

// RemoveFriend removes a friend and tells them.
func (n *Node) RemoveFriend(ctx context.Context, key identity.PublicKey) error {
	return n.do(ctx, func(now time.Time) error {
		if !n.book.Remove(key) {
			return ErrNotFriend
		}
		n.send(key, []byte{peers.PacketFriendRemove})
		n.forgetFriend(key)
		return nil
	})
}

// FriendInfo describes a friend for the front ends.
type FriendInfo struct {
	Key       identity.PublicKey
	ID        identity.ID // their full ID as we know it (the nospam their hellos announce)
	Name      string
	Confirmed bool
	Online    bool
	Route     netlayer.Route
	Switch    string // a route switch in progress, or how one just failed ("" when none)
	Addresses []string
	// Via says how the path runs (punch.go): ViaRelay, ViaHolePunch,
	// ViaMapping or ViaDirect; "" without a connection. DirectFailed is
	// why the last hole punch failed, while the session stays relayed.
	Via          string
	DirectFailed string
}

// Friends lists the friends in the order they were added.
func (n *Node) Friends(ctx context.Context) ([]FriendInfo, error) {
	var out []FriendInfo
	err := n.do(ctx, func(time.Time) error {
		for _, f := range n.book.Friends() {
			fi := FriendInfo{Key: f.Key, ID: identity.ID{Key: f.Key, Nospam: f.Nospam}, Name: f.Name, Confirmed: f.Confirmed,
				Online: f.Online, Route: n.friendRoute(f), Switch: n.switchOf(f.Key), Addresses: f.Addresses}
			fi.Via, fi.DirectFailed = n.viaOf(f.Key, n.liveRoute(f.Key, fi.Route))
			if fi.Route == netlayer.RouteNone {
				fi.Via = "" // no route listed (not a confirmed friend online): no path to describe
			}
			out = append(out, fi)
		}
		return nil
	})
	return out, err
}

// RequestInfo is a pending friend request.
type RequestInfo struct {
	Key     identity.PublicKey
	Name    string // the name the request gave (unverified: it is the asker's own word)
	Message string
	Time    time.Time
}

// FriendRequests lists pending friend requests, oldest first.
func (n *Node) FriendRequests(ctx context.Context) ([]RequestInfo, error) {
	var out []RequestInfo
	err := n.do(ctx, func(time.Time) error {
		for _, r := range n.book.Requests() {
			out = append(out, RequestInfo{Key: r.Key, Name: r.Request.Name, Message: r.Request.Message, Time: r.ReceivedAt})
		}
		return nil
	})
	return out, err
}
