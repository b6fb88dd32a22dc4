package netlayer_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"confchat/identity"
	"confchat/netlayer"
)

// Two endpoints on loopback: alice opens a session to bob, sends a frame,
// and closes the session gracefully.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := func() *netlayer.Endpoint {
		kp, _ := identity.Generate(rand.Reader)
		ep, err := netlayer.New(netlayer.Config{Key: kp, ListenAddr: "127.0.0.1:0"})
		if err != nil {
			panic(err)
		}
		if err := ep.Listen(); err != nil {
			panic(err)
		}
		return ep
	}
	alice, bob := start(), start()
	defer alice.Close(ctx)
	defer bob.Close(ctx)
	go func() { // alice's events are not needed here
		for range alice.Events() {
		}
	}()

	s, err := alice.Open(bob.Key(), []string{bob.Addr().String()})
	if err != nil {
		panic(err)
	}
	if err := s.Send(ctx, []byte("hello bob")); err != nil {
		panic(err)
	}
	for ev := range bob.Events() {
		switch ev := ev.(type) {
		case netlayer.SessionOpened:
			fmt.Println("bob: inbound session:", ev.Inbound)
		case netlayer.FrameReceived:
			fmt.Printf("bob: got %q\n", ev.Data)
			fmt.Println("alice: close:", s.Close(ctx))
		case netlayer.SessionStateChanged:
			if ev.To == netlayer.Closed {
				fmt.Println("bob: session closed, reason:", ev.Reason)
				return
			}
		}
	}
	// Output:
	// bob: inbound session: true
	// bob: got "hello bob"
	// alice: close: <nil>
	// bob: session closed, reason: <nil>
}
