package netlayer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	"confchat/identity"
)

// Endpoint owns a listener and the sessions of one key pair. Create it with
// New, call Listen to accept connections, Open to reach peers, and read
// Events until it is closed (the channel is closed last).
type Endpoint struct {
	cfg      Config
	log      *slog.Logger
	self     identity.PublicKey
	hs       handshaker
	events   chan Event
	ctx      context.Context // canceled by terminate: every goroutine stops
	cancel   context.CancelFunc
	wg       sync.WaitGroup // accept loop, inbound handshakes, sessions
	halfOpen *halfOpenTable // inbound handshakes in progress

	liveConns  atomic.Int64 // links alive now (tests count them)
	badRecords atomic.Int64 // records that failed to decrypt or frame (tests count them)
	// wireSent and wireReceived count the bytes of sealed records (length
	// prefix included) written to and read from session connections.
	wireSent, wireReceived atomic.Uint64

	closeOnce sync.Once
	termOnce  sync.Once

	mu struct {
		sync.Mutex
		ln       net.Listener
		served   map[net.Listener]struct{} // listeners passed to Serve
		closed   bool
		sessions map[identity.PublicKey]*Session
		relays   []string // our own relays: relay candidates for every peer
	}
}

// New makes an endpoint; it does not listen until Listen is called.
func New(cfg Config) (*Endpoint, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Endpoint{
		cfg:  cfg,
		log:  cfg.Logger.With("self", cfg.Key.Public().Short()),
		self: cfg.Key.Public(),
		hs: handshaker{
			key: cfg.Key, major: VersionMajor, accept: cfg.Accept,
			timeout: cfg.HandshakeTimeout, step: cfg.HandshakeStepTimeout, clock: cfg.Clock,
		},
		events:   make(chan Event, cfg.EventBuffer),
		ctx:      ctx,
		cancel:   cancel,
		halfOpen: newHalfOpenTable(cfg.MaxHalfOpen, cfg.MaxHalfOpenPerSource),
	}
	e.mu.sessions = make(map[identity.PublicKey]*Session)
	e.mu.served = make(map[net.Listener]struct{})
	return e, nil
}

// Key returns the endpoint's public key.
func (e *Endpoint) Key() identity.PublicKey { return e.self }

// WireBytes returns the bytes of sealed records (with their length
// prefixes) the endpoint's sessions wrote and read so far; handshakes are
// not counted. It does not wait for any session.
func (e *Endpoint) WireBytes() (sent, received uint64) {
	return e.wireSent.Load(), e.wireReceived.Load()
}

// Events returns the endpoint's event stream. The layer above must keep
// reading it: a full channel stalls the sessions that have events to
// report (and, through TCP, their peers). It is closed by Close.
func (e *Endpoint) Events() <-chan Event { return e.events }

// Listen binds Config.ListenAddr through Config.Transport and starts
// accepting connections.
func (e *Endpoint) Listen() error {
	ln, err := e.cfg.Transport.Listen(e.cfg.ListenAddr)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) {
			return err // "listen tcp ADDR: bind: address already in use" says it all
		}
		return fmt.Errorf("listen on %s: %w", e.cfg.ListenAddr, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.mu.closed || e.mu.ln != nil {
		_ = ln.Close()
		if e.mu.closed {
			return fmt.Errorf("listen: %w", ErrClosed)
		}
		return errors.New("listen: already listening")
	}
	e.mu.ln = ln
	e.wg.Go(func() { _ = e.acceptLoop(ln) })
	return nil
}

// Serve accepts connections from l as from the listen address (a relay
// registration's stream of spliced inbound connections, say) until l
// fails or the endpoint closes, and then closes l. It blocks: the caller
// owns the goroutine. It returns ErrClosed when the endpoint closed, else
// l's Accept error.
func (e *Endpoint) Serve(l net.Listener) error {
	e.mu.Lock()
	if e.mu.closed {
		e.mu.Unlock()
		_ = l.Close()
		return fmt.Errorf("serve: %w", ErrClosed)
	}
	e.mu.served[l] = struct{}{}
	e.mu.Unlock()
	err := e.acceptLoop(l)
	e.mu.Lock()
	delete(e.mu.served, l)
	closed := e.mu.closed
	e.mu.Unlock()
	_ = l.Close()
	if closed {
		return fmt.Errorf("serve: %w", ErrClosed)
	}
	return fmt.Errorf("serve: %w", err)
}

// Addr returns the bound listen address, or nil before Listen.
func (e *Endpoint) Addr() net.Addr {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.mu.ln == nil {
		return nil
	}
	return e.mu.ln.Addr()
}

// Open returns the session with peer, creating it if needed, and sets the
// addresses it dials (nil keeps an existing session's addresses; a new
// session without addresses waits for the peer to connect). A session
// that is Closing is returned as is: wait for its Done, then Open again.
func (e *Endpoint) Open(peer identity.PublicKey, addrs []string) (*Session, error) {
	if peer == e.self {
		return nil, errors.New("open: cannot open a session to ourselves")
	}
	if _, err := peer.X25519(); err != nil {
		return nil, fatal(ReasonBadKey, err)
	}
	s, created, err := e.session(peer, addrs, false)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	if !created && addrs != nil {
		s.SetAddrs(addrs)
	}
	return s, nil
}

// SetRelays sets our own relays ("relay:KEY@host:port"): every dial of a
// peer that has addresses also tries them as relay candidates (asking
// each relay for the peer), after the peer's direct candidates and with
// its announced relays. Other entries are ignored. It affects dials that
// start afterwards.
func (e *Endpoint) SetRelays(addrs []string) {
	_, relays := SplitAddrs(addrs)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.mu.relays = relays
}

func (e *Endpoint) relays() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.mu.relays
}

// Session returns the live session with peer, or nil.
func (e *Endpoint) Session(peer identity.PublicKey) *Session {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.mu.sessions[peer]
}

// Sessions returns the live sessions.
func (e *Endpoint) Sessions() []*Session {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*Session, 0, len(e.mu.sessions))
	for _, s := range e.mu.sessions {
		out = append(out, s)
	}
	return out
}

// session gets or creates the session with peer.
func (e *Endpoint) session(peer identity.PublicKey, addrs []string, inbound bool) (*Session, bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.mu.closed {
		return nil, false, ErrClosed
	}
	if s := e.mu.sessions[peer]; s != nil {
		return s, false, nil
	}
	s := newSession(e, peer, addrs, inbound)
	e.mu.sessions[peer] = s
	e.wg.Go(s.run)
	return s, true, nil
}

// kickBackingOff makes every session but except that waits out a redial
// backoff dial at once (see Session.Redial).
func (e *Endpoint) kickBackingOff(except *Session) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.mu.sessions {
		if s != except {
			s.Redial()
		}
	}
}

// forget removes s from the session map (called by s's owner when it ends).
func (e *Endpoint) forget(s *Session) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.mu.sessions[s.peer] == s {
		delete(e.mu.sessions, s.peer)
	}
}

// emit delivers ev unless ctx ends first (then ev is dropped, but only if
// the channel is full: a closing session still reports what fits).
func (e *Endpoint) emit(ctx context.Context, ev Event) {
	select {
	case e.events <- ev:
		return
	default:
	}
	select {
	case e.events <- ev:
	case <-ctx.Done():
	}
}

// Close stops accepting, closes every session gracefully within ctx
// (aborting what is left when ctx ends), stops all goroutines and closes
// the Events channel. It is idempotent; later calls return nil.
func (e *Endpoint) Close(ctx context.Context) error {
	var err error
	e.closeOnce.Do(func() {
		sessions := e.stopAccepting()
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, s := range sessions {
			wg.Go(func() {
				if cerr := s.Close(ctx); cerr != nil {
					mu.Lock()
					err = errors.Join(err, fmt.Errorf("session %s: %w", s.peer.Short(), cerr))
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		e.terminate()
	})
	return err
}

// stopAccepting closes the listener, refuses new sessions and returns the
// live ones.
func (e *Endpoint) stopAccepting() []*Session {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.mu.closed = true
	if e.mu.ln != nil {
		_ = e.mu.ln.Close()
	}
	for l := range e.mu.served {
		_ = l.Close()
	}
	out := make([]*Session, 0, len(e.mu.sessions))
	for _, s := range e.mu.sessions {
		out = append(out, s)
	}
	return out
}

// terminate stops everything at once, like a crash as far as peers can
// tell, waits for all goroutines and closes Events.
func (e *Endpoint) terminate() {
	e.termOnce.Do(func() {
		e.stopAccepting()
		e.cancel()
		e.wg.Wait()
		close(e.events)
	})
}

// sessionCount returns the number of live sessions.
func (e *Endpoint) sessionCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.mu.sessions)
}
