package node

import (
	"context"
	"time"
)

// submit hands fn to the loop and returns at once with a wait for its
// answer. Requests submitted one after another from one goroutine run on
// the loop in that order, so a front end can pipeline them (start the
// next while the previous waits for its commit) without reordering them.
// The wait returns ErrClosed if the node stops first; it must be called
// (or the answer is simply dropped: the reply channel is buffered).
func (n *Node) submit(ctx context.Context, fn func(now time.Time) error) (wait func() error, err error) {
	r := request{fn: fn, reply: make(chan error, 1)}
	select {
	case n.reqs <- r:
	case <-n.done:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return func() error {
		select {
		case err := <-r.reply:
			return err
		case <-n.done:
			return ErrClosed
		}
	}, nil
}

// StartSendMessage is SendMessage in two steps: it returns once the
// node's loop has taken the message (so messages started one after
// another are numbered and sent in that order), and wait reports, once
// the message is stored, what SendMessage would. A front end uses it to
// accept the next send while earlier ones wait for their commit; the loop
// then stores a whole run of them in one transaction.
func (n *Node) StartSendMessage(ctx context.Context, id ConferenceID, text string, action bool) (wait func() (SentMessage, error), err error) {
	sent := new(SentMessage)
	w, err := n.submit(ctx, n.inConf(id, n.sendMessageFn(text, action, sent)))
	if err != nil {
		return nil, err
	}
	return func() (SentMessage, error) {
		if err := w(); err != nil {
			return SentMessage{}, err
		}
		return *sent, nil
	}, nil
}

// inConf is the loop body of withConf: fn on the conference id, then its
// outputs applied.
func (n *Node) inConf(id ConferenceID, fn func(now time.Time, c *conf) error) func(now time.Time) error {
	return func(now time.Time) error {
		c, ok := n.confs[id]
		if !ok {
			return ErrUnknownConference
		}
		if err := n.ensureEngine(now, c); err != nil { // a shell (lazy.go) is restored first
			return err
		}
		err := fn(now, c)
		if aerr := n.apply(now, c); err == nil {
			err = aerr
		}
		return err
	}
}
