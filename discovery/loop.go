package discovery

import (
	"context"
	"slices"
	"sync"
	"time"

	"confchat/identity"
)

type reqKind int

const (
	reqAddrs reqKind = iota
	reqID
	reqLookup
	reqRemember
)

type request struct {
	kind     reqKind
	addrs    []string
	id       identity.ID
	seq      int64
	explicit bool
	reply    chan lookupResult
}

type lookupResult struct {
	found Found
	err   error
}

// Retry delays of the publisher and the bootstrapper after a failure.
const (
	minRetry        = 30 * time.Second
	maxRetry        = 10 * time.Minute
	rebootstrap     = 15 * time.Minute // while the table is small
	rebootstrapFull = time.Hour
	smallTable      = 8
)

// loop is the state Run owns.
type loop struct {
	s       *Service
	cfg     *Config
	node    *dhtNode
	ctx     context.Context
	wg      sync.WaitGroup
	results chan func(*loop)
	timer   Timer

	addrs   []string
	id      identity.ID
	keys    *Keys // of id, once derived
	lastSeq int64

	bootDone, bootRunning bool
	bootFailures          int
	nextBoot              time.Time
	lastBootErr           error

	publishing, publishAgain bool
	pubFailures              int
	nextPublish              time.Time   // zero: nothing to publish
	retired                  []retiredID // old IDs whose item is to be emptied
	st                       Status

	ids     map[identity.ID]*idState
	queue   []identity.ID
	running int
	pending []Event
}

func newLoop(s *Service) *loop {
	l := &loop{
		s:       s,
		cfg:     &s.cfg,
		node:    s.node,
		results: make(chan func(*loop)),
		addrs:   append([]string(nil), s.cfg.Addresses...),
		id:      s.cfg.ID,
		lastSeq: s.cfg.LastSeq,
		ids:     make(map[identity.ID]*idState),
		st:      Status{Enabled: !s.cfg.Disabled},
	}
	now := s.cfg.Clock.Now()
	for id, seq := range s.cfg.Seen {
		if len(l.ids) >= maxIDs {
			break
		}
		if seq > 0 {
			l.ids[id] = &idState{minSeq: seq, lastUsed: now}
		}
	}
	l.nextBoot = now
	if len(l.addrs) > 0 {
		l.nextPublish = now
	}
	return l
}

func (l *loop) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	l.ctx = ctx
	l.timer = l.cfg.Clock.NewTimer(time.Hour)
	defer l.timer.Stop()
	for {
		if l.node != nil {
			l.tick(l.cfg.Clock.Now())
		}
		l.publishStatus()
		var out chan<- Event
		var first Event
		if len(l.pending) > 0 {
			out, first = l.s.events, l.pending[0]
		}
		select {
		case <-ctx.Done():
			cancel()
			l.wg.Wait()
			l.failWaiters(ErrClosed)
			return nil
		case r := <-l.s.reqs:
			l.handle(r)
		case apply := <-l.results:
			apply(l)
		case <-l.timer.C():
		case out <- first:
			l.pending[0] = nil
			l.pending = l.pending[1:]
		}
	}
}

// spawn runs job on a worker goroutine; its result is applied by the
// loop, or dropped when the loop is stopping.
func (l *loop) spawn(job func(ctx context.Context) func(*loop)) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		apply := job(l.ctx)
		select {
		case l.results <- apply:
		case <-l.ctx.Done():
		}
	}()
}

func (l *loop) emit(e Event) {
	if len(l.pending) >= maxEvents {
		l.pending = slices.Delete(l.pending, 0, 1)
	}
	l.pending = append(l.pending, e)
}

func (l *loop) publishStatus() {
	st := l.st
	st.LastError, st.Ready = l.lastBootErr, l.bootDone
	st.Published = slices.Clone(st.Published)
	l.s.status.Store(&st)
}

func (l *loop) handle(r request) {
	now := l.cfg.Clock.Now()
	switch r.kind {
	case reqAddrs:
		if err := validateAddrs(r.addrs); err != nil {
			l.cfg.Logger.Warn("dht: refusing addresses", "err", err)
			return
		}
		if slices.Equal(r.addrs, l.addrs) {
			return
		}
		l.addrs = r.addrs
		l.republish(now)
	case reqID:
		if r.id.Key != l.id.Key || r.id == l.id {
			return
		}
		if l.lastSeq > 0 && len(l.retired) < maxRetired {
			l.retired = append(l.retired, retiredID{id: l.id, keys: l.keys})
		}
		l.id, l.keys = r.id, nil
		l.republish(now)
	case reqRemember:
		if st := l.state(r.id, now); st != nil && r.seq > st.minSeq {
			st.minSeq = r.seq
		}
	case reqLookup:
		l.lookup(r, now)
	}
}

func (l *loop) republish(now time.Time) {
	if len(l.addrs) == 0 {
		l.nextPublish = time.Time{}
		return
	}
	if l.publishing {
		l.publishAgain = true
		return
	}
	l.nextPublish = now
	l.pubFailures = 0
}

// tick starts whatever is due and arms the timer for the next due thing.
func (l *loop) tick(now time.Time) {
	if !l.bootRunning && !now.Before(l.nextBoot) {
		l.startBootstrap()
	}
	if l.bootDone && !l.publishing && !l.nextPublish.IsZero() && !now.Before(l.nextPublish) {
		l.startPublish(now)
	}
	if l.bootDone && !l.publishing && len(l.retired) > 0 {
		l.startWithdraw()
	}
	if l.bootDone {
		l.startLookups(now)
	}
	l.arm(now)
}

func (l *loop) arm(now time.Time) {
	next := now.Add(time.Hour)
	consider := func(t time.Time) {
		if !t.IsZero() && t.Before(next) {
			next = t
		}
	}
	if !l.bootRunning {
		consider(l.nextBoot)
	}
	if l.bootDone && !l.publishing {
		consider(l.nextPublish)
		if len(l.retired) > 0 {
			consider(now)
		}
	}
	for _, st := range l.ids {
		if st.wanted && !st.running && !st.queued {
			consider(st.nextAllowed)
		}
	}
	d := next.Sub(now)
	if d < 0 {
		d = 0
	}
	l.timer.Reset(d)
}

func (l *loop) failWaiters(err error) {
	for _, st := range l.ids {
		for _, w := range st.waiters {
			w <- lookupResult{err: err}
		}
		st.waiters = nil
	}
}

func retryDelay(failures int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < failures && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}
