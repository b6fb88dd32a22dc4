package netlayer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// candResult is one candidate dialed up to an authenticated connection
// (Noise done, nothing said about the session yet), or its failure.
type candResult struct {
	addr  string
	relay bool
	sc    *secureConn
	stop  func() bool // disarms the close-on-cancel hook; false: it fired
	err   error
}

// helloResult is the verdict of the HELLO sent on the race's front runner.
type helloResult struct {
	w   welcome
	err error
}

// terminalDial reports an answer the peer authenticated that every other
// candidate would repeat: it ends a dial race at once.
func terminalDial(err error, probe bool) bool {
	if IsFatal(err) || errors.Is(err, ErrSessionMismatch) || errors.Is(err, ErrDuplicate) {
		return true
	}
	return probe && (errors.Is(err, ErrSwitchBusy) || errors.Is(err, ErrMigrationDenied))
}

// dialAddrs returns the candidates a dial of addrs tries: the direct ones
// in order, then the peer's relay candidates and our own relays (when a
// relay transport is configured). A probe tries only the direct ones.
func (s *Session) dialAddrs(addrs []string, probe bool) (direct, relays []string) {
	direct, relays = SplitAddrs(addrs)
	if probe {
		return direct, nil
	}
	_, own := SplitAddrs(append(relays, s.ep.relays()...))
	return direct, own
}

// dialRace dials a peer's candidates happy-eyeballs style and reports one
// result (after any progress) to the owner:
//
//   - direct candidates are tried in order, the next one started when the
//     previous failed or had not authenticated within directStagger
//     (earlier ones keep running);
//   - relay candidates are all dialed at once when Config.RelayDelay has
//     passed without a direct candidate authenticating, or as soon as
//     every direct candidate failed;
//   - the first candidate to complete Noise (the peer proved its key) gets
//     the HELLO; if that fails for a reason another candidate could avoid
//     (the connection broke), the next authenticated one gets it;
//   - the winner carries the session; every other connection is closed
//     before it said anything about the session, so the peer changed no
//     state for it.
//
// A probe (migration, see session_migrate.go) dials the direct candidates
// only, with a migrate HELLO.
func (s *Session) dialRace(actx context.Context, gen uint64, addrs []string, hl hello, probe bool) {
	ctx, cancel := context.WithCancel(actx)
	direct, relays := s.dialAddrs(addrs, probe)
	results := make(chan candResult, len(direct)+len(relays))
	helloDone := make(chan helloResult, 1)
	var wg sync.WaitGroup
	inflight, directInflight, nextDirect := 0, 0, 0
	launch := func(addr string, relay bool) {
		inflight++
		if !relay {
			directInflight++
		}
		wg.Go(func() { results <- s.dialCandidate(ctx, gen, addr, relay) })
	}
	relaysOut := len(relays) == 0
	startRelays := func() {
		if !relaysOut {
			relaysOut = true
			for _, a := range relays {
				launch(a, true)
			}
		}
	}
	var directT Timer // staggers the direct candidates
	nextDirectOrRelays := func() {
		if nextDirect < len(direct) {
			nextDirect++
			launch(direct[nextDirect-1], false)
			if nextDirect < len(direct) {
				if directT == nil {
					directT = s.ep.cfg.Clock.NewTimer(s.directStagger())
				} else {
					directT.Reset(s.directStagger())
				}
			}
			return
		}
		if directInflight == 0 {
			startRelays()
		}
	}
	var relayT Timer
	if !relaysOut && len(direct) > 0 {
		relayT = s.ep.cfg.Clock.NewTimer(s.ep.cfg.RelayDelay)
	}
	nextDirectOrRelays()

	var (
		queue    []candResult // authenticated, waiting for the HELLO
		front    *candResult  // the one whose HELLO runs
		errs     []error
		authed   bool
		relayDue bool // the delay passed while a direct candidate ran its HELLO
		won      *dialResult
	)
loop:
	for {
		if front == nil && len(queue) > 0 {
			c := queue[0]
			queue = queue[1:]
			front = &c
			wg.Go(func() {
				w, err := s.ep.hs.dialHello(c.sc, hl)
				helloDone <- helloResult{w: w, err: err}
			})
		}
		if front == nil && inflight == 0 && nextDirect >= len(direct) && relaysOut {
			break
		}
		select {
		case r := <-results:
			inflight--
			if !r.relay {
				directInflight--
			}
			if r.err != nil {
				errs = append(errs, r.err)
				if terminalDial(r.err, probe) {
					break loop
				}
				if !r.relay {
					nextDirectOrRelays()
				}
				continue
			}
			if !authed {
				authed = true
				s.deliverDial(ctx, dialResult{gen: gen, progress: true, authed: true})
			}
			queue = append(queue, r)
		case <-timerC(directT):
			if !authed && nextDirect < len(direct) {
				nextDirectOrRelays()
			}
		case <-timerC(relayT):
			relayT = nil
			if front == nil && len(queue) == 0 {
				startRelays()
			} else {
				relayDue = true
			}
		case h := <-helloDone:
			c := *front
			front = nil
			if h.err == nil && c.stop() {
				won = &dialResult{gen: gen, sc: c.sc, w: h.w, authed: true}
				break loop
			}
			c.stop()
			_ = c.sc.conn.Close()
			err := h.err
			if err == nil {
				err = ctx.Err()
			}
			errs = append(errs, fmt.Errorf("dial %s: %w", c.addr, err))
			if terminalDial(err, probe) {
				break loop
			}
			if relayDue {
				startRelays()
			}
			if !c.relay {
				nextDirectOrRelays()
			}
		case <-ctx.Done():
			break loop
		}
	}
	cancel()
	if relayT != nil {
		relayT.Stop()
	}
	if directT != nil {
		directT.Stop()
	}
	for _, c := range queue {
		c.stop()
		_ = c.sc.conn.Close()
	}
	wg.Wait()
	close(results)
	for r := range results {
		if r.sc != nil {
			r.stop()
			_ = r.sc.conn.Close()
		}
	}
	if front != nil { // its HELLO ended with the cancel: drop it
		<-helloDone
		_ = front.sc.conn.Close()
	}
	if won != nil {
		s.deliverDial(actx, *won)
		return
	}
	s.deliverDial(actx, dialResult{gen: gen, authed: authed, err: joinDialErrs(errs, len(direct)+len(relays))})
}

func joinDialErrs(errs []error, candidates int) error {
	switch {
	case candidates == 0:
		return errors.New("dial: no usable address")
	case len(errs) == 0:
		return errors.New("dial: canceled")
	case len(errs) == 1:
		return errs[0]
	}
	return errors.Join(errs...)
}

// dialCandidate connects to one candidate through its transport and runs
// the Noise half of the handshake.
func (s *Session) dialCandidate(ctx context.Context, gen uint64, addr string, relay bool) candResult {
	res := candResult{addr: addr, relay: relay}
	tr := s.ep.cfg.Transport
	if relay && s.ep.cfg.Relay != nil {
		tr = s.ep.cfg.Relay
	}
	dctx, cancel := context.WithTimeout(ctx, s.ep.cfg.HandshakeTimeout)
	var conn net.Conn
	var err error
	if relay {
		conn, err = tr.Dial(dctx, s.peer, addr)
	} else {
		conn, err = s.connectStaggered(dctx, tr, addr)
	}
	cancel()
	if err != nil {
		res.err = fmt.Errorf("dial %s: %w", addr, err)
		return res
	}
	s.deliverDial(ctx, dialResult{gen: gen, progress: true})
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	sc, err := s.ep.hs.dialSecure(conn, s.peer)
	if err != nil {
		stop()
		_ = conn.Close()
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		res.err = fmt.Errorf("dial %s: %w", addr, err)
		return res
	}
	res.sc, res.stop = sc, stop
	return res
}

// connectStagger: while a direct candidate's connect is pending, a fresh
// one is started this often, at most maxConnects at a time (the oldest is
// canceled), so that a path that comes back (a healed partition that
// dropped our SYNs) is found within about this long rather than at the
// kernel's next SYN retransmission (1 s, then 3 s, ...). A connect that
// fails outright (refused, unreachable) is not repeated.
const (
	connectStagger = 250 * time.Millisecond
	maxConnects    = 4
)

// connectStaggered connects to addr through tr until ctx ends, staggering
// fresh attempts while earlier ones hang. It returns the first connection
// made, closing any that complete later, and waits for every attempt it
// started.
func (s *Session) connectStaggered(ctx context.Context, tr Transport, addr string) (net.Conn, error) {
	type result struct {
		conn net.Conn
		err  error
		i    int
	}
	cctx, cancelAll := context.WithCancel(ctx)
	defer cancelAll()
	results := make(chan result, 64)
	var wg sync.WaitGroup
	var cancels []context.CancelFunc // by launch order
	superseded := map[int]bool{}     // canceled for a fresher attempt
	inflight := 0
	launch := func() {
		c, cancel := context.WithCancel(cctx)
		i := len(cancels)
		cancels = append(cancels, cancel)
		inflight++
		wg.Go(func() {
			conn, err := tr.Dial(c, s.peer, addr)
			results <- result{conn, err, i}
		})
	}
	t := s.ep.cfg.Clock.NewTimer(connectStagger)
	defer t.Stop()
	launch()
	var won net.Conn
	var firstErr error
loop:
	for inflight > 0 {
		select {
		case r := <-results:
			inflight--
			if r.err == nil {
				won = r.conn
				break loop
			}
			if firstErr == nil && !superseded[r.i] {
				firstErr = r.err
			}
		case <-t.C():
			if len(cancels) >= cap(results) {
				continue
			}
			if inflight >= maxConnects {
				oldest := len(cancels) - maxConnects
				superseded[oldest] = true
				cancels[oldest]()
			}
			launch()
			t.Reset(connectStagger)
		case <-ctx.Done():
			break loop
		}
	}
	cancelAll()
	wg.Wait()
	close(results)
	for r := range results {
		if r.conn != nil {
			_ = r.conn.Close()
		}
	}
	if won != nil {
		return won, nil
	}
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	if firstErr == nil {
		firstErr = errors.New("connect canceled")
	}
	return nil, firstErr
}

// directStagger is how long a direct candidate has to authenticate before
// the next one starts too: half the relay delay, so that a stale first
// address does not let the relays start level with a working second one.
func (s *Session) directStagger() time.Duration { return s.ep.cfg.RelayDelay / 2 }
