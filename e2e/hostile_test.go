package e2e

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"confchat/conference"
	"confchat/identity"
	"confchat/netlayer"
	"confchat/peers"
)

// hostile is an attacker on loopback that knows a victim's ID, address
// and one conference id (as anyone invited once would). It speaks the real
// protocol through netlayer and the conference and peers encoders; every
// loop is bounded by the context it runs under and by a count.
type hostile struct {
	victim identity.ID
	addr   string
	conf   conference.ID
	// from, when set, is the local address the attacker dials from (any
	// 127/8 address works on loopback), so tests can place it in its own
	// network prefix.
	from net.IP

	// Counters of what was sent, for the report.
	dials, handshakes, sybils, historyReqs, batches, idleConns atomic.Int64
}

func newHostile(victimID, addr, conf string) (*hostile, error) {
	id, err := identity.ParseID(victimID)
	if err != nil {
		return nil, err
	}
	c, err := identity.ParseConferenceID(conf)
	if err != nil {
		return nil, err
	}
	return &hostile{victim: id, addr: addr, conf: c}, nil
}

// connect makes a fresh key, dials the victim and returns the session once
// it is Connected, with a stop function that closes everything. Events are
// drained by a goroutine stop waits for.
func (h *hostile) connect(ctx context.Context) (*netlayer.Session, func(), error) {
	key, err := identity.Generate(crand.Reader)
	if err != nil {
		return nil, nil, err
	}
	ep, err := netlayer.New(netlayer.Config{Key: key, HandshakeTimeout: 3 * time.Second, CloseTimeout: time.Second,
		DialFrom: h.from})
	if err != nil {
		return nil, nil, err
	}
	up := make(chan struct{})
	var once sync.Once
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for ev := range ep.Events() {
			if sc, ok := ev.(netlayer.SessionStateChanged); ok && sc.To == netlayer.Connected {
				once.Do(func() { close(up) })
			}
		}
	}()
	stop := func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		ep.Close(cctx)
		<-drained
	}
	s, err := ep.Open(h.victim.Key, []string{h.addr})
	if err != nil {
		stop()
		return nil, nil, err
	}
	h.dials.Add(1)
	select {
	case <-up:
		h.handshakes.Add(1)
		return s, stop, nil
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
	}
	stop()
	return nil, nil, fmt.Errorf("no session to the victim")
}

// loop runs fn with up to workers at once until ctx ends or max runs
// started.
func loop(ctx context.Context, workers, max int, fn func(context.Context)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for i := 0; i < max && ctx.Err() == nil; i++ {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fn(ctx)
		}()
	}
	wg.Wait()
}

// strangers completes handshakes from fresh keys and leaves at once.
func (h *hostile) strangers(ctx context.Context) {
	loop(ctx, 4, 100_000, func(ctx context.Context) {
		if _, stop, err := h.connect(ctx); err == nil {
			stop()
		}
	})
}

// sybilRequests sends friend requests carrying the victim's nospam, one
// fresh key each.
func (h *hostile) sybilRequests(ctx context.Context) { h.sybilRequestsN(ctx, 100_000) }

// sybilRequestsN is sybilRequests for at most n keys.
func (h *hostile) sybilRequestsN(ctx context.Context, n int) {
	loop(ctx, 4, n, func(ctx context.Context) {
		s, stop, err := h.connect(ctx)
		if err != nil {
			return
		}
		defer stop()
		b, err := peers.EncodeRequest(peers.Request{Nospam: h.victim.Nospam, Name: "sybil",
			Message: "let me in " + randHex(8)})
		if err == nil && s.Send(ctx, b) == nil {
			h.sybils.Add(1)
		}
		sleepCtx(ctx, 200*time.Millisecond) // let it arrive before the close
	})
}

// historyFlood sends an Invite for the conference (so the victim routes
// our direct packets) and then HISTORY REQUESTs asking for everything, to
// the first few group numbers, as fast as the session takes them.
func (h *hostile) historyFlood(ctx context.Context) {
	loop(ctx, 2, 1000, func(ctx context.Context) {
		s, stop, err := h.connect(ctx)
		if err != nil {
			return
		}
		defer stop()
		inv := (&conference.InvitePacket{InviterGroup: 7, ID: h.conf}).Encode()
		if s.Send(ctx, inv) != nil {
			return
		}
		for i := 0; i < 20_000 && ctx.Err() == nil; i++ {
			p := (&conference.HistoryRequestPacket{Group: uint16(i % 4), Count: 0xFFFF}).Encode()
			if s.Send(ctx, p) != nil {
				return
			}
			h.historyReqs.Add(1)
		}
	})
}

// junkBatches sends unsolicited history BATCHes of records signed by fresh
// non-member keys, so the signatures verify but the origins are nobody.
func (h *hostile) junkBatches(ctx context.Context) {
	loop(ctx, 1, 1000, func(ctx context.Context) {
		s, stop, err := h.connect(ctx)
		if err != nil {
			return
		}
		defer stop()
		inv := (&conference.InvitePacket{InviterGroup: 7, ID: h.conf}).Encode()
		if s.Send(ctx, inv) != nil {
			return
		}
		for i := 0; i < 5_000 && ctx.Err() == nil; i++ {
			junk, err := identity.Generate(crand.Reader)
			if err != nil {
				return
			}
			var recs []conference.Record
			for n := uint32(1); n <= 16; n++ {
				// A well-formed stored message: prev (u32), then the text.
				body := binary.BigEndian.AppendUint32(nil, n-1)
				body = append(body, "junk "+randHex(16)...)
				recs = append(recs, conference.Record{Origin: junk.Public(), Number: n, Kind: conference.KindMessage,
					Body: body, Signature: junk.Sign(conference.SignedBytes(h.conf, junk.Public(), n, conference.KindMessage, body))})
			}
			p := (&conference.BatchPacket{Group: uint16(i % 4), Records: recs}).Encode()
			if s.Send(ctx, p) != nil {
				return
			}
			h.batches.Add(1)
		}
	})
}

// idleSockets holds n TCP connections that never say anything, opening a
// new one whenever the victim closes one.
func (h *hostile) idleSockets(ctx context.Context, n int) {
	loop(ctx, n, 100_000, func(ctx context.Context) {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", h.addr)
		if err != nil {
			sleepCtx(ctx, 100*time.Millisecond)
			return
		}
		h.idleConns.Add(1)
		defer c.Close()
		stop := context.AfterFunc(ctx, func() { c.Close() })
		defer stop()
		opened := time.Now()
		c.SetReadDeadline(opened.Add(time.Minute))
		var b [1]byte
		c.Read(b[:]) // returns when the victim closes it, or the minute is up
		if time.Since(opened) < 500*time.Millisecond {
			sleepCtx(ctx, 200*time.Millisecond) // closed at once: do not spin
		}
	})
}

func (h *hostile) String() string {
	return fmt.Sprintf("dials %d, completed handshakes %d, sybil requests %d, history requests %d, junk batches %d, idle connections %d",
		h.dials.Load(), h.handshakes.Load(), h.sybils.Load(), h.historyReqs.Load(), h.batches.Load(), h.idleConns.Load())
}

func randHex(n int) string {
	b := make([]byte, n/2)
	crand.Read(b)
	return hex.EncodeToString(b)
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
