package relay

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"confchat/identity"
	"confchat/netlayer"
)

// tap is a TCP proxy in front of the relay that records every byte the
// relay receives and sends, so a test can look at what a relay sees.
type tap struct {
	ln   net.Listener
	mu   sync.Mutex
	seen bytes.Buffer
	wg   sync.WaitGroup
}

func startTap(t *testing.T, target string) *tap {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tp := &tap{ln: ln}
	tp.wg.Add(1)
	go func() {
		defer tp.wg.Done()
		forward(ln, &tp.wg, func() (net.Conn, error) { return net.Dial("tcp", target) }, tp)
	}()
	t.Cleanup(func() {
		ln.Close()
		tp.wg.Wait()
	})
	return tp
}

func (tp *tap) Write(b []byte) (int, error) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.seen.Write(b)
}

func (tp *tap) bytes() []byte {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return bytes.Clone(tp.seen.Bytes())
}

// forward accepts on ln until it is closed, connects each accepted
// connection to dial() and copies both ways (through rec, if set).
func forward(ln net.Listener, wg *sync.WaitGroup, dial func() (net.Conn, error), rec io.Writer) {
	for {
		in, err := ln.Accept()
		if err != nil {
			return
		}
		out, err := dial()
		if err != nil {
			in.Close()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			pump(in, out, rec)
		}()
	}
}

// pump copies a and b both ways (recording through rec, if set) until
// either ends, then closes both.
func pump(a, b net.Conn, rec io.Writer) {
	var w sync.WaitGroup
	w.Add(2)
	cp := func(dst, src net.Conn) {
		defer w.Done()
		var r io.Reader = src
		if rec != nil {
			r = io.TeeReader(src, rec)
		}
		_, _ = io.Copy(dst, r)
		a.Close()
		b.Close()
	}
	go cp(a, b)
	go cp(b, a)
	w.Wait()
}

// TestNetlayerThroughRelayCarriesOnlyCiphertext runs two real netlayer
// endpoints through the relay (anchor 38, netlayer.md test 38): a frame with a known
// plaintext marker arrives, and the marker never appears in the bytes the
// relay received or sent. Until netlayer's Transport seam is on main, the
// endpoints reach the relay through local TCP forwarders: alice's dials
// the relay for bob, bob's hands the relay's inbound connections to bob's
// listener.
func TestNetlayerThroughRelayCarriesOnlyCiphertext(t *testing.T) {
	marker := []byte("PLAINTEXT-MARKER-51c0ffee")
	r := startRelay(t, Config{})
	tp := startTap(t, r.addr.HostPort)
	viaTap := Addr{Key: r.addr.Key, HostPort: tp.ln.Addr().String()}

	alice := startEndpoint(t)
	bob := startEndpoint(t)
	aliceKey, bobKey := alice.kp, bob.kp

	bl := register(t, newClient(t, bobKey, ClientConfig{}), viaTap)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // bob: relay listener -> bob's endpoint
		defer wg.Done()
		for {
			in, err := bl.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", bob.ep.Addr().String())
			if err != nil {
				in.Close()
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				pump(in, out, nil)
			}()
		}
	}()
	aliceFwd, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ac := newClient(t, aliceKey, ClientConfig{})
	wg.Add(1)
	go func() { // alice: local port -> relay -> bob
		defer wg.Done()
		forward(aliceFwd, &wg, func() (net.Conn, error) {
			return ac.DialRelay(ctxT(t), viaTap, bobKey.Public())
		}, nil)
	}()
	defer func() {
		aliceFwd.Close()
		bl.Close()
		closeEndpoints(alice.ep, bob.ep)
		wg.Wait()
	}()

	s, err := alice.ep.Open(bobKey.Public(), []string{aliceFwd.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	frame := append([]byte("chat: "), marker...)
	for range 3 {
		if err := s.Send(ctxT(t), frame); err != nil {
			t.Fatal(err)
		}
	}
	got := 0
	deadline := time.After(testTimeout)
	for got < 3 {
		select {
		case ev := <-bob.ep.Events():
			if fr, ok := ev.(netlayer.FrameReceived); ok {
				if !bytes.Equal(fr.Data, frame) {
					t.Fatalf("bob got %q", fr.Data)
				}
				got++
			}
		case <-deadline:
			t.Fatal("frames did not arrive through the relay")
		}
	}
	seen := tp.bytes()
	if len(seen) < 3*len(frame) || r.srv.Stats().PairsTotal != 1 {
		t.Fatalf("the relay saw %d bytes, stats %v: the test did not go through it", len(seen), r.srv.Stats())
	}
	if bytes.Contains(seen, marker) {
		t.Fatal("the plaintext marker appears in the bytes the relay forwarded")
	}
}

type testEndpoint struct {
	ep *netlayer.Endpoint
	kp *identity.KeyPair
}

func startEndpoint(t *testing.T) testEndpoint {
	kp := newKey(t)
	ep, err := netlayer.New(netlayer.Config{Key: kp, ListenAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ep.Listen(); err != nil {
		t.Fatal(err)
	}
	return testEndpoint{ep: ep, kp: kp}
}

func closeEndpoints(eps ...*netlayer.Endpoint) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for _, ep := range eps {
		done := make(chan struct{})
		go func() { // drain events so Close never blocks on them
			for {
				select {
				case <-ep.Events():
				case <-done:
					return
				}
			}
		}()
		_ = ep.Close(ctx)
		close(done)
	}
}
