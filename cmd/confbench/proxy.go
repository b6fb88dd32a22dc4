package main

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// link names one direction of traffic: from node From to node To. -1 is
// a source confbench does not know.
type link struct{ From, To int }

// faults is what the proxies do to traffic; the zero value forwards
// everything. Safe for concurrent use.
type faults struct {
	mu       sync.Mutex
	cut      map[int]bool           // nodes whose traffic is dropped (both directions)
	delay    map[link]time.Duration // added one-way latency per link
	dropNext map[link]int           // chunks still to be dropped once on a link
	dropped  atomic.Int64           // chunks dropped so far
}

func (f *faults) init() {
	if f.cut == nil {
		f.cut, f.delay, f.dropNext = map[int]bool{}, map[link]time.Duration{}, map[link]int{}
	}
}

// setCut drops (true) or forwards again (false) all traffic of node i.
func (f *faults) setCut(i int, on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.init()
	f.cut[i] = on
}

// setDelay adds d of one-way latency to l (it applies to connections
// made after the call).
func (f *faults) setDelay(l link, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.init()
	f.delay[l] = d
}

// dropChunks drops the next n chunks (reads) carried on l.
func (f *faults) dropChunks(l link, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.init()
	f.dropNext[l] += n
}

// verdict says whether a chunk on l is forwarded.
func (f *faults) verdict(l link) (forward bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cut[l.From] || f.cut[l.To] {
		f.dropped.Add(1)
		return false
	}
	if f.dropNext[l] > 0 {
		f.dropNext[l]--
		f.dropped.Add(1)
		return false
	}
	return true
}

func (f *faults) delayOf(l link) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.delay[l]
}

// proxy forwards TCP connections to one node (owner) and applies faults.
// It tells sources apart by their IP: every node listens on, and dials
// from, its own 127.0.0.x address.
type proxy struct {
	ln     net.Listener
	target string
	owner  int
	source func(ip string) int
	f      *faults
	bytes  *atomic.Int64 // every byte forwarded, shared by all proxies

	mu     sync.Mutex
	conns  map[*pipe]struct{}
	closed bool
	wg     sync.WaitGroup
}

// pipe is one proxied connection.
type pipe struct {
	client, server net.Conn
	from           int
	tainted        atomic.Bool // a chunk was dropped: the stream is corrupt
}

func newProxy(target string, owner int, source func(string) int, f *faults, bytes *atomic.Int64) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{ln: ln, target: target, owner: owner, source: source, f: f, bytes: bytes,
		conns: map[*pipe]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
		pp := &pipe{client: c, from: p.source(host)}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			return
		}
		p.conns[pp] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go p.run(pp)
	}
}

func (p *proxy) run(pp *pipe) {
	defer p.wg.Done()
	defer func() {
		p.mu.Lock()
		delete(p.conns, pp)
		p.mu.Unlock()
		pp.client.Close()
	}()
	s, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	p.mu.Lock()
	pp.server = s
	p.mu.Unlock()
	defer s.Close()
	done := make(chan struct{}, 2)
	go func() { p.pump(pp, s, pp.client, link{pp.from, p.owner}); done <- struct{}{} }()
	go func() { p.pump(pp, pp.client, s, link{p.owner, pp.from}); done <- struct{}{} }()
	<-done
	pp.client.Close()
	s.Close()
	<-done
}

// pump copies src to dst chunk by chunk, dropping or delaying chunks as
// the faults say, until either side fails.
func (p *proxy) pump(pp *pipe, dst, src net.Conn, l link) {
	defer dst.Close()
	if d := p.f.delayOf(l); d > 0 {
		p.pumpDelayed(pp, dst, src, l, d)
		return
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && p.forward(pp, l, n) {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// forward applies the verdict for one chunk of n bytes.
func (p *proxy) forward(pp *pipe, l link, n int) bool {
	if !p.f.verdict(l) {
		pp.tainted.Store(true)
		return false
	}
	p.bytes.Add(int64(n))
	return true
}

// pumpDelayed holds every chunk for d before writing it, keeping order;
// at most 1024 chunks wait at once (then reading stalls, like a full
// link).
func (p *proxy) pumpDelayed(pp *pipe, dst, src net.Conn, l link, d time.Duration) {
	type chunk struct {
		b  []byte
		at time.Time
	}
	q := make(chan chunk, 1024)
	go func() {
		defer close(q)
		for {
			buf := make([]byte, 64<<10)
			n, err := src.Read(buf)
			if n > 0 && p.forward(pp, l, n) {
				q <- chunk{buf[:n], time.Now().Add(d)}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range q {
		time.Sleep(time.Until(c.at))
		if _, err := dst.Write(c.b); err != nil {
			src.Close()
			for range q { // let the reader finish
			}
			return
		}
	}
}

// closeTainted closes every connection whose stream lost a chunk, so the
// nodes reconnect instead of reading garbage forever.
func (p *proxy) closeTainted() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pp := range p.conns {
		if pp.tainted.Load() {
			pp.client.Close()
			if pp.server != nil {
				pp.server.Close()
			}
		}
	}
}

func (p *proxy) close() {
	p.mu.Lock()
	p.closed = true
	p.ln.Close()
	for pp := range p.conns {
		pp.client.Close()
		if pp.server != nil {
			pp.server.Close()
		}
	}
	p.mu.Unlock()
	p.wg.Wait()
}
