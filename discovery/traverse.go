package discovery

import (
	"context"
	"crypto/sha1"
	"sync"
	"sync/atomic"

	"github.com/anacrolix/dht/v2"
	"github.com/anacrolix/dht/v2/bep44"
	k_nearest_nodes "github.com/anacrolix/dht/v2/k-nearest-nodes"
	"github.com/anacrolix/dht/v2/krpc"
	"github.com/anacrolix/dht/v2/traversal"
	"github.com/anacrolix/dht/v2/types"
)

// The BEP 44 get and put traversals, on the library's traversal engine
// and its get/put queries. They follow exts/getput with two changes:
// the closest nodes are read only after the traversal has stopped
// (getput.Put reads them while queries may still write them: a data
// race), and the bootstrap routers always join the starting nodes, so a
// saved routing table whose nodes are gone cannot strand a traversal.

// gotItem is the newest mutable item a get traversal saw whose
// signature verifies for the target.
type gotItem struct {
	found bool
	seq   int64
	v     []byte
	sig   [64]byte
}

// traversalStart is the routing table's nodes and the routers.
func (n *dhtNode) traversalStart() []types.AddrMaybeId {
	starting, _ := n.srv.TraversalStartingNodes()
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, r := range n.routers {
		starting = append(starting, types.AddrMaybeId{Addr: r.KRPC().ToNodeAddrPort()})
	}
	return starting
}

// getTraversal asks the nodes closest to target for the mutable item
// with salt, keeping the newest that verifies, until the traversal
// stalls or ctx ends. It returns that item and the closest nodes that
// gave a write token (for a put).
func (n *dhtNode) getTraversal(ctx context.Context, target [20]byte, salt []byte) (gotItem, []k_nearest_nodes.Elem, error) {
	var mu sync.Mutex
	var best gotItem
	op := traversal.Start(traversal.OperationInput{
		Alpha:  15,
		Target: target,
		DoQuery: func(qctx context.Context, addr krpc.NodeAddr) traversal.QueryResult {
			res := n.srv.Get(qctx, dht.NewAddr(addr.UDP()), target, nil, dht.QueryRateLimiting{})
			if r := res.Reply.R; r != nil && r.Seq != nil && len(r.V) > 0 &&
				sha1.Sum(append(r.K[:], salt...)) == target && bep44.Verify(r.K[:], salt, *r.Seq, r.V, r.Sig[:]) {
				mu.Lock()
				if !best.found || *r.Seq > best.seq {
					best = gotItem{found: true, seq: *r.Seq, v: append([]byte(nil), r.V...), sig: r.Sig}
				}
				mu.Unlock()
			}
			tqr := res.TraversalQueryResult(addr)
			// Only nodes that gave a token can take a put (BEP 44).
			tqr.ClosestData, _ = tqr.ClosestData.(string)
			if tqr.ClosestData == nil {
				tqr.ResponseFrom = nil
			}
			return tqr
		},
		NodeFilter: n.srv.TraversalNodeFilter,
	})
	op.AddNodes(n.traversalStart())
	var err error
	select {
	case <-op.Stalled():
	case <-ctx.Done():
		err = ctx.Err()
	}
	op.Stop()
	<-op.Stopped()
	var closest []k_nearest_nodes.Elem
	op.Closest().Range(func(e k_nearest_nodes.Elem) { closest = append(closest, e) })
	mu.Lock()
	defer mu.Unlock()
	return best, closest, err
}

// putTraversal stores the item seqToPut makes (given the highest
// sequence number the get phase saw, 0 for none) on the closest nodes
// that gave a token; it returns how many accepted it.
func (n *dhtNode) putTraversal(ctx context.Context, target [20]byte, salt []byte, seqToPut func(netSeq int64) bep44.Put) (int, error) {
	got, closest, err := n.getTraversal(ctx, target, salt)
	if err != nil {
		return 0, err
	}
	var netSeq int64
	if got.found {
		netSeq = got.seq
	}
	put := seqToPut(netSeq)
	var ok atomic.Int64
	var wg sync.WaitGroup
	for _, e := range closest {
		token, _ := e.Data.(string)
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := n.srv.Put(ctx, dht.NewAddr(e.Addr.UDP()), put, token, dht.QueryRateLimiting{})
			if res.ToError() == nil {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	return int(ok.Load()), ctx.Err()
}
