package relay

import (
	"net"
	"sync"
)

// spliceBuf is the copy buffer of one direction of a pair.
const spliceBuf = 32 << 10

// splice copies bytes both ways between a caller and a joiner until
// either side closes or fails, the pair is idle for the idle timeout, or
// the relay stops; then it closes both. Each direction is paced by the
// sending key's bucket: the relay stops reading a client that is over its
// rate, so TCP backpressure slows that client and no one else.
func (s *Server) splice(a *channel, ab *bucket, b *channel, bb *bucket) {
	s.hub.pairStarted()
	defer s.hub.pairEnded()
	stop := make(chan struct{})
	var once sync.Once
	end := func() {
		once.Do(func() {
			close(stop)
			a.conn.Close()
			b.conn.Close()
		})
	}
	w := newWatchdog(s.cfg.Clock, s.cfg.IdleTimeout)
	defer w.stop()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		s.pipe(b.conn, a.conn, ab, w, stop)
		end()
	}()
	go func() {
		defer wg.Done()
		s.pipe(a.conn, b.conn, bb, w, stop)
		end()
	}()
	select {
	case <-stop:
	case <-w.expired:
		s.hub.refuse(ReasonIdle)
		end()
	case <-s.ctx.Done():
		end()
	}
	wg.Wait()
}

// pipe copies src to dst, paced by src's key bucket, until an error.
func (s *Server) pipe(dst, src net.Conn, b *bucket, w *watchdog, stop <-chan struct{}) {
	buf := make([]byte, spliceBuf)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			w.touch()
			s.hub.bytes.Add(uint64(n))
			if d := b.take(s.cfg.Clock.Now(), n); !sleep(s.cfg.Clock, d, stop) {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
