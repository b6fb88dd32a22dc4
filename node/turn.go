package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"confchat/conference"
	"confchat/storage"
)

// maxTurnInputs bounds how many requests and network events one loop
// turn takes before it commits: enough to batch a burst into one
// transaction, few enough to keep each turn short.
const maxTurnInputs = 256

// Retry pacing of a failed commit.
const (
	retryMin = 50 * time.Millisecond
	retryMax = 5 * time.Second
	// failureReportEvery spaces StorageFailed events while writes keep
	// failing.
	failureReportEvery = 10 * time.Second
)

// ErrStorage wraps a database failure that made a call fail with nothing
// sent; the cause is kept (errors.Is/As see through it).
var ErrStorage = errors.New("storage failed")

// turn collects what one loop turn must apply: the engines with outputs
// (in the order they were first touched) and the requests whose answers
// wait for the commit.
type turn struct {
	dirty   []*conf
	waiting []*pending
	cur     *pending // the request running now, if any
}

// pending is a request that ran and waits for the commit of what it did.
type pending struct {
	reply chan error
	err   error
	confs []*conf
	post  func(error) error // run after the commit; may change the answer
}

func (t *turn) touch(c *conf) {
	if !c.dirty {
		c.dirty = true
		t.dirty = append(t.dirty, c)
	}
	if t.cur != nil {
		for _, d := range t.cur.confs {
			if d == c {
				return
			}
		}
		t.cur.confs = append(t.cur.confs, c)
	}
}

// afterCommit makes the running request's answer wait for fn, which gets
// the commit's error for what the request touched.
func (n *Node) afterCommit(fn func(error) error) {
	if n.turn.cur != nil {
		n.turn.cur.post = fn
	}
}

// runRequest runs one request; its answer waits for the turn's commit.
func (n *Node) runRequest(now time.Time, r request) {
	p := &pending{reply: r.reply}
	n.turn.cur = p
	p.err = r.fn(now)
	n.turn.cur = nil
	n.turn.waiting = append(n.turn.waiting, p)
}

// runTurn handles the input that woke the loop and whatever else is
// already waiting (up to maxTurnInputs), then commits everything those
// inputs made the engines store in one transaction and applies the rest.
// It reports false when the endpoint's event stream has ended.
func (n *Node) runTurn(first func(now time.Time)) bool {
	ctx, cancel := context.WithTimeout(n.ctx, dbTimeout)
	defer cancel()
	n.qctx = ctx
	defer func() { n.qctx = n.ctx }()
	first(n.clock.Now())
	events, open := n.ep.Events(), true
	for range maxTurnInputs {
		select {
		case r := <-n.reqs:
			n.runRequest(n.clock.Now(), r)
			continue
		case ev, ok := <-events:
			if ok {
				n.handleNet(n.clock.Now(), ev)
				continue
			}
			open = false
		default:
		}
		break
	}
	n.flush(n.clock.Now())
	return open
}

// flush commits the rows of every touched engine in one transaction,
// then, engine by engine, sends the packets, handles the session wishes
// and emits the events, and acknowledges them (Advance). If the commit
// fails, own actions are undone (Abort: nothing of them went out) and the
// requests that made them fail; everything else stays pending and is
// retried with backoff. It then answers the turn's requests.
func (n *Node) flush(now time.Time) error {
	var err error
	clear(n.seqs)
	for range 4 { // applying may touch engines again; a few rounds settle it
		if len(n.turn.dirty) == 0 {
			break
		}
		if err = n.commit(now, n.userWaiting()); err != nil {
			break
		}
	}
	waiting := n.turn.waiting
	n.turn.waiting = nil
	for _, p := range waiting {
		perr := p.err
		if perr == nil && err != nil && len(p.confs) > 0 {
			perr = fmt.Errorf("%w: %w", ErrStorage, err)
		}
		if p.post != nil {
			perr = p.post(perr)
		}
		p.reply <- perr
	}
	return err
}

// userWaiting reports whether a request of this turn waits for the
// commit of engine outputs: then a commit is tried even while backing off
// from a failure, so a user's action after the disk recovered succeeds.
func (n *Node) userWaiting() bool {
	if n.turn.cur != nil && len(n.turn.cur.confs) > 0 {
		return true
	}
	for _, p := range n.turn.waiting {
		if len(p.confs) > 0 {
			return true
		}
	}
	return false
}

// commit applies the touched engines once; force tries the database even
// while backing off.
func (n *Node) commit(now time.Time, force bool) error {
	confs := n.turn.dirty
	n.turn.dirty = nil
	readies := n.readies[:0]
	rows := 0
	for _, c := range confs {
		c.dirty = false
		r := c.engine.Ready()
		rows += len(r.Rows)
		readies = append(readies, r)
	}
	n.readies = readies[:0]
	if rows > 0 {
		if err := n.commitRows(now, force, confs, readies); err != nil {
			for _, c := range confs {
				c.engine.Abort()
				if c.engine.HasReady() {
					n.turn.touch(c) // kept for the retry
				}
			}
			n.storageFailed(now, err)
			return err
		}
	}
	n.storageRecovered()
	for i, c := range confs {
		if c.pendingSaved.ok {
			c.saved, c.pendingSaved = c.pendingSaved, savedMeta{}
		}
		n.perform(now, c, readies[i])
		c.engine.Advance()
		clear(readies[i].Rows) // the batch is done; let its rows go
	}
	return nil
}

func (n *Node) commitRows(now time.Time, force bool, confs []*conf, readies []conference.Ready) error {
	if !force && !n.retryAt.IsZero() && now.Before(n.retryAt) {
		return n.lastFailure // still backing off: fail at once, don't wait on the disk
	}
	err := n.db.Update(n.qctx, func(tx *storage.Tx) error {
		for i, c := range confs {
			if err := n.persist(tx, now, c, readies[i].Rows); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for _, c := range confs {
			c.pendingSaved = savedMeta{}
		}
		return fmt.Errorf("persist conference rows: %w", err)
	}
	return nil
}

// storageFailed counts a failed commit, backs the retry off and reports
// it (at most every failureReportEvery).
func (n *Node) storageFailed(now time.Time, err error) {
	if n.retryAt.IsZero() || !now.Before(n.retryAt) {
		n.counters.storageFailures.Add(1)
		n.retryDelay = min(max(2*n.retryDelay, retryMin), retryMax)
		n.retryAt = now.Add(n.retryDelay)
	}
	n.lastFailure = err
	if n.reportedFailure.IsZero() || now.Sub(n.reportedFailure) >= failureReportEvery {
		n.reportedFailure = now
		n.log.Error("database write failed; retrying", "err", err, "retry_in", n.retryDelay)
		n.emit(StorageFailed{Err: err, Retrying: true})
	}
}

func (n *Node) storageRecovered() {
	if n.retryAt.IsZero() {
		return
	}
	n.log.Info("database writes work again")
	n.retryAt, n.retryDelay, n.lastFailure, n.reportedFailure = time.Time{}, 0, nil, time.Time{}
}
