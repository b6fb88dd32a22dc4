package node

import (
	"context"
	crand "crypto/rand"
	"sync"
	"testing"
	"time"

	"confchat/identity"
	"confchat/netlayer"
	"confchat/peers"
)

// stranger is a bare transport endpoint with a key nobody knows: what an
// attacker holding our ID and address has.
type stranger struct {
	key    *identity.KeyPair
	ep     *netlayer.Endpoint
	frames chan []byte
	wg     sync.WaitGroup
}

func newStranger(t *testing.T) *stranger {
	// The caller defers close.
	t.Helper()
	kp, err := identity.Generate(crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := netlayer.New(netlayer.Config{Key: kp, ListenAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	s := &stranger{key: kp, ep: ep, frames: make(chan []byte, 1024)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for ev := range ep.Events() {
			if f, ok := ev.(netlayer.FrameReceived); ok {
				select {
				case s.frames <- f.Data:
				default:
				}
			}
		}
	}()
	return s
}

// close stops the endpoint (tests defer it after goleak's check).
func (s *stranger) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.ep.Close(ctx)
	s.wg.Wait()
}

// send opens (or reuses) a session to the node and sends frames.
func (s *stranger) send(t *testing.T, to SelfInfo, frames ...[]byte) {
	t.Helper()
	sess, err := s.ep.Open(to.Key, to.Addresses)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, f := range frames {
		if err := sess.Send(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
}

// friendRequest is a request carrying the node's nospam: the node reports
// it with FriendRequestReceived, which tells a test that every frame sent
// before it was handled.
func friendRequest(t *testing.T, to SelfInfo, msg string) []byte {
	t.Helper()
	b, err := peers.EncodeRequest(peers.Request{Nospam: to.ID.Nospam, Name: "stranger", Message: msg})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
