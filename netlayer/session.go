package netlayer

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"confchat/identity"
)

// Session is a reliable, ordered, encrypted stream of frames to one peer
// that outlives TCP connections. It is made by Endpoint.Open or by an
// inbound connection; all of its mutable state belongs to one goroutine
// (run) and the methods below talk to it with messages.
type Session struct {
	ep      *Endpoint
	peer    identity.PublicKey
	inbound bool // created by an inbound connection

	reqs    chan any        // closeReq, addrsReq, offerReq, loopFunc
	inbox   chan linkEvent  // records and errors from links
	dialRes chan dialResult // progress and results of dial attempts
	credits chan struct{}   // one token per unacknowledged data frame
	kick    chan struct{}   // capacity 1: dial now if backing off (Redial)
	sendQ   sendQueue       // frames accepted by Send, not yet taken by run
	ctx     context.Context // canceled by abort or endpoint termination
	cancel  context.CancelCauseFunc
	done    chan struct{}  // closed when run has returned
	wg      sync.WaitGroup // dial attempts and link goroutines
	state   atomic.Int32   // mirror of the public state, for State()
	route   atomic.Int32   // mirror of the link's route, for Route()
	err     error          // the close reason; written before done closes

	// owned by run(): everything below is touched only by the run goroutine.
	phase        State // connection phase: one of the states below Closing
	closing      *closeState
	finished     bool
	finishErr    error
	id           SessionID
	established  bool // welcomed at least once: hellos carry Resume
	seq          uint64
	ack          uint64
	ackSent      uint64
	recvSinceAck int
	// holdDelivery: handleLinkEvent is handling a record; a DATA frame's
	// payload then waits in held until the ack is queued.
	holdDelivery bool
	held         []byte
	hasHeld      bool
	buf          []outFrame // sent, unacknowledged, ascending seq
	gaps         int        // consecutive sequence gaps
	addrs        []string
	link         *link
	linkGen      uint64
	attempt      *dialAttempt
	attemptGen   uint64
	retries      int
	backoffT     Timer
	graceT       Timer
	hb           heartbeat
	probe        *dialAttempt // a direct probe while on a relay (migration)
	probeT       Timer        // when the next probe starts
	probes       int          // probes failed since the last relay connection
	cut          *cutState    // a migration cut-over in progress
	swT          Timer        // waiting for the peer's probe that won a crossing
	earlyMark    *record      // the peer's MARK that beat our probe's WELCOME
	sw           Switch       // the switch status reported
	routeSt      RouteStatus  // the route status last reported
	routeAddr    string       // the remote address last reported with it

	rs     atomic.Pointer[RouteStatus] // mirror of routeSt, for RouteStatus()
	sealMu sync.Mutex                  // serialises the links' writers on outFrame.room
}

// outFrame is one sequenced record waiting for the peer's ack.
type outFrame struct {
	seq  uint64
	typ  recordType
	data []byte
	room []byte // nil, or data with seqHeader bytes in front (see record)
}

type closeReq struct{}

type addrsReq struct{ addrs []string }

// loopFunc runs on the owner goroutine (tests inspect state with it).
type loopFunc struct {
	fn   func()
	done chan struct{}
}

// maxGaps is how many consecutive sequence gaps turn into a session reset.
const maxGaps = 3

var errAborted = errors.New("netlayer: session aborted")

func newSession(ep *Endpoint, peer identity.PublicKey, addrs []string, inbound bool) *Session {
	ctx, cancel := context.WithCancelCause(ep.ctx)
	s := &Session{
		ep: ep, peer: peer, inbound: inbound,
		reqs:    make(chan any),
		inbox:   make(chan linkEvent, 64),
		dialRes: make(chan dialResult, 1),
		credits: make(chan struct{}, ep.cfg.SendBuffer),
		kick:    make(chan struct{}, 1),
		sendQ:   sendQueue{wake: make(chan struct{}, 1)},
		ctx:     ctx, cancel: cancel,
		done:  make(chan struct{}),
		addrs: append([]string(nil), addrs...),
		id:    newSessionID(),
	}
	return s
}

func newSessionID() SessionID {
	var id SessionID
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails on supported platforms
	return id
}

// Peer returns the peer's public key.
func (s *Session) Peer() identity.PublicKey { return s.peer }

// State returns the session's current state.
func (s *Session) State() State { return State(s.state.Load()) }

// Route returns the path the session uses now: RouteDirect or RouteRelay
// while Connected (or Closing over a live connection), else RouteNone.
func (s *Session) Route() Route { return Route(s.route.Load()) }

// RouteStatus returns the session's route and switch status now (the
// last SessionRouteChanged it reported).
func (s *Session) RouteStatus() RouteStatus {
	if p := s.rs.Load(); p != nil {
		return *p
	}
	return RouteStatus{}
}

// Done is closed once the session is Closed and all its goroutines ended.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err returns why the session closed: nil after a completed graceful close,
// ErrCloseUnacknowledged, a *FatalError, ... It is nil until Done is closed.
func (s *Session) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

func (s *Session) closedErr(op string) error {
	if s.err != nil {
		return fmt.Errorf("%s: %w (%w)", op, ErrClosed, s.err)
	}
	return fmt.Errorf("%s: %w", op, ErrClosed)
}

// SetAddrs replaces the addresses the session dials. An empty list stops
// dialing: the session then waits for the peer to connect.
func (s *Session) SetAddrs(addrs []string) {
	s.request(addrsReq{addrs: append([]string(nil), addrs...)})
}

// Redial makes a session that is waiting out its redial backoff dial at
// once: the layer above has a reason to think the peer is reachable again
// (it heard from the peer another way, the network changed). The backoff
// itself is kept, so a failed redial waits as long as the next retry
// would have. It does nothing while a dial runs or a connection is up.
// It never blocks.
//
// The endpoint does the same by itself for all its sessions when one of
// them connects again after failed redials: the network is likely back.
func (s *Session) Redial() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Close closes the session gracefully: it sends CLOSING after the frames
// already accepted, waits for the peer's remaining frames and its answer,
// and returns when the session is Closed. If ctx ends first the session is
// aborted and ctx's error returned. Close is idempotent.
func (s *Session) Close(ctx context.Context) error {
	select {
	case s.reqs <- closeReq{}:
	case <-s.done:
		return s.err
	case <-ctx.Done():
		s.cancel(errAborted)
		<-s.done
		return fmt.Errorf("close: %w", ctx.Err())
	}
	select {
	case <-s.done:
		return s.err
	case <-ctx.Done():
		s.cancel(errAborted)
		<-s.done
		return fmt.Errorf("close: %w", ctx.Err())
	}
}

// request hands r to the owner unless the session is gone.
func (s *Session) request(r any) bool {
	select {
	case s.reqs <- r:
		return true
	case <-s.done:
		return false
	}
}

// onLoop runs fn on the owner goroutine and waits for it.
func (s *Session) onLoop(fn func()) bool {
	lf := loopFunc{fn: fn, done: make(chan struct{})}
	if !s.request(lf) {
		return false
	}
	<-lf.done
	return true
}

// run is the owner goroutine.
func (s *Session) run() {
	s.ep.emit(s.ctx, SessionOpened{Peer: s.peer, Inbound: s.inbound, Session: s})
	s.publish()
	if len(s.addrs) > 0 && s.ep.cfg.Accept != nil && !s.ep.cfg.Accept(s.peer) {
		s.finish(fatal(ReasonRefused, errors.New("open: Accept refused the peer")))
	} else if len(s.addrs) > 0 {
		s.connect(nil)
	} else {
		s.armGrace()
	}
	for !s.finished {
		s.step()
	}
	s.shutdown()
}

func (s *Session) step() {
	select {
	case <-s.ctx.Done():
		s.finish(fmt.Errorf("%w: %w", ErrClosed, context.Cause(s.ctx)))
	case r := <-s.reqs:
		s.handleRequest(r)
	case <-s.sendQ.wake:
		s.takeSends()
	case ev := <-s.inbox:
		s.handleLinkEvent(ev)
	case res := <-s.dialRes:
		s.handleDial(res)
	case <-timerC(s.backoffT):
		s.backoffT = nil
		s.startDial(nil)
	case <-s.kick:
		if s.backoffT != nil {
			stopTimer(&s.backoffT)
			s.startDial(nil)
		}
	case <-s.hb.tick():
		s.heartbeatTick()
	case <-timerC(s.probeT):
		s.probeT = nil
		s.startProbe()
	case <-timerC(s.swT):
		s.switchWaitOver()
	case <-s.cutTimer():
		s.dropLink(errCutTimeout)
	case <-timerC(s.graceT):
		s.graceT = nil
		s.finish(ErrGraceExpired)
	case <-s.closeTimer():
		s.finish(ErrCloseUnacknowledged)
	}
}

func timerC(t Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C()
}

func stopTimer(t *Timer) {
	if *t != nil {
		(*t).Stop()
		*t = nil
	}
}

func (s *Session) handleRequest(r any) {
	switch r := r.(type) {
	case closeReq:
		s.startClose(true)
	case addrsReq:
		s.handleAddrs(r.addrs)

	case offerReq:
		r.reply <- s.handleOffer(r)
	case loopFunc:
		r.fn()
		close(r.done)
	}
}

// pushFrame assigns the next seq, buffers the frame and writes it if
// connected.
func (s *Session) pushFrame(t recordType, data, room []byte) {
	f := outFrame{seq: s.seq, typ: t, data: data, room: room}
	s.seq++
	s.buf = append(s.buf, f)
	s.writeFrame(f)
}

// public is the state reported outside.
func (s *Session) public() State {
	switch {
	case s.finished:
		return Closed
	case s.closing != nil:
		return Closing
	}
	return s.phase
}

func (s *Session) publish() {
	s.state.Store(int32(s.public()))
	r := s.currentRoute()
	s.route.Store(int32(r))
	s.publishRoute(r)
}

// currentRoute is the route frames are carried on: the old path's while
// a cut-over drains it.
func (s *Session) currentRoute() Route {
	switch {
	case s.cut != nil:
		return s.cut.old.route
	case s.link != nil:
		return s.link.route
	}
	return RouteNone
}

// setPhase moves the connection phase and reports the public transition.
func (s *Session) setPhase(to State, reason error) {
	if s.phase == to || s.finished {
		return
	}
	if err := checkTransition(s.phase, to); err != nil {
		s.finish(err)
		return
	}
	from := s.public()
	s.phase = to
	s.report(from, reason, nil)
}

// report emits a SessionStateChanged if the public state moved.
func (s *Session) report(from State, reason error, unacked [][]byte) {
	to := s.public()
	s.publish()
	if from == to {
		return
	}
	ev := SessionStateChanged{Peer: s.peer, From: from, To: to, Route: RouteNone, Reason: reason, Unacked: unacked}
	if s.link != nil {
		ev.Route = s.link.route
		if to == Connected {
			ev.RemoteAddr = s.link.sc.conn.RemoteAddr().String()
		}
	}
	s.ep.log.Debug("session state", "peer", s.peer.Short(), "from", from, "to", to, "reason", reason)
	s.ep.emit(s.ctx, ev)
}

// unackedData copies out the data frames still in the buffer.
func (s *Session) unackedData() [][]byte {
	var out [][]byte
	for _, f := range s.buf {
		if f.typ == recData {
			out = append(out, f.data)
		}
	}
	return out
}

// releaseBuffer empties the buffer and returns its data frames' credits.
func (s *Session) releaseBuffer() [][]byte {
	out := s.unackedData()
	for range out {
		<-s.credits
	}
	s.buf = nil
	return out
}

// reset replaces the session by a fresh one after the peer lost its state
// (or the two sides disagree), reporting what the old one never delivered.
func (s *Session) reset(reason error) {
	s.ep.log.Info("session reset", "peer", s.peer.Short(), "reason", reason)
	unacked := s.releaseBuffer()
	s.cancelAttempt()
	s.stopProbing()
	s.endCut()
	s.id = newSessionID()
	s.established = false
	s.seq, s.ack, s.ackSent, s.recvSinceAck, s.gaps = 0, 0, 0, 0, 0
	s.ep.emit(s.ctx, SessionReset{Peer: s.peer, Unacked: unacked})
}

// finish ends the loop; shutdown does the releasing.
func (s *Session) finish(reason error) {
	if s.finished {
		return
	}
	s.finished = true
	s.finishErr = reason
}

// shutdown releases everything the session owns, reports Closed and waits
// for the session's goroutines.
func (s *Session) shutdown() {
	s.cancelAttempt()
	s.stopProbing()
	s.endCut()
	stopTimer(&s.swT)
	stopTimer(&s.backoffT)
	stopTimer(&s.graceT)
	s.hb.stop()
	s.stopCloseTimer()
	if s.link != nil {
		if s.finishErr == nil {
			s.link.finish(s.lingerTime())
		} else {
			s.link.kill()
		}
	}
	s.ep.forget(s)
	s.err = s.finishErr // before shut: Send reads it after seeing shutdown
	s.sendQ.shut()
	unacked := s.unackedData()
	for _, b := range s.sendQ.take() {
		unacked = append(unacked, b[seqHeader:])
	}
	from := s.phase
	if s.closing != nil {
		from = Closing
	}
	s.link = nil
	s.report(from, s.finishErr, unacked)
	s.wg.Wait()
	s.cancel(ErrClosed)
	close(s.done)
}

// lingerTime bounds how long a closed connection waits for the peer's EOF.
func (s *Session) lingerTime() time.Duration { return min(s.ep.cfg.CloseTimeout, 2*time.Second) }
