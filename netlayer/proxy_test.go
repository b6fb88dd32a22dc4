package netlayer

import (
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
)

// proxy is a fault-injecting TCP forwarder on loopback. It can cut every
// connection (at once, or mid-chunk at the next bytes that flow), stall
// them (stop reading and writing without closing), refuse new ones, and
// hand every chunk to a tamper hook that may record, change, insert or
// drop bytes.
type proxy struct {
	t      testing.TB
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu       sync.Mutex
	cond     *sync.Cond
	pairs    map[*pair]struct{}
	refuse   bool
	accepted int
	tamper   func(pr *pair, dir int, off int64, chunk []byte) []byte
	closed   bool
}

// pair is one proxied connection: client side a, target side b.
type pair struct {
	a, b    net.Conn
	n       int      // index of the pair among accepted connections
	offset  [2]int64 // bytes forwarded per direction (0: a->b, 1: b->a)
	cutMid  bool
	stalled bool
	once    sync.Once
}

func newProxy(t testing.TB, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, ln: ln, target: target, pairs: map[*pair]struct{}{}}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Go(p.acceptLoop)
	t.Cleanup(p.close)
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) acceptLoop() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refuse := p.refuse || p.closed
		p.accepted++
		n := p.accepted
		p.mu.Unlock()
		if refuse {
			resetConn(c)
			continue
		}
		t, err := net.Dial("tcp", p.target)
		if err != nil {
			resetConn(c)
			continue
		}
		pr := &pair{a: c, b: t, n: n}
		p.mu.Lock()
		if p.closed {
			// close ran while we dialed: its cut did not see this pair,
			// and its pipes would hold close's Wait forever.
			p.mu.Unlock()
			resetConn(c)
			resetConn(t)
			continue
		}
		p.pairs[pr] = struct{}{}
		p.mu.Unlock()
		p.wg.Go(func() { p.pipe(pr, 0, pr.a, pr.b) })
		p.wg.Go(func() { p.pipe(pr, 1, pr.b, pr.a) })
	}
}

// resetConn closes c with an RST rather than a FIN.
func resetConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

func (p *proxy) pipe(pr *pair, dir int, src, dst net.Conn) {
	defer p.drop(pr)
	buf := make([]byte, 16<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.forward(pr, dir, dst, buf[:n]) {
			return
		}
		if err != nil {
			p.holdWhileStalled(pr)
			return
		}
	}
}

// holdWhileStalled keeps a stalled pair open after one side closed, so the
// other side sees nothing: a black hole.
func (p *proxy) holdWhileStalled(pr *pair) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pr.stalled && !p.closed {
		if _, live := p.pairs[pr]; !live {
			return
		}
		p.cond.Wait()
	}
}

// forward writes one chunk, applying stalls, cuts and the tamper hook.
func (p *proxy) forward(pr *pair, dir int, dst net.Conn, chunk []byte) bool {
	p.mu.Lock()
	for pr.stalled && !p.closed {
		p.cond.Wait()
	}
	if _, live := p.pairs[pr]; !live {
		p.mu.Unlock()
		return false
	}
	if pr.cutMid {
		p.mu.Unlock()
		_, _ = dst.Write(chunk[:rand.IntN(len(chunk))])
		return false
	}
	tamper := p.tamper
	off := pr.offset[dir]
	pr.offset[dir] += int64(len(chunk))
	p.mu.Unlock()
	if tamper != nil {
		chunk = tamper(pr, dir, off, append([]byte(nil), chunk...))
	}
	_, err := dst.Write(chunk)
	return err == nil
}

// drop closes both sides of a pair with RSTs, once.
func (p *proxy) drop(pr *pair) {
	pr.once.Do(func() {
		p.mu.Lock()
		delete(p.pairs, pr)
		p.cond.Broadcast()
		p.mu.Unlock()
		resetConn(pr.a)
		resetConn(pr.b)
	})
}

func (p *proxy) livePairs() []*pair {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*pair, 0, len(p.pairs))
	for pr := range p.pairs {
		out = append(out, pr)
	}
	return out
}

// cut closes every current connection at once.
func (p *proxy) cut() {
	for _, pr := range p.livePairs() {
		p.drop(pr)
	}
}

// cutMid makes every current connection forward a random prefix of its
// next chunk and then close: a cut in the middle of a record.
func (p *proxy) cutMid() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pr := range p.pairs {
		pr.cutMid = true
	}
}

// stall freezes every current connection: nothing is read or written, and
// nothing is closed. New connections are not affected.
func (p *proxy) stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pr := range p.pairs {
		pr.stalled = true
	}
}

// setRefuse makes the proxy reset new connections (a dead target).
func (p *proxy) setRefuse(v bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = v
}

func (p *proxy) setTamper(fn func(pr *pair, dir int, off int64, chunk []byte) []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tamper = fn
}

func (p *proxy) acceptedCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

func (p *proxy) close() {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
	if err := p.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		p.t.Error(err)
	}
	p.cut()
	p.wg.Wait()
}
