package e2e

import (
	"io"
	"net"
	"sync"
	"testing"
)

// splitProxy forwards TCP connections to one bot and can refuse or cut
// those that come from the other side of a split. It tells sources apart
// by their loopback IP: every bot listens on, and dials from, its own
// 127.0.0.N address.
type splitProxy struct {
	t      testing.TB
	ln     net.Listener
	target string
	side   func(ip string) int // which half an address belongs to, -1 if unknown

	mu      sync.Mutex
	split   bool
	conns   map[net.Conn]int // client side of each link -> its source half
	targetH int
	wg      sync.WaitGroup
}

func newSplitProxy(t testing.TB, target string, targetHalf int, side func(string) int) *splitProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &splitProxy{t: t, ln: ln, target: target, side: side, targetH: targetHalf, conns: map[net.Conn]int{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *splitProxy) addr() string { return p.ln.Addr().String() }

func (p *splitProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
		half := p.side(host)
		p.mu.Lock()
		if p.split && half != p.targetH {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c] = half
		p.mu.Unlock()
		p.wg.Add(1)
		go p.pipe(c)
	}
}

func (p *splitProxy) pipe(c net.Conn) {
	defer p.wg.Done()
	defer func() {
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
		c.Close()
	}()
	u, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer u.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(u, c); u.Close(); done <- struct{}{} }()
	go func() { io.Copy(c, u); c.Close(); done <- struct{}{} }()
	<-done
	<-done
}

// setSplit cuts (true) or allows again (false) traffic from the other half.
func (p *splitProxy) setSplit(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.split = on
	if !on {
		return
	}
	for c, half := range p.conns {
		if half != p.targetH {
			c.Close()
		}
	}
}

func (p *splitProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
