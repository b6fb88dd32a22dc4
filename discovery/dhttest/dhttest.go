// Package dhttest runs a private Mainline DHT of anacrolix nodes on
// loopback for tests: nothing it starts talks to the internet.
package dhttest

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2"
	"github.com/anacrolix/dht/v2/bep44"
	alog "github.com/anacrolix/log"
	"github.com/anacrolix/torrent/bencode"
	"golang.org/x/time/rate"

	"confchat/discovery"
)

// itemLife is how long the nodes keep items (BEP 44: about 2 hours).
const itemLife = 2 * time.Hour

// Network is n DHT nodes on 127.0.0.1 that know each other.
type Network struct {
	Servers []*dht.Server
	Addrs   []string // host:port of each node
	stores  []*bep44.Memory
	once    sync.Once
}

// Close stops every node (also done when the test ends).
func (p *Network) Close() {
	p.once.Do(func() {
		for _, s := range p.Servers {
			s.Close()
		}
	})
}

// Start starts n nodes (at least 1) and bootstraps them into one another;
// they stop when the test ends.
func Start(tb testing.TB, n int) *Network {
	tb.Helper()
	p := &Network{}
	quiet := alog.NewLogger("dhttest")
	quiet.SetHandlers(alog.DiscardHandler)
	for range n {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		var first *net.UDPAddr
		if len(p.Servers) > 0 {
			first = p.Servers[0].Addr().(*net.UDPAddr)
		}
		store := bep44.NewMemory()
		p.stores = append(p.stores, store)
		s, err := dht.NewServer(&dht.ServerConfig{
			Conn:       pc,
			NoSecurity: true,
			StartingNodes: func() ([]dht.Addr, error) {
				if first == nil {
					return nil, errors.New("first node")
				}
				return []dht.Addr{dht.NewAddr(first)}, nil
			},
			Store:       store,
			Exp:         itemLife,
			Logger:      quiet,
			SendLimiter: rate.NewLimiter(rate.Inf, 0),
		})
		if err != nil {
			pc.Close()
			tb.Fatal(err)
		}
		p.Servers = append(p.Servers, s)
		p.Addrs = append(p.Addrs, pc.LocalAddr().String())
	}
	tb.Cleanup(p.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, s := range p.Servers[1:] {
		if _, err := s.BootstrapContext(ctx); err != nil {
			tb.Fatal(err)
		}
	}
	// The first node learns the others from their queries; one more round
	// lets every node see most of the others.
	for _, s := range p.Servers {
		if _, err := s.BootstrapContext(ctx); err != nil {
			tb.Fatal(err)
		}
	}
	return p
}

// Bootstrap is the --dht-bootstrap value naming k of the nodes (all when
// k <= 0 or k > len).
func (p *Network) Bootstrap(k int) string {
	if k <= 0 || k > len(p.Addrs) {
		k = len(p.Addrs)
	}
	return strings.Join(p.Addrs[:k], ",")
}

// Put stores a prepared item on every node, as forging or replaying
// nodes would; each node checks it like a put it received (signature,
// sequence number not below what it holds).
func (p *Network) Put(tb testing.TB, it discovery.Item) {
	tb.Helper()
	k := [32]byte(it.Key)
	put := bep44.Put{V: bencode.Bytes(it.V), K: &k, Salt: it.Salt, Sig: it.Sig, Seq: it.Seq}
	for i, st := range p.stores {
		if err := bep44.NewWrapper(st, itemLife).Put(put.ToItem()); err != nil {
			tb.Fatalf("node %d refused the item: %v", i, err)
		}
	}
}
