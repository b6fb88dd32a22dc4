package discovery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/anacrolix/dht/v2/bep44"
	"github.com/anacrolix/torrent/bencode"

	"confchat/identity"
)

func (l *loop) startBootstrap() {
	l.bootRunning = true
	node, routers, timeout := l.node, l.cfg.Bootstrap, l.cfg.LookupTimeout*2
	l.spawn(func(ctx context.Context) func(*loop) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		_, resErr := node.resolve(ctx, routers)
		var err error
		if node.canTraverse() {
			err = node.bootstrap(ctx)
		}
		nodes := node.srv.NumNodes()
		if nodes == 0 {
			err = errors.Join(ErrNoNodes, resErr, err)
		} else {
			err = nil
		}
		return func(l *loop) { l.bootFinished(nodes, err) }
	})
}

func (l *loop) bootFinished(nodes int, err error) {
	now := l.cfg.Clock.Now()
	l.bootRunning, l.bootDone, l.lastBootErr = false, true, err
	switch {
	case err != nil:
		l.bootFailures++
		l.nextBoot = now.Add(retryDelay(l.bootFailures, minRetry, maxRetry))
		l.cfg.Logger.Warn("dht: bootstrap failed", "err", err, "retry", l.nextBoot)
	case nodes < smallTable:
		l.bootFailures = 0
		l.nextBoot = now.Add(rebootstrap)
	default:
		l.bootFailures = 0
		l.nextBoot = now.Add(rebootstrapFull)
	}
}

// publishJob is what a publish worker needs, copied out of the loop.
type publishJob struct {
	key   Signer
	keys  *Keys
	id    identity.ID
	addrs []string
	seq   int64
	save  func(int64) error
	node  *dhtNode
	cfg   *Config
	used  int64 // highest sequence number persisted or sent
	// withdraw: the empty record for a retired ID, not a publish.
	withdraw bool
	result   Published
}

// maxRetired bounds the old IDs waiting for their item to be emptied.
const maxRetired = 4

// retiredID is an ID we published under before a nospam change.
type retiredID struct {
	id   identity.ID
	keys *Keys
}

func (l *loop) startPublish(now time.Time) {
	l.publishAgain = false
	l.spawnPublish(&publishJob{keys: l.keys, id: l.id, addrs: l.addrs})
}

// startWithdraw publishes an empty record under the oldest retired ID,
// so that ID stops yielding addresses at once instead of after the item
// expires (about 2 h). One attempt: the old item expires anyway.
func (l *loop) startWithdraw() {
	r := l.retired[0]
	l.retired = slices.Delete(l.retired, 0, 1)
	l.spawnPublish(&publishJob{keys: r.keys, id: r.id, withdraw: true})
}

func (l *loop) spawnPublish(j *publishJob) {
	l.publishing = true
	j.key, j.seq, j.save, j.node, j.cfg = l.cfg.Key, l.lastSeq+1, l.cfg.SaveSeq, l.node, l.cfg
	l.spawn(func(ctx context.Context) func(*loop) {
		j.run(ctx)
		return func(l *loop) { l.publishFinished(j) }
	})
}

func (j *publishJob) run(ctx context.Context) {
	j.result = Published{Addresses: j.addrs, Seq: j.seq}
	if j.keys == nil {
		k := DeriveKeys(j.id)
		j.keys = &k
	}
	if !j.node.canTraverse() {
		j.result.Err = ErrNoNodes
		return
	}
	if err := j.persist(j.seq); err != nil {
		j.result.Err = err
		return
	}
	first, err := Seal(j.key, *j.keys, j.seq, Record{Addresses: j.addrs}, j.cfg.Rand)
	if err != nil {
		j.result.Err = err
		return
	}
	ctx, cancel := context.WithTimeout(ctx, j.cfg.LookupTimeout)
	defer cancel()
	stored, err := j.node.putTraversal(ctx, j.keys.Target, j.keys.Salt[:], func(netSeq int64) bep44.Put {
		return j.toPut(netSeq, first)
	})
	if err != nil {
		j.result.Err = fmt.Errorf("dht put: %w", err)
		return
	}
	j.result.Nodes = stored
	if j.result.Nodes == 0 {
		j.result.Err = ErrNoNodes
	}
}

// toPut is the item to store once the get phase saw netSeq on the
// network: a higher number than ours (a lost database) is overtaken.
func (j *publishJob) toPut(netSeq int64, it Item) bep44.Put {
	if netSeq >= it.Seq {
		seq := netSeq + 1
		if err := j.persist(seq); err != nil {
			j.cfg.Logger.Warn("dht: saving sequence number", "err", err)
		}
		if again, err := Seal(j.key, *j.keys, seq, Record{Addresses: j.addrs}, j.cfg.Rand); err == nil {
			it = again
		}
	}
	j.result.Seq = it.Seq
	j.used = max(j.used, it.Seq)
	k := [32]byte(it.Key)
	return bep44.Put{V: bencode.Bytes(it.V), K: &k, Salt: it.Salt, Sig: it.Sig, Seq: it.Seq}
}

func (j *publishJob) persist(seq int64) error {
	if j.save != nil {
		if err := j.save(seq); err != nil {
			return fmt.Errorf("saving sequence number: %w", err)
		}
	}
	j.used = max(j.used, seq)
	return nil
}

func (l *loop) publishFinished(j *publishJob) {
	now := l.cfg.Clock.Now()
	l.publishing = false
	if j.id == l.id {
		l.keys = j.keys
	}
	l.lastSeq = max(l.lastSeq, j.used)
	if j.withdraw {
		if j.result.Err != nil {
			l.cfg.Logger.Info("dht: emptying the item of the old ID failed", "err", j.result.Err)
		}
		if l.publishAgain {
			l.publishAgain = false
			l.republish(now)
		}
		return
	}
	l.st.LastPublish = now
	l.st.PublishErr = j.result.Err
	if j.result.Err == nil {
		l.pubFailures = 0
		l.st.PublishSeq, l.st.Published = j.result.Seq, j.addrs
		l.nextPublish = now.Add(l.cfg.Refresh)
	} else {
		l.pubFailures++
		l.nextPublish = now.Add(retryDelay(l.pubFailures, minRetry, maxRetry))
		l.cfg.Logger.Warn("dht: publish failed", "err", j.result.Err, "retry", l.nextPublish)
	}
	if l.publishAgain {
		l.publishAgain = false
		l.republish(now)
	}
	l.emit(j.result)
}
