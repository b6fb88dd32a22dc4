package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"confchat/discovery"
	"confchat/identity"
	"confchat/netlayer"
	"confchat/peers"
)

// DHTConfig configures finding peers by ID on the BitTorrent Mainline DHT
// (package discovery, docs/protocol.md part 5). The zero value is off:
// no UDP socket is opened and no packet is sent.
type DHTConfig struct {
	Enabled bool
	// Bootstrap routers as host:port; nil is discovery.DefaultBootstrap
	// (the well-known public routers).
	Bootstrap []string
	// Listen is the UDP address of the DHT node; empty: the TCP listen
	// address's host and port (any free port if that one is taken).
	Listen string
	// LookupInterval is the least time between two background lookups of
	// one ID (doubling after each that brings nothing new); 0 is
	// discovery.DefaultMinInterval.
	LookupInterval time.Duration
	// LookupTimeout bounds one lookup; 0 is discovery.DefaultLookupTimeout.
	LookupTimeout time.Duration
}

// Errors of adding a friend by ID alone.
var (
	// ErrNoAddress: no address was given and the DHT is off.
	ErrNoAddress = errors.New("no address given and the DHT is off (--no-dht): give the friend's address")
	// ErrNotOnDHT: the ID has no usable item on the DHT.
	ErrNotOnDHT = errors.New("not found on the DHT")
)

// DHTStatus is the DHT's state for the front ends.
type DHTStatus struct {
	Enabled     bool
	Ready       bool   // the first bootstrap finished
	Listen      string // the UDP address of the DHT node
	Nodes       int    // nodes in the routing table
	GoodNodes   int
	LastPublish time.Time // zero: not tried yet
	PublishSeq  int64     // sequence number of the last successful publish
	PublishErr  string    // result of the last publish, "" for success
	Published   []string  // addresses of the last successful publish
	Error       string    // why the DHT is not running, or the last bootstrap failure
	PacketsSent int64
	PacketsRecv int64
}

// DHTPublished: our addresses were stored on the DHT under our current ID
// (bot notification dht.published).
type DHTPublished struct {
	Addresses []string
	Seq       int64
}

func (DHTPublished) event() {}

// maxFoundLookups bounds the lookups AddFriend runs at once.
const maxFoundLookups = 8

// addLookupTimeout bounds AddFriend's lookup, a first bootstrap included.
const addLookupTimeout = 40 * time.Second

// startDHT creates the discovery service and starts its goroutines. It
// runs in Open just before the loop starts; a failure is logged and shown
// in the status, never fatal. n.dht is set once here and never changed.
func (n *Node) startDHT(ctx context.Context) {
	c := n.cfg.DHT
	if !c.Enabled {
		return
	}
	n.dhtLookups = make(chan struct{}, maxFoundLookups)
	seq, err := n.db.DHTSeq(ctx)
	if err != nil {
		n.dhtFailed(err)
		return
	}
	table, err := n.db.DHTRoutingTable(ctx)
	if err != nil {
		n.log.Warn("dht: saved routing table unreadable, bootstrapping afresh", "err", err)
	}
	seen := map[identity.ID]int64{}
	for _, f := range n.book.Friends() {
		if s, err := n.db.DHTSeen(ctx, f.Key); err == nil && s > 0 {
			seen[identity.ID{Key: f.Key, Nospam: f.Nospam}] = s
		}
	}
	cfg := discovery.Config{
		Bootstrap:     c.Bootstrap,
		RoutingTable:  table,
		Key:           n.key,
		ID:            n.id,
		Addresses:     n.dhtAddrs(),
		LastSeq:       seq,
		SaveSeq:       n.saveDHTSeq,
		Seen:          seen,
		Clock:         dhtClock{n.clock},
		Logger:        n.log,
		MinInterval:   c.LookupInterval,
		LookupTimeout: c.LookupTimeout,
	}
	listens := []string{c.Listen}
	if c.Listen == "" {
		listens = n.defaultDHTListen()
	}
	var svc *discovery.Service
	for _, l := range listens {
		cfg.Listen = l
		if svc, err = discovery.New(cfg); err == nil {
			break
		}
	}
	if err != nil {
		n.dhtFailed(err)
		return
	}
	n.dht = svc
	n.log.Info("dht started", "udp", svc.LocalAddr())
	n.wg.Add(2)
	go func() {
		defer n.wg.Done()
		if err := svc.Run(n.ctx); err != nil {
			n.log.Warn("dht stopped", "err", err)
		}
		// The loop has stopped or is stopping; Close waits for this
		// goroutine before it closes the database.
		sctx, cancel := context.WithTimeout(context.Background(), dbTimeout)
		defer cancel()
		if err := n.db.SetDHTRoutingTable(sctx, svc.RoutingTable()); err != nil {
			n.log.Warn("dht: saving the routing table", "err", err)
		}
	}()
	go func() {
		defer n.wg.Done()
		n.dhtEvents(svc)
	}()
}

// dhtClock is the node's clock as the discovery service's (same shape).
type dhtClock struct{ c Clock }

func (d dhtClock) Now() time.Time                           { return d.c.Now() }
func (d dhtClock) NewTimer(t time.Duration) discovery.Timer { return d.c.NewTimer(t) }

func (n *Node) dhtFailed(err error) {
	n.dhtErr = err
	n.log.Warn("dht not started; finding peers by ID is off", "err", err)
}

// defaultDHTListen is the TCP listen address as UDP, then any free port
// on the same host.
func (n *Node) defaultDHTListen() []string {
	host := ""
	port := "0"
	if a := n.ep.Addr(); a != nil {
		if h, p, err := net.SplitHostPort(a.String()); err == nil {
			host, port = h, p
			if ip := net.ParseIP(h); ip != nil && ip.IsUnspecified() {
				host = ""
			}
		}
	}
	return []string{net.JoinHostPort(host, port), net.JoinHostPort(host, "0")}
}

// saveDHTSeq persists a sequence number before an item carrying it is
// sent; it runs on a discovery worker goroutine.
func (n *Node) saveDHTSeq(seq int64) error {
	// The DHT's goroutine writes while the loop may hold the write lock
	// (a group commit, a restore): a busy database is tried again a few
	// times before the publish is put off (its retry is 30 s away).
	var err error
	for attempt := range 4 {
		if attempt > 0 {
			t := n.clock.NewTimer(time.Duration(attempt) * 250 * time.Millisecond)
			select {
			case <-n.ctx.Done():
				t.Stop()
				return err
			case <-t.C():
			}
		}
		ctx, cancel := context.WithTimeout(n.ctx, dbTimeout)
		err = n.db.RaiseDHTSeq(ctx, seq)
		cancel()
		if err == nil {
			return nil
		}
	}
	return err
}

// dhtEvents hands the service's events to the loop.
func (n *Node) dhtEvents(svc *discovery.Service) {
	for {
		select {
		case <-n.ctx.Done():
			return
		case ev := <-svc.Events():
			var err error
			switch ev := ev.(type) {
			case discovery.Published:
				err = n.do(n.ctx, func(now time.Time) error { n.dhtPublished(ev); return nil })
			case discovery.Found:
				err = n.do(n.ctx, func(now time.Time) error { n.dhtFound(ev); return nil })
			case discovery.LookupFailed:
				n.log.Debug("dht lookup", "peer", ev.ID.Key.Short(), "err", ev.Err, "retry", ev.RetryAt)
			}
			if err != nil {
				return
			}
		}
	}
}

// dhtPublished runs on the loop after a publish attempt.
func (n *Node) dhtPublished(ev discovery.Published) {
	if ev.Err != nil {
		n.log.Warn("dht publish failed", "err", ev.Err)
		n.emit(DHTChanged{})
		return
	}
	n.log.Info("dht published", "seq", ev.Seq, "addresses", ev.Addresses, "nodes", ev.Nodes)
	if err := n.db.SetDHTRoutingTable(n.qctx, n.dht.RoutingTable()); err != nil {
		n.log.Warn("dht: saving the routing table", "err", err)
	}
	n.emit(DHTPublished{Addresses: append([]string(nil), ev.Addresses...), Seq: ev.Seq})
}

// DHTChanged: the DHT's status changed (a failure to show); read it with
// Status.
type DHTChanged struct{}

func (DHTChanged) event() {}

// dhtFound runs on the loop with a verified record from a background
// lookup: a friend's addresses are learned and stored like those of a
// hello, and a wanted session dials them at once.
func (n *Node) dhtFound(ev discovery.Found) {
	key := ev.ID.Key
	f, ok := n.book.Friend(key)
	if !ok || f.Nospam != ev.ID.Nospam {
		return // removed meanwhile, or its ID changed
	}
	addrs := dialAddrs(ev.Record)
	if err := n.db.SetDHTSeen(n.qctx, key, ev.Seq); err != nil {
		n.log.Warn("dht: saving a seen sequence number", "peer", key.Short(), "err", err)
	}
	if len(addrs) == 0 {
		return
	}
	n.log.Info("dht found a friend", "peer", key.Short(), "addresses", addrs, "seq", ev.Seq)
	n.learnAddrs(key, addrs) // stored like a hello's, and dialled (node/relay.go)
}

// dhtUnreachable runs on the loop when a session to key failed at every
// address it has (or has none): a friend is looked up on the DHT. The
// service rate-limits per ID with backoff, so asking often is cheap.
// Conference peers that are not friends cannot be looked up: their
// nospam, which the item's salt needs, is unknown.
func (n *Node) dhtUnreachable(ev netlayer.SessionStateChanged) {
	if n.dht == nil || n.closing {
		return
	}
	switch {
	case ev.To == netlayer.BackingOff:
	case ev.To == netlayer.NoConnection && ev.Reason != nil:
	default:
		return
	}
	if !n.wants.Wanted(ev.Peer) {
		return
	}
	if f, ok := n.book.Friend(ev.Peer); ok {
		n.dht.RequestLookup(identity.ID{Key: f.Key, Nospam: f.Nospam})
	}
}

// dhtSetID republishes under a new ID (nospam change); the old ID's item
// is emptied.
func (n *Node) dhtSetID() {
	if n.dht != nil {
		n.dht.SetID(n.id)
	}
}

// dhtRepublish publishes our current addresses (call after n.addrs
// changed); unchanged addresses publish nothing new.
func (n *Node) dhtRepublish() {
	if n.dht != nil {
		n.dht.SetAddresses(n.dhtAddrs())
	}
}

// dhtAddrs is what we publish: the addresses we announce (direct ones,
// then our relays as relay:KEY@host:port, node/relay.go); a bare
// KEY@host:port relay address gets the relay: prefix of the record.
func (n *Node) dhtAddrs() []string {
	var out []string
	for _, a := range n.announcedAddrs() {
		if strings.Contains(a, "@") && !strings.HasPrefix(a, "relay:") {
			a = "relay:" + a
		}
		if err := discovery.ValidateAddress(a); err != nil {
			n.log.Debug("dht: address not published", "addr", a, "err", err)
			continue
		}
		if len(out) < discovery.MaxAddresses {
			out = append(out, a)
		}
	}
	return out
}

// dialAddrs is a record's addresses, direct ones first, at most
// peers.MaxAddresses: the forms a session dials (host:port and
// relay:KEY@host:port).
func dialAddrs(r discovery.Record) []string {
	out := append(r.Direct(), r.Relays()...)
	if len(out) > peers.MaxAddresses {
		out = out[:peers.MaxAddresses]
	}
	return out
}

// lookupForAdd finds id's addresses on the DHT for AddFriend. It runs on
// the caller's goroutine, never on the loop.
func (n *Node) lookupForAdd(ctx context.Context, id identity.ID) ([]string, int64, error) {
	if n.dht == nil {
		if n.dhtErr != nil {
			return nil, 0, fmt.Errorf("%w; the DHT failed to start: %v", ErrNoAddress, n.dhtErr)
		}
		return nil, 0, ErrNoAddress
	}
	ctx, cancel := context.WithTimeout(ctx, addLookupTimeout)
	defer cancel()
	select {
	case n.dhtLookups <- struct{}{}:
		defer func() { <-n.dhtLookups }()
	case <-ctx.Done():
		return nil, 0, fmt.Errorf("%w: too many lookups at once: %w", ErrNotOnDHT, ctx.Err())
	}
	found, err := n.dht.Lookup(ctx, id)
	switch {
	case errors.Is(err, discovery.ErrNotFound):
		return nil, 0, fmt.Errorf("%w: no item for %s (is it online, with the DHT on? or give an address)",
			ErrNotOnDHT, id.Key.Short())
	case err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		return nil, 0, fmt.Errorf("%w: the lookup of %s did not finish: %w", ErrNotOnDHT, id.Key.Short(), err)
	case err != nil:
		return nil, 0, fmt.Errorf("%w: %s: %w", ErrNotOnDHT, id.Key.Short(), err)
	}
	addrs := dialAddrs(found.Record)
	if len(addrs) == 0 {
		return nil, 0, fmt.Errorf("%w: the item of %s lists no address (its owner went offline or changed its ID)",
			ErrNotOnDHT, id.Key.Short())
	}
	return addrs, found.Seq, nil
}

// dhtStatus is the DHT part of the status; it never blocks.
func (n *Node) dhtStatus() DHTStatus {
	if n.dht == nil {
		st := DHTStatus{}
		if n.dhtErr != nil {
			st.Error = n.dhtErr.Error()
		}
		return st
	}
	s := n.dht.Status()
	st := DHTStatus{Enabled: s.Enabled, Ready: s.Ready, Listen: n.dht.LocalAddr(), Nodes: s.Nodes,
		GoodNodes: s.GoodNodes, LastPublish: s.LastPublish, PublishSeq: s.PublishSeq,
		Published: append([]string(nil), s.Published...), PacketsSent: s.PacketsSent, PacketsRecv: s.PacketsRecv}
	if s.PublishErr != nil {
		st.PublishErr = s.PublishErr.Error()
	}
	if s.LastError != nil {
		st.Error = s.LastError.Error()
	}
	return st
}
