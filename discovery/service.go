package discovery

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"confchat/identity"
)

// bep44Expiry is how long our own DHT node keeps items others put.
const bep44Expiry = 2 * time.Hour

// Status is the service's state for display.
type Status struct {
	Enabled     bool
	Ready       bool      // the first bootstrap has finished
	Nodes       int       // nodes in the routing table
	GoodNodes   int       // of which answered recently
	LastPublish time.Time // zero: never tried
	PublishSeq  int64     // sequence number of the last successful publish
	PublishErr  error     // result of the last publish; nil is success
	Published   []string  // addresses of the last successful publish
	LastError   error     // last bootstrap failure, nil if none
	PacketsSent int64
	PacketsRecv int64
}

// Event is what the service tells its caller: Published, Found or
// LookupFailed.
type Event interface{ isEvent() }

// Published reports one publish attempt (bot notification dht.published
// on success).
type Published struct {
	Addresses []string
	Seq       int64
	Err       error // nil: stored on Nodes DHT nodes
	Nodes     int
}

// Found is a verified record for ID, from a lookup.
type Found struct {
	ID     identity.ID
	Record Record
	Seq    int64
}

// LookupFailed reports a lookup that found nothing usable; the next
// background lookup of ID is allowed at RetryAt.
type LookupFailed struct {
	ID      identity.ID
	Err     error
	RetryAt time.Time
}

func (Published) isEvent()    {}
func (Found) isEvent()        {}
func (LookupFailed) isEvent() {}

// Service is the DHT node with its publisher and resolver. Run owns all
// of its state; the other methods only send it messages and never block
// (Lookup waits only for its own context).
type Service struct {
	cfg    Config
	node   *dhtNode // nil when disabled
	reqs   chan request
	events chan Event
	done   chan struct{}
	status atomic.Pointer[Status]
	table  atomic.Pointer[[]byte]
	runMu  sync.Mutex
	ran    bool
}

// New checks cfg and, unless it is Disabled, opens the UDP socket (or
// takes Conn, which the service then owns) and loads the routing table.
// The DHT node answers others' queries from here on; it sends nothing of
// its own before Run, and Run's end closes the socket, so call Run.
func New(cfg Config) (*Service, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	s := &Service{
		cfg:    cfg,
		reqs:   make(chan request, requestBacklog),
		events: make(chan Event),
		done:   make(chan struct{}),
	}
	tb := append([]byte(nil), cfg.RoutingTable...)
	s.table.Store(&tb)
	s.status.Store(&Status{Enabled: !cfg.Disabled})
	if cfg.Disabled {
		return s, nil
	}
	n, err := newDHTNode(&s.cfg)
	if err != nil {
		return nil, err
	}
	s.node = n
	nodes, err := decodeTable(cfg.RoutingTable)
	if err != nil {
		cfg.Logger.Warn("dht: ignoring saved routing table", "err", err)
	}
	for _, ni := range nodes {
		_ = n.srv.AddNode(ni) // a full bucket refuses some; fine
	}
	return s, nil
}

// Events delivers Published, Found and LookupFailed. The service keeps at
// most a bounded backlog for a caller that does not read (oldest dropped).
func (s *Service) Events() <-chan Event { return s.events }

// Status returns the latest status; it never blocks.
func (s *Service) Status() Status {
	st := *s.status.Load()
	if s.node != nil {
		ss := s.node.srv.Stats()
		st.Nodes, st.GoodNodes = ss.Nodes, ss.GoodNodes
		st.PacketsSent, st.PacketsRecv = s.node.conn.sent.Load(), s.node.conn.received.Load()
	}
	return st
}

// LocalAddr is the DHT node's UDP address (nil when disabled).
func (s *Service) LocalAddr() string {
	if s.node == nil {
		return ""
	}
	return s.node.srv.Addr().String()
}

// RoutingTable returns the routing table as bytes for the profile, to be
// passed back as Config.RoutingTable; it works after Run returned too.
func (s *Service) RoutingTable() []byte {
	select {
	case <-s.done:
	default:
		if s.node != nil {
			return encodeTable(s.node.srv.Nodes())
		}
	}
	return append([]byte(nil), *s.table.Load()...)
}

// SetAddresses replaces the published addresses; a change republishes
// at once. It never blocks; false means the request queue is full.
func (s *Service) SetAddresses(addrs []string) bool {
	return s.send(request{kind: reqAddrs, addrs: append([]string(nil), addrs...)})
}

// SetID switches to a new ID (new nospam): the item is republished under
// the new salt and the old one is left to expire.
func (s *Service) SetID(id identity.ID) bool {
	return s.send(request{kind: reqID, id: id})
}

// RequestLookup asks for a background lookup of id (a friend or peer not
// reachable at any known address). It is rate-limited per ID with
// backoff; the result arrives as a Found or LookupFailed event.
func (s *Service) RequestLookup(id identity.ID) bool {
	return s.send(request{kind: reqLookup, id: id})
}

// Remember tells the resolver the highest sequence number already seen
// for id (e.g. stored with a friend), so a lower one is never accepted.
func (s *Service) Remember(id identity.ID, seq int64) bool {
	return s.send(request{kind: reqRemember, id: id, seq: seq})
}

// Lookup looks id up now (a user typed it), ignoring backoff, and waits
// for the verified result or ctx.
func (s *Service) Lookup(ctx context.Context, id identity.ID) (Found, error) {
	if s.cfg.Disabled {
		return Found{}, ErrDisabled
	}
	reply := make(chan lookupResult, 1)
	r := request{kind: reqLookup, id: id, explicit: true, reply: reply}
	select {
	case s.reqs <- r:
	case <-s.done:
		return Found{}, ErrClosed
	case <-ctx.Done():
		return Found{}, ctx.Err()
	}
	select {
	case res := <-reply:
		return res.found, res.err
	case <-s.done:
		return Found{}, ErrClosed
	case <-ctx.Done():
		return Found{}, ctx.Err()
	}
}

func (s *Service) send(r request) bool {
	select {
	case <-s.done:
		return false
	default:
	}
	select {
	case s.reqs <- r:
		return true
	default:
		return false
	}
}

// Run is the owner goroutine: it bootstraps, publishes, refreshes and
// looks up until ctx ends, then closes the socket and returns once every
// worker has stopped. It may be called once.
func (s *Service) Run(ctx context.Context) error {
	s.runMu.Lock()
	if s.ran {
		s.runMu.Unlock()
		return ErrClosed
	}
	s.ran = true
	s.runMu.Unlock()
	l := newLoop(s)
	err := l.run(ctx)
	if s.node != nil {
		tb := encodeTable(s.node.srv.Nodes())
		s.table.Store(&tb)
		s.node.close()
	}
	close(s.done)
	return err
}
