package relay

import (
	"bytes"
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"confchat/identity"
	"confchat/netlayer"
)

// viaRelays is the transport a node composes (see requests.md): relay
// addresses go through the relay client, the rest over TCP.
type viaRelays struct {
	tcp   netlayer.TCPTransport
	relay *Client
}

var _ netlayer.Transport = viaRelays{}
var _ netlayer.Transport = (*Client)(nil)

func (t viaRelays) Dial(ctx context.Context, peer identity.PublicKey, addr string) (net.Conn, error) {
	if IsAddr(addr) {
		return t.relay.Dial(ctx, peer, addr)
	}
	return t.tcp.Dial(ctx, peer, addr)
}

func (t viaRelays) Listen(addr string) (net.Listener, error) { return t.tcp.Listen(addr) }

// TestNetlayerTransportThroughRelay is the same check over netlayer's
// Transport seam (contract C5): alice dials bob's relay address, bob's
// endpoint serves his registration, the session runs on RouteRelay, and
// the marker never shows in what the relay forwarded (anchor 38).
func TestNetlayerTransportThroughRelay(t *testing.T) {
	marker := []byte("PLAINTEXT-MARKER-c5-seam")
	r := startRelay(t, Config{})
	tp := startTap(t, r.addr.HostPort)
	viaTap := Addr{Key: r.addr.Key, HostPort: tp.ln.Addr().String()}

	aliceKey, bobKey := newKey(t), newKey(t)
	alice, err := netlayer.New(netlayer.Config{Key: aliceKey, ListenAddr: "127.0.0.1:0",
		Transport: viaRelays{relay: newClient(t, aliceKey, ClientConfig{})}})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := netlayer.New(netlayer.Config{Key: bobKey, ListenAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	bl := register(t, newClient(t, bobKey, ClientConfig{}), viaTap)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = bob.Serve(bl)
	}()
	defer func() {
		closeEndpoints(alice, bob)
		wg.Wait()
	}()

	s, err := alice.Open(bobKey.Public(), []string{viaTap.String()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(ctxT(t), marker); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(testTimeout)
	for got := false; !got; {
		select {
		case ev := <-bob.Events():
			if fr, ok := ev.(netlayer.FrameReceived); ok {
				if !bytes.Equal(fr.Data, marker) {
					t.Fatalf("bob got %q", fr.Data)
				}
				got = true
			}
		case <-deadline:
			t.Fatal("the frame did not arrive through the relay")
		}
	}
	if s.Route() != netlayer.RouteRelay {
		t.Fatalf("alice's session runs on %v, want relay", s.Route())
	}
	seen := tp.bytes()
	if len(seen) < len(marker) || bytes.Contains(seen, marker) {
		t.Fatalf("the relay saw %d bytes; marker present: %v", len(seen), bytes.Contains(seen, marker))
	}
}
