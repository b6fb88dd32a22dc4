package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"confchat/clock"
	"confchat/conference"
	"confchat/discovery"
	"confchat/identity"
	"confchat/netlayer"
	"confchat/peers"
	"confchat/relay"
	"confchat/storage"
)

// ErrClosed is returned by calls on a node that has stopped.
var ErrClosed = errors.New("node is closed")

// Node is the client core of one profile. Create it with Open; stop it
// with Close.
type Node struct {
	cfg  Config
	log  *slog.Logger
	db   *storage.DB
	key  *identity.KeyPair
	ep   *netlayer.Endpoint
	hub  *hub
	reqs chan request

	ctx    context.Context // cancelled when the loop must stop
	cancel context.CancelFunc
	wg     sync.WaitGroup // the loop and every pump
	done   chan struct{}  // closed when the loop has returned
	stop   sync.Once

	// The fields below are owned by loop().
	id       identity.ID
	name     string
	addrs    []string
	book     *peers.Book
	wants    *peers.Wants
	sessions map[identity.PublicKey]*session
	confs    map[ConferenceID]*conf
	byGroup  map[uint16]*conf
	invites  map[ConferenceID]*invite
	seqs     map[msgKey]int64 // History positions of the rows the last apply stored
	redials  map[identity.PublicKey]*redial
	// nat gathers the port mapping and observed addresses (portmap.go);
	// natAddrs, loop-owned, is what of it we announce. listenAddr is the
	// bound listening address, for dials from its port.
	nat        *natState
	natAddrs   []string
	listenAddr atomic.Pointer[net.TCPAddr]
	punch      *puncher // hole punching (punch.go)
	// relayClient dials relay addresses and keeps our registrations
	// (relay.go); relayListeners are those registrations, fixed at Open.
	relayClient    *relay.Client
	relayListeners []*relay.Listener
	// strangers lists keys of sessions nobody wants, oldest first (it may
	// hold keys that have since become wanted; they are skipped).
	strangers   []identity.PublicKey
	strangerLog *logLimiter
	dropLog     *logLimiter
	healWake    chan struct{} // a pump drained after dropping frames
	counters    counters
	turn        turn
	lazy        lazyState          // shells waiting for their engines (lazy.go)
	readies     []conference.Ready // scratch of flush
	// Commit retry after a database failure.
	retryAt, reportedFailure time.Time
	retryDelay               time.Duration
	lastFailure              error
	clock                    Clock
	timer                    Timer
	closing                  bool
	// qctx bounds the database calls of the input the loop is handling
	// (dbTimeout), so a failing disk never stalls the loop for long.
	qctx context.Context

	// DHT (node/dht.go): set in Open before the loop starts, then only
	// read. dht is nil when the DHT is off or failed to start (dhtErr).
	dht        *discovery.Service
	dhtErr     error
	dhtLookups chan struct{} // bounds AddFriend's lookups at once
}

// request is a closure the loop runs for another goroutine.
type request struct {
	fn    func(now time.Time) error
	reply chan error
}

// Open opens the profile, starts listening and restores every saved
// conference (all peers frozen). The node runs until Close.
func Open(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Profile == "" {
		return nil, errors.New("node: Config.Profile is required")
	}
	if cfg.FreezeAfter == 0 {
		cfg.FreezeAfter = 60 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	db, err := storage.Open(ctx, cfg.Profile)
	if err != nil {
		return nil, err
	}
	for _, w := range db.Warnings() {
		log.Warn("profile permissions fixed", "detail", w)
	}
	n, err := open(ctx, cfg, log, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	return n, nil
}

func open(ctx context.Context, cfg Config, log *slog.Logger, db *storage.DB) (*Node, error) {
	key, id, err := db.LoadIdentity(ctx, rand.Reader)
	if err != nil {
		return nil, err
	}
	n := &Node{
		cfg: cfg, log: log, db: db, key: key, id: id, clock: cfg.Clock, qctx: ctx,
		hub:         newHub(),
		reqs:        make(chan request, maxTurnInputs), // a front end pipelining sends fills one turn
		done:        make(chan struct{}),
		wants:       peers.NewWants(),
		sessions:    map[identity.PublicKey]*session{},
		confs:       map[ConferenceID]*conf{},
		byGroup:     map[uint16]*conf{},
		invites:     map[ConferenceID]*invite{},
		seqs:        map[msgKey]int64{},
		redials:     map[identity.PublicKey]*redial{},
		healWake:    make(chan struct{}, 1),
		strangerLog: newLogLimiter(),
		dropLog:     newLogLimiter(),
		nat:         newNATState(),
		punch:       newPuncher(),
	}
	if err := n.loadName(ctx); err != nil {
		return nil, err
	}
	if err := n.listen(ctx); err != nil {
		return nil, err
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.startRelays()
	if err := n.loadFriends(ctx); err != nil {
		n.abortOpen()
		return nil, err
	}
	if err := n.abandonSwitches(ctx); err != nil { // route.go: no switch survives a restart
		n.abortOpen()
		return nil, err
	}
	now := n.clock.Now()
	if err := n.loadConferences(ctx, now); err != nil {
		n.abortOpen()
		return nil, err
	}
	n.timer = n.clock.NewTimer(time.Hour)
	n.qctx = ctx
	n.startup(now) // before the loop exists, so it owns nothing yet
	n.flush(now)
	n.qctx = n.ctx
	n.startDHT(ctx) // never fails: a DHT that cannot start is shown, not fatal
	n.wg.Add(1)
	go n.loop()
	n.startNAT() // portmap.go
	return n, nil
}

func (n *Node) abortOpen() {
	n.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	go func() {
		for range n.ep.Events() {
		}
	}()
	n.ep.Close(ctx)
}

func (n *Node) loadName(ctx context.Context) error {
	if n.cfg.Name != "" {
		n.name = n.cfg.Name
		return n.db.SetSetting(ctx, "name", n.name)
	}
	name, _, err := n.db.Setting(ctx, "name")
	n.name = name
	return err
}

// listen starts the endpoint on the configured address; with none, on the
// port used last time, falling back to any free port.
func (n *Node) listen(ctx context.Context) error {
	candidates := []string{n.cfg.Listen}
	if n.cfg.Listen == "" {
		candidates = []string{":0"}
		if port, ok, _ := n.db.Setting(ctx, "listen_port"); ok {
			candidates = []string{":" + port, ":0"}
		}
	}
	var lastErr error
	for _, addr := range candidates {
		tr, err := n.transport(listenIP(addr))
		if err != nil {
			return fmt.Errorf("start transport: %w", err)
		}
		ep, err := netlayer.New(netlayer.Config{
			Key: n.key, ListenAddr: addr, Logger: n.log, Transport: tr, Relay: n.relayClient,
			HeartbeatInterval: n.cfg.HeartbeatInterval, HeartbeatMisses: n.cfg.HeartbeatMisses,
		})
		if err != nil {
			return fmt.Errorf("start transport: %w", err)
		}
		if lastErr = ep.Listen(); lastErr != nil {
			ep.Close(ctx)
			continue
		}
		n.ep = ep
		if tcp, ok := ep.Addr().(*net.TCPAddr); ok {
			n.listenAddr.Store(tcp)
		}
		_, port, _ := net.SplitHostPort(ep.Addr().String())
		n.addrs = announced(advertised(n.cfg.Advertise, ep.Addr()), n.cfg.Relays)
		return n.db.SetSetting(ctx, "listen_port", port)
	}
	return lastErr // netlayer's error names the address and the cause
}

// listenIP returns the IP of a listen address that names one, so
// connections we make leave from the address we listen on; nil for "all
// interfaces" or a host name.
func listenIP(addr string) net.IP {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsUnspecified() {
		return nil
	}
	return ip
}

// advertised returns the addresses peers should dial: the configured ones,
// else the bound address (loopback when bound to all interfaces).
func advertised(cfg []string, bound net.Addr) []string {
	if len(cfg) > 0 {
		return append([]string(nil), cfg...)
	}
	tcp, ok := bound.(*net.TCPAddr)
	if !ok {
		return []string{bound.String()}
	}
	if tcp.IP.IsUnspecified() {
		return unspecifiedAddrs(tcp, interfaceIPs()) // advertise.go
	}
	return []string{tcp.String()}
}

// Subscribe returns a stream of the node's events from now on.
func (n *Node) Subscribe() *Subscription { return n.hub.subscribe() }

// Done is closed once the node has stopped.
func (n *Node) Done() <-chan struct{} { return n.done }

// Close stops the node: every conference announces a temporary leave,
// sessions close gracefully within ctx, and the database is closed.
// Later calls return nil.
func (n *Node) Close(ctx context.Context) error {
	var err error
	n.stop.Do(func() {
		err = n.do(ctx, func(now time.Time) error {
			n.shutdownLoop(ctx, now)
			return nil
		})
		if errors.Is(err, ErrClosed) {
			err = nil
		}
		n.cancel()
		<-n.done
		n.wg.Wait()
		if cerr := n.db.Close(); err == nil {
			err = cerr
		}
		n.hub.close()
	})
	return err
}

// do runs fn on the loop and returns its error.
func (n *Node) do(ctx context.Context, fn func(now time.Time) error) error {
	r := request{fn: fn, reply: make(chan error, 1)}
	select {
	case n.reqs <- r:
	case <-n.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.reply:
		return err
	case <-n.done:
		return ErrClosed
	}
}

// loop is the owner goroutine: it runs requests, netlayer events and
// timers one at a time.
func (n *Node) loop() {
	defer n.wg.Done()
	defer close(n.done)
	events := n.ep.Events()
	for {
		n.armTimer()
		open := true
		select {
		case r := <-n.reqs:
			open = n.runTurn(func(now time.Time) { n.noteRequest(now); n.runRequest(now, r) })
		case ev, ok := <-events:
			if !ok {
				return
			}
			open = n.runTurn(func(now time.Time) { n.handleNet(now, ev) })
		case <-n.timer.C():
			open = n.runTurn(n.tick)
		case <-n.healWake:
			open = n.runTurn(n.healPumps)
		case <-n.ctx.Done():
			return
		}
		if !open {
			return
		}
	}
}

// armTimer sets the timer to the earliest deadline of the engines, the
// session wants and stranger sessions.
func (n *Node) armTimer() {
	next := n.wants.NextExpiry()
	for _, d := range []time.Time{n.book.NextRequestExpiry(), n.nextRedial()} {
		if !d.IsZero() && (next.IsZero() || d.Before(next)) {
			next = d
		}
	}
	for _, c := range n.confs {
		if c.engine == nil {
			continue
		}
		if d := c.engine.NextDeadline(); !d.IsZero() && (next.IsZero() || d.Before(next)) {
			next = d
		}
	}
	if d := n.lazyDue(); !d.IsZero() && (next.IsZero() || d.Before(next)) {
		next = d
	}
	for _, s := range n.sessions {
		if d := s.strangerUntil; !d.IsZero() && (next.IsZero() || d.Before(next)) {
			next = d
		}
	}
	if !n.retryAt.IsZero() && len(n.turn.dirty) > 0 && (next.IsZero() || n.retryAt.Before(next)) {
		next = n.retryAt
	}
	wait := time.Hour
	if !next.IsZero() {
		wait = max(next.Sub(n.clock.Now()), 0)
	}
	n.timer.Reset(wait)
}

func (n *Node) tick(now time.Time) {
	for _, key := range n.wants.Expire(now) {
		n.releaseSession(key)
	}
	n.dueRedials(now)
	if d := n.book.NextRequestExpiry(); !d.IsZero() && !now.Before(d) {
		n.book.ExpireRequests(now)
		n.dropDisplacedRequests()
	}
	for key, s := range n.sessions {
		if s.strangerUntil.IsZero() || now.Before(s.strangerUntil) {
			continue
		}
		if n.wants.Wanted(key) || n.knownMember(key) {
			s.strangerUntil = time.Time{}
			continue
		}
		n.closeSessionWithin(key, strangerCloseTimeout)
	}
	for _, c := range n.confs {
		if c.engine == nil {
			continue
		}
		if d := c.engine.NextDeadline(); !d.IsZero() && !now.Before(d) {
			c.engine.Tick(now)
			n.apply(now, c)
		}
	}
	n.restoreDue(now)
}

// shutdownLoop runs on the loop at Close: conferences announce a
// temporary leave, queued frames are handed to their sessions, and the
// endpoint closes every session gracefully while the loop keeps draining
// its events.
func (n *Node) shutdownLoop(ctx context.Context, now time.Time) {
	n.closing = true
	for _, c := range n.confs {
		if c.engine != nil && c.engine.IsConnected() {
			c.engine.Shutdown(now)
			n.apply(now, c)
		}
	}
	n.flush(now) // the leave packets are queued before the pumps flush
	for _, s := range n.sessions {
		if s.pump != nil {
			s.pump.flush(ctx)
		}
	}
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		n.ep.Close(ctx)
	}()
	for ev := range n.ep.Events() {
		_ = ev // the node is going away; events no longer matter
	}
	<-closed
}

// emit publishes an event to every subscriber.
func (n *Node) emit(ev Event) { n.hub.publish(ev, n.clock.Now()) }
