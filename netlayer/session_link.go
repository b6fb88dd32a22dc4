package netlayer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flynn/noise"
)

// link is one authenticated connection under a session, with a reader and
// a writer goroutine. The owner goroutine creates it, writes to it through
// out, and ends it with kill (abrupt) or finish (flush, half-close, linger).
type link struct {
	sc       *secureConn
	gen      uint64
	route    Route        // RouteDirect or RouteRelay, from the connection
	out      *recordQueue // records to write; closed by finish
	done     chan struct{}
	hold     chan struct{} // nil, or closed by release: the reader waits for it
	holdOnce sync.Once
	killOnce sync.Once
	onKill   func()
	roomMu   *sync.Mutex    // the session's sealMu
	bad      *atomic.Int64  // counts records that fail to decrypt or frame
	rcvd     *atomic.Uint64 // counts the bytes of records read
	sent     *atomic.Uint64 // counts the bytes of records written
}

// linkEvent is a record read from, or the error that ended, link gen.
type linkEvent struct {
	gen uint64
	rec record
	err error
}

// newLink starts the goroutines of a link for s. outCap bounds the records
// queued for writing; the owner never queues more sequenced records than
// the send buffer holds, and drops control records when it is full.
//
// A held link (a migration's new path) does not read until release.
func (s *Session) newLink(sc *secureConn, held bool) *link {
	s.linkGen++
	l := &link{
		bad:    &s.ep.badRecords,
		rcvd:   &s.ep.wireReceived,
		sent:   &s.ep.wireSent,
		sc:     sc,
		gen:    s.linkGen,
		route:  routeOf(sc.conn),
		out:    newRecordQueue(s.ep.cfg.SendBuffer + 64),
		done:   make(chan struct{}),
		roomMu: &s.sealMu,
	}
	if held {
		l.hold = make(chan struct{})
	}
	s.ep.liveConns.Add(1)
	l.onKill = func() { s.ep.liveConns.Add(-1) }
	limit := recordLimit(s.ep.cfg.MaxFrameSize)
	writeTimeout := s.ep.cfg.deadAfter()
	s.wg.Go(func() { l.readLoop(s.inbox, limit) })
	s.wg.Go(func() { l.writeLoop(s.inbox, writeTimeout) })
	s.wg.Go(func() { l.killOnAbort(s.ctx) })
	return l
}

// kill closes the connection at once. Safe from any goroutine, repeatedly.
func (l *link) kill() {
	l.killOnce.Do(func() {
		close(l.done)
		_ = l.sc.conn.Close()
		l.onKill()
	})
}

// release lets a held link's reader start. Safe repeatedly.
func (l *link) release() {
	if l.hold != nil {
		l.holdOnce.Do(func() { close(l.hold) })
	}
}

// killOnAbort kills the link when the session is aborted or the endpoint
// terminates, so that no read or write outlives them.
func (l *link) killOnAbort(ctx context.Context) {
	select {
	case <-ctx.Done():
		l.kill()
	case <-l.done:
	}
}

// finish lets the writer flush what is queued and half-close, then gives
// the peer linger to close its side before the reader kills the link.
// Owner only, once.
func (l *link) finish(linger time.Duration) {
	l.release()
	l.out.close()
	_ = l.sc.conn.SetReadDeadline(time.Now().Add(linger))
}

// send queues a record; false when the queue is full. The payload must
// not change afterwards (buffered frames never do).
func (l *link) send(r record) bool { return l.out.put(r) }

// recordQueue is a link's queue of records to write. It holds up to max
// records in a slice that grows with use and is let go once the writer
// has taken it (a channel of that capacity was allocated in full for
// every link, 78 KiB with the default send buffer, busy or not).
type recordQueue struct {
	wake chan struct{} // capacity 1: records (or the close) wait

	mu     sync.Mutex
	recs   []record
	max    int
	closed bool
}

func newRecordQueue(max int) *recordQueue {
	return &recordQueue{wake: make(chan struct{}, 1), max: max}
}

// put appends r; false when the queue is full or closed.
func (q *recordQueue) put(r record) bool {
	q.mu.Lock()
	if q.closed || len(q.recs) >= q.max {
		q.mu.Unlock()
		return false
	}
	q.recs = append(q.recs, r)
	q.mu.Unlock()
	q.poke()
	return true
}

// close lets the writer finish once it has taken what is queued.
func (q *recordQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.poke()
}

func (q *recordQueue) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take returns the queued records (the queue goes on in spare, emptied)
// and whether the queue was closed.
func (q *recordQueue) take(spare []record) ([]record, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	recs := q.recs
	q.recs = spare[:0]
	return recs, q.closed
}

func (l *link) report(inbox chan<- linkEvent, ev linkEvent) {
	select {
	case inbox <- ev:
	case <-l.done:
	}
}

// readLoop reads, decrypts and decodes records until an error, then kills
// the link.
func (l *link) readLoop(inbox chan<- linkEvent, limit int) {
	defer l.kill()
	if l.hold != nil {
		select {
		case <-l.hold:
		case <-l.done:
			return
		}
	}
	var scratch []byte
	for {
		rec, err := l.readOne(&scratch, limit)
		if err != nil {
			if errors.Is(err, ErrDecrypt) || errors.Is(err, ErrFrameTooLarge) || errors.Is(err, ErrShortFrame) || errors.Is(err, ErrMalformed) {
				l.bad.Add(1)
			}
			l.report(inbox, linkEvent{gen: l.gen, err: fmt.Errorf("connection: %w", err)})
			return
		}
		l.report(inbox, linkEvent{gen: l.gen, rec: rec})
	}
}

// readOne reads and opens one record. A record with room for a payload is
// opened into a buffer of its own, which the payload then aliases: straight
// out of the read buffer when the whole record is there, else read into
// that buffer and opened in place. Smaller records reuse *scratch.
func (l *link) readOne(scratch *[]byte, limit int) (record, error) {
	br, cs := l.sc.br, l.sc.recv
	n, err := readRecordLen(br, limit, tagSize+1)
	if err != nil {
		return record{}, err
	}
	if l.rcvd != nil {
		l.rcvd.Add(uint64(lenPrefix + n))
	}
	if n <= seqHeader+tagSize {
		if cap(*scratch) < n {
			*scratch = make([]byte, seqHeader+tagSize)
		}
		ct := (*scratch)[:n]
		if _, err := io.ReadFull(br, ct); err != nil {
			return record{}, fmt.Errorf("read record body: %w", err)
		}
		return openInPlace(cs, ct)
	}
	var pt []byte
	if n <= br.Buffered() {
		ct, _ := br.Peek(n) // cannot fail: n bytes are buffered
		pt, err = cs.Decrypt(make([]byte, 0, n-tagSize), nil, ct)
		_, _ = br.Discard(n)
	} else {
		ct := make([]byte, n)
		if _, err := io.ReadFull(br, ct); err != nil {
			return record{}, fmt.Errorf("read record body: %w", err)
		}
		pt, err = cs.Decrypt(ct[:0], nil, ct)
	}
	if err != nil {
		return record{}, fmt.Errorf("decrypt record: %w: %w", ErrDecrypt, err)
	}
	return decodeRecord(pt)
}

// openInPlace decrypts ct over itself and decodes it; the payload is
// copied out (without zeroing a new buffer first) because ct is reused.
func openInPlace(cs *noise.CipherState, ct []byte) (record, error) {
	pt, err := cs.Decrypt(ct[:0], nil, ct)
	if err != nil {
		return record{}, fmt.Errorf("decrypt record: %w: %w", ErrDecrypt, err)
	}
	r, err := decodeRecord(pt)
	if len(r.Payload) > 0 {
		r.Payload = append([]byte(nil), r.Payload...)
	}
	return r, err
}

// writeLoop encrypts and writes queued records, a batch at a time, one
// flush per batch. When finish closes the queue it writes what is left
// and half-closes.
func (l *link) writeLoop(inbox chan<- linkEvent, timeout time.Duration) {
	w := &recordWriter{conn: l.sc.conn, cs: l.sc.send, timeout: timeout, roomMu: l.roomMu, sent: l.sent}
	var spare []record
	for {
		select {
		case <-l.out.wake:
		case <-l.done:
			return
		}
		recs, closed := l.out.take(spare)
		var err error
		for i := range recs {
			if err = w.seal(recs[i]); err != nil {
				break
			}
		}
		clear(recs) // release the payloads
		spare = nil
		if cap(recs) <= 64 {
			spare = recs[:0] // a burst's large slice is let go
		}
		if err == nil && !closed {
			err = w.flush()
		}
		if err != nil {
			l.report(inbox, linkEvent{gen: l.gen, err: fmt.Errorf("connection: %w", err)})
			l.kill()
			return
		}
		if closed {
			l.closeWrite(w)
			return
		}
	}
}

// writeBufSize is the write buffer of a link. It holds several records of
// 16 KiB, so a busy link writes several records per system call. (At 16 KiB
// a 16 KiB frame, being a little larger once sealed, took one system call
// of its own.)
const writeBufSize = 64 << 10

// writeBufMin is the write buffer a link starts with.
const writeBufMin = 4 << 10

// recordWriter seals records straight into its buffer, each behind its
// length prefix, and writes the buffer with one system call per flush.
// Owned by the link's writer.
type recordWriter struct {
	conn    net.Conn
	cs      *noise.CipherState
	timeout time.Duration
	roomMu  *sync.Mutex // guards the header bytes of record.room
	buf     []byte      // sealed records not yet written
	sent    *atomic.Uint64
}

// seal appends r as a sealed record. The buffer starts at writeBufMin
// and doubles, keeping what it holds, while it is under writeBufSize (an
// idle or chat-only link keeps a small one); at writeBufSize a record
// that does not fit flushes first. It grows to hold a record larger than
// writeBufSize.
func (w *recordWriter) seal(r record) error {
	need := lenPrefix + r.size() + tagSize
	if cap(w.buf)-len(w.buf) < need {
		if c := cap(w.buf); c < writeBufSize {
			grown := make([]byte, len(w.buf), max(min(2*c, writeBufSize), writeBufMin, len(w.buf)+need))
			copy(grown, w.buf)
			w.buf = grown
		}
	}
	if cap(w.buf)-len(w.buf) < need {
		if err := w.flush(); err != nil {
			return err
		}
		if cap(w.buf) < need {
			w.buf = make([]byte, 0, max(need, writeBufSize))
		}
	}
	start := len(w.buf)
	b := w.buf[:start+lenPrefix]
	var err error
	if r.room != nil {
		w.roomMu.Lock()
		appendRecord(r.room[:0], record{Type: r.Type, Seq: r.Seq, Ack: r.Ack})
		b, err = w.cs.Encrypt(b, nil, r.room)
		w.roomMu.Unlock()
	} else {
		pt := appendRecord(b[len(b):], r)
		b, err = w.cs.Encrypt(b, nil, pt) // in place
	}
	if err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	finishRecord(b[start:])
	w.buf = b
	return nil
}

// flush writes the buffered records.
func (w *recordWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	_ = w.conn.SetWriteDeadline(time.Now().Add(w.timeout))
	n, err := w.conn.Write(w.buf)
	if w.sent != nil {
		w.sent.Add(uint64(n))
	}
	w.buf = w.buf[:0]
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

func (l *link) closeWrite(w *recordWriter) {
	if w.flush() != nil {
		l.kill()
		return
	}
	if hc, ok := l.sc.conn.(interface{ CloseWrite() error }); ok {
		_ = hc.CloseWrite()
	}
}
