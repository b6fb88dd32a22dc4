package discovery

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2"
	"github.com/anacrolix/dht/v2/bep44"
	"github.com/anacrolix/torrent/bencode"
	"golang.org/x/time/rate"

	"confchat/identity"
)

// privateDHT is n anacrolix nodes on 127.0.0.1 that know each other.
type privateDHT struct {
	servers []*dht.Server
	addrs   []string
}

func startPrivateDHT(tb testing.TB, n int) *privateDHT {
	tb.Helper()
	p := &privateDHT{}
	for range n {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		first := p.firstAddr()
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
			Exp:         bep44Expiry,
			Logger:      newLibLogger(nil),
			SendLimiter: rate.NewLimiter(rate.Inf, 0),
		})
		if err != nil {
			tb.Fatal(err)
		}
		p.servers = append(p.servers, s)
		p.addrs = append(p.addrs, pc.LocalAddr().String())
	}
	tb.Cleanup(func() {
		for _, s := range p.servers {
			s.Close()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, s := range p.servers[1:] {
		if _, err := s.BootstrapContext(ctx); err != nil {
			tb.Fatal(err)
		}
	}
	// The first node learns the others from their queries; one more
	// round lets every node see most of the others.
	for _, s := range p.servers {
		if _, err := s.BootstrapContext(ctx); err != nil {
			tb.Fatal(err)
		}
	}
	return p
}

func (p *privateDHT) firstAddr() *net.UDPAddr {
	if len(p.servers) == 0 {
		return nil
	}
	return p.servers[0].Addr().(*net.UDPAddr)
}

// put stores a prepared item on the private DHT, as an attacker or a
// replaying node would.
func (p *privateDHT) put(tb testing.TB, it Item) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	k := [32]byte(it.Key)
	target := bep44.MakeMutableTarget(k, it.Salt)
	n := &dhtNode{srv: p.servers[0]}
	stored, err := n.putTraversal(ctx, target, it.Salt, func(int64) bep44.Put {
		return bep44.Put{V: bencode.Bytes(it.V), K: &k, Salt: it.Salt, Sig: it.Sig, Seq: it.Seq}
	})
	if err != nil || stored == 0 {
		tb.Fatalf("put stored on %d nodes: %v", stored, err)
	}
}

func newKey(tb testing.TB) *identity.KeyPair {
	tb.Helper()
	kp, err := identity.Generate(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return kp
}

// seqLog records SaveSeq calls.
type seqLog struct{ ch chan int64 }

func (s *seqLog) save(seq int64) error {
	select {
	case s.ch <- seq:
	default:
	}
	return nil
}

// startService runs a Service on loopback until the test ends.
func startService(tb testing.TB, cfg Config) *Service {
	tb.Helper()
	if cfg.Listen == "" && cfg.Conn == nil {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.SendRate == 0 {
		cfg.SendRate = 10000
	}
	if cfg.LookupTimeout == 0 {
		cfg.LookupTimeout = 20 * time.Second
	}
	s, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("run: %v", err)
		}
	})
	return s
}

// nextEvent waits (bounded) for the next event of type T, skipping others.
func nextEvent[T Event](tb testing.TB, s *Service) T {
	tb.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case e := <-s.Events():
			if t, ok := e.(T); ok {
				return t
			}
		case <-deadline:
			var zero T
			tb.Fatalf("no %T event", zero)
			return zero
		}
	}
}

func lookupCtx(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	tb.Cleanup(cancel)
	return ctx
}
