package discovery

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"

	"github.com/anacrolix/dht/v2"
	"github.com/anacrolix/dht/v2/bep44"
	"github.com/anacrolix/dht/v2/krpc"
	"github.com/anacrolix/dht/v2/traversal"
	alog "github.com/anacrolix/log"
	"golang.org/x/time/rate"
)

// dhtNode is the anacrolix server and the resolved bootstrap routers
// (resolved by us, with a context, so the library never resolves).
type dhtNode struct {
	srv  *dht.Server
	conn *countingConn

	mu      sync.Mutex
	routers []dht.Addr
}

func newDHTNode(cfg *Config) (*dhtNode, error) {
	pc := cfg.Conn
	if pc == nil {
		var err error
		if pc, err = net.ListenPacket("udp", cfg.Listen); err != nil {
			return nil, fmt.Errorf("dht listen: %w", err)
		}
	}
	n := &dhtNode{conn: &countingConn{PacketConn: pc}}
	sc := &dht.ServerConfig{
		Conn:          n.conn,
		NoSecurity:    true,
		StartingNodes: n.startingNodes,
		Store:         bep44.NewMemory(),
		Exp:           bep44Expiry,
		Logger:        newLibLogger(cfg.Logger),
		SendLimiter:   rate.NewLimiter(rate.Limit(cfg.SendRate), int(cfg.SendRate)),
	}
	srv, err := dht.NewServer(sc)
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("dht server: %w", err)
	}
	n.srv = srv
	return n, nil
}

func (n *dhtNode) startingNodes() ([]dht.Addr, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.routers) == 0 {
		return nil, ErrNoNodes
	}
	return append([]dht.Addr(nil), n.routers...), nil
}

// resolve looks the bootstrap routers up; it returns how many resolved.
func (n *dhtNode) resolve(ctx context.Context, hostPorts []string) (int, error) {
	var addrs []dht.Addr
	var lastErr error
	for _, hp := range hostPorts {
		host, port, err := net.SplitHostPort(hp)
		if err != nil {
			lastErr = fmt.Errorf("bootstrap %q: %w", hp, err)
			continue
		}
		p, err := strconv.ParseUint(port, 10, 16)
		if err != nil || p == 0 {
			lastErr = fmt.Errorf("bootstrap %q: bad port", hp)
			continue
		}
		ips, err := net.DefaultResolver.LookupIP(ctx, "ip", host)
		if err != nil {
			lastErr = fmt.Errorf("bootstrap %q: %w", hp, err)
			continue
		}
		for _, ip := range ips {
			addrs = append(addrs, dht.NewAddr(&net.UDPAddr{IP: ip, Port: int(p)}))
		}
	}
	n.mu.Lock()
	n.routers = addrs
	n.mu.Unlock()
	if len(addrs) == 0 && lastErr == nil && len(hostPorts) == 0 {
		lastErr = fmt.Errorf("no bootstrap routers configured")
	}
	return len(addrs), lastErr
}

// canTraverse reports whether a traversal has somewhere to start (the
// library leaks a goroutine when it has not).
func (n *dhtNode) canTraverse() bool {
	if n.srv.NumNodes() > 0 {
		return true
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.routers) > 0
}

func (n *dhtNode) close() { n.srv.Close() }

func newLibLogger(l *slog.Logger) alog.Logger {
	lg := alog.NewLogger("dht")
	lg.SetHandlers(slogHandler{l})
	return lg
}

// slogHandler sends the DHT library's log to the service's logger at
// debug level: its warnings are about single remote nodes.
type slogHandler struct{ l *slog.Logger }

func (h slogHandler) Handle(r alog.Record) {
	if h.l == nil {
		return
	}
	h.l.Debug("dht: "+r.Msg.String(), "level", r.Level.LogString())
}

// bootstrap fills the routing table with a find_node traversal toward
// our own id. Unlike Server.BootstrapContext, every query is bound to ctx
// and all have returned when it does, so closing leaves nothing running.
func (n *dhtNode) bootstrap(ctx context.Context) error {
	// The saved table may hold only nodes that are gone (a long time
	// offline, another network): the routers are always asked too, or a
	// stale table would never be replaced.
	starting := n.traversalStart()
	if len(starting) == 0 {
		return ErrNoNodes
	}
	self := n.srv.ID()
	op := traversal.Start(traversal.OperationInput{
		Target: self,
		K:      16,
		DoQuery: func(ctx context.Context, addr krpc.NodeAddr) traversal.QueryResult {
			res := n.srv.Query(ctx, dht.NewAddr(addr.UDP()), "find_node", dht.QueryInput{
				MsgArgs: krpc.MsgArgs{Target: self, Want: []krpc.Want{krpc.WantNodes, krpc.WantNodes6}},
			})
			return res.TraversalQueryResult(addr)
		},
		NodeFilter: n.srv.TraversalNodeFilter,
	})
	op.AddNodes(starting)
	var err error
	select {
	case <-op.Stalled():
	case <-ctx.Done():
		err = ctx.Err()
	}
	op.Stop()
	<-op.Stopped()
	return err
}
