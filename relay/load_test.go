package relay

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// TestLoadWithMisbehavingClients runs 200 clients (100 registered keys and
// 100 callers, each pair exchanging 10 messages) through one relay while
// one client sends garbage, one an oversized record, one never finishes
// its handshake, one floods a registration with control messages and one
// floods a spliced pair with bytes. Every good pair completes; the bad
// clients are cut off (the silent one when its handshake time passes on
// the injected clock) and the relay's counts say why.
func TestLoadWithMisbehavingClients(t *testing.T) {
	const pairs, rounds = 100, 10
	clock := newFakeClock()
	r := startRelay(t, Config{Clock: clock, MaxClients: 4 * pairs, MaxHalfOpen: 4 * pairs})

	silent := dialTCP(t, r) // never sends a byte
	defer silent.Close()
	garbage := dialTCP(t, r)
	defer garbage.Close()
	junk := make([]byte, 200)
	_, _ = rand.Read(junk)
	binary.BigEndian.PutUint16(junk, 198)
	_, _ = garbage.Write(junk)
	oversized := dialTCP(t, r)
	defer oversized.Close()
	_, _ = oversized.Write([]byte{0xff, 0xff, 1, 2, 3})
	flooder := rawRegister(t, r, newKey(t))
	defer flooder.conn.Close()
	go func() {
		for range 100 {
			if flooder.write(message{Type: msgPing}) != nil {
				return
			}
		}
	}()
	stopFlood := startByteFlood(t, r)
	defer stopFlood()

	var wg sync.WaitGroup
	errs := make(chan error, pairs)
	for i := range pairs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := runPair(t, r, i, rounds); err != nil {
				errs <- fmt.Errorf("pair %d: %w", i, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	expectClosed(t, garbage)
	expectClosed(t, oversized)
	expectClosed(t, flooder.conn)

	// The silent client held its slot all along without slowing anyone;
	// once its handshake time passes it is cut off too.
	st := r.srv.Stats()
	if st.HalfOpen != 1 || st.PairsTotal < pairs {
		t.Fatalf("stats before the deadline: %v", st)
	}
	clock.Advance(DefaultHandshakeTimeout)
	expectClosed(t, silent)
	waitFor(t, "refusal counts", func() bool {
		st := r.srv.Stats()
		return st.Refusals[ReasonHandshake] >= 2 && st.Refusals[ReasonTooLarge] == 1 && st.Refusals[ReasonFlood] == 1
	})
	t.Logf("stats: %v", r.srv.Stats())
}

// loadTimeout bounds each pair of the load test.
const loadTimeout = 2 * time.Minute

// runPair registers a fresh callee, dials it from a fresh caller and
// echoes rounds messages across.
func runPair(t *testing.T, r *testRelay, i, rounds int) error {
	callee, caller := newKey(t), newKey(t)
	slow := ClientConfig{HandshakeTimeout: loadTimeout, CallTimeout: loadTimeout}
	l := newClient(t, callee, slow).Register(r.addr)
	defer l.Close()
	// A loaded machine (2 cores shared with other builds, -race) may take
	// long to run 300 handshakes; the bound is generous but fixed.
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	if err := l.WaitRegistered(ctx); err != nil {
		return err
	}
	conn, err := newClient(t, caller, slow).DialRelay(ctx, r.addr, callee.Public())
	if err != nil {
		return err
	}
	defer conn.Close()
	in, err := l.Accept()
	if err != nil {
		return err
	}
	defer in.Close()
	deadline := time.Now().Add(loadTimeout)
	_ = conn.SetDeadline(deadline)
	_ = in.SetDeadline(deadline)
	msg := bytes.Repeat([]byte{byte(i)}, 1024)
	got := make([]byte, len(msg))
	for range rounds {
		if _, err := conn.Write(msg); err != nil {
			return err
		}
		if _, err := io.ReadFull(in, got); err != nil {
			return err
		}
		if _, err := in.Write(got); err != nil {
			return err
		}
		if _, err := io.ReadFull(conn, got); err != nil {
			return err
		}
		if !bytes.Equal(got, msg) {
			return fmt.Errorf("echo differs")
		}
	}
	return nil
}

// startByteFlood splices a pair whose caller writes as fast as it can;
// the relay paces it to its rate (on a clock that does not move here, so
// it stalls after its burst) while the others carry on.
func startByteFlood(t *testing.T, r *testRelay) func() {
	callee, caller := newKey(t), newKey(t)
	l := register(t, newClient(t, callee, ClientConfig{}), r.addr)
	conn, err := newClient(t, caller, ClientConfig{}).DialRelay(ctxT(t), r.addr, callee.Public())
	if err != nil {
		t.Fatal(err)
	}
	in := acceptOne(t, l)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		buf := make([]byte, 64<<10)
		for range 1 << 12 { // bounded: at most 256 MiB offered
			if _, err := conn.Write(buf); err != nil {
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		_, _ = io.Copy(io.Discard, in)
	}()
	return func() {
		conn.Close()
		in.Close()
		wg.Wait()
	}
}

var _ net.Conn = (*Conn)(nil)
