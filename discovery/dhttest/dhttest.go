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
	"github.com/anacrolix/dht/v2/exts/getput"
	alog "github.com/anacrolix/log"
	"github.com/anacrolix/torrent/bencode"
	"golang.org/x/time/rate"

	"confchat/discovery"
)

// Network is n DHT nodes on 127.0.0.1 that know each other.
type Network struct {
	Servers []*dht.Server
	Addrs   []string // host:port of each node
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
		s, err := dht.NewServer(&dht.ServerConfig{
			Conn:       pc,
			NoSecurity: true,
			StartingNodes: func() ([]dht.Addr, error) {
				if first == nil {
					return nil, errors.New("first node")
				}
				return []dht.Addr{dht.NewAddr(first)}, nil
			},
			Store:       bep44.NewMemory(),
			Exp:         2 * time.Hour,
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

// Put stores a prepared item on the network through its first node, as
// a replaying or forging node would.
func (p *Network) Put(tb testing.TB, it discovery.Item) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	k := [32]byte(it.Key)
	target := bep44.MakeMutableTarget(k, it.Salt)
	_, err := getput.Put(ctx, target, p.Servers[0], it.Salt, func(int64) bep44.Put {
		return bep44.Put{V: bencode.Bytes(it.V), K: &k, Salt: it.Salt, Sig: it.Sig, Seq: it.Seq}
	})
	if err != nil {
		tb.Fatal(err)
	}
}
