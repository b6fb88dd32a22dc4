package relay

import (
	"errors"
	"testing"
	"time"

	"confchat/identity"
)

func TestDialThroughRelay(t *testing.T) {
	r := startRelay(t, Config{})
	alice, bob := newKey(t), newKey(t)
	bl := register(t, newClient(t, bob, ClientConfig{}), r.addr)

	conn, err := newClient(t, alice, ClientConfig{}).DialRelay(ctxT(t), r.addr, bob.Public())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	in := acceptOne(t, bl)
	defer in.Close()
	if !conn.Relayed() || !in.(*Conn).Relayed() {
		t.Fatal("relayed connections must say so")
	}
	if in.(*Conn).Peer() != alice.Public() || conn.Peer() != bob.Public() {
		t.Fatal("wrong peer keys")
	}
	exchange(t, conn, in, []byte("hello through the relay"))
	st := r.srv.Stats()
	if st.Pairs != 1 || st.PairsTotal != 1 || st.Registered != 1 {
		t.Fatalf("stats %v", st)
	}
	conn.Close()
	expectClosed(t, in)
	waitFor(t, "pair to end", func() bool { return r.srv.Stats().Pairs == 0 })
	if b := r.srv.Stats().Bytes; b != 2*uint64(len("hello through the relay")) {
		t.Fatalf("bytes %d", b)
	}
}

func TestDialUnregisteredRefused(t *testing.T) {
	r := startRelay(t, Config{})
	_, err := newClient(t, newKey(t), ClientConfig{}).DialRelay(ctxT(t), r.addr, newKey(t).Public())
	var re *RefusedError
	if !errors.As(err, &re) || re.Reason != ReasonNotRegistered || !errors.Is(err, ErrRefused) {
		t.Fatalf("err %v, want not-registered", err)
	}
	waitFor(t, "refusal count", func() bool { return r.srv.Stats().Refusals[ReasonNotRegistered] == 1 })
}

func TestDialSelfRefused(t *testing.T) {
	r := startRelay(t, Config{})
	k := newKey(t)
	register(t, newClient(t, k, ClientConfig{}), r.addr)
	_, err := newClient(t, k, ClientConfig{}).DialRelay(ctxT(t), r.addr, k.Public())
	var re *RefusedError
	if !errors.As(err, &re) || re.Reason != ReasonMalformed {
		t.Fatalf("err %v, want malformed", err)
	}
}

// anchor 39, the relay's side: a relay that cannot prove the key the client
// expects fails the client's handshake (the end-to-end side, a relay that
// splices us to another key, is netlayer's TestCandidatesOwnRelaysAndWrongKey).
func TestWrongRelayKey(t *testing.T) {
	r := startRelay(t, Config{})
	wrong := r.addr
	wrong.Key = newKey(t).Public()
	_, err := newClient(t, newKey(t), ClientConfig{}).DialRelay(ctxT(t), wrong, newKey(t).Public())
	if !errors.Is(err, ErrWrongRelayKey) {
		t.Fatalf("err %v, want ErrWrongRelayKey", err)
	}
	waitFor(t, "handshake refusal", func() bool { return r.srv.Stats().Refusals[ReasonHandshake] == 1 })
}

func TestDeclinedByAccept(t *testing.T) {
	r := startRelay(t, Config{})
	alice, bob := newKey(t), newKey(t)
	register(t, newClient(t, bob, ClientConfig{Accept: func(k identity.PublicKey) bool { return false }}), r.addr)
	_, err := newClient(t, alice, ClientConfig{}).DialRelay(ctxT(t), r.addr, bob.Public())
	var re *RefusedError
	if !errors.As(err, &re) || re.Reason != ReasonDeclined {
		t.Fatalf("err %v, want declined", err)
	}
}

func TestJoinTimeout(t *testing.T) {
	clock := newFakeClock()
	r := startRelay(t, Config{Clock: clock})
	alice, bob := newKey(t), newKey(t)
	// bob registers by hand and never joins.
	ch := rawRegister(t, r, bob)
	defer ch.conn.Close()
	errc := make(chan error, 1)
	go func() {
		_, err := newClient(t, alice, ClientConfig{}).DialRelay(ctxT(t), r.addr, bob.Public())
		errc <- err
	}()
	m, err := ch.read()
	if err != nil || m.Type != msgInvite || m.Key != alice.Public() {
		t.Fatalf("invite: %+v %v", m, err)
	}
	clock.Advance(DefaultJoinTimeout)
	var re *RefusedError
	if err := <-errc; !errors.As(err, &re) || re.Reason != ReasonTimeout {
		t.Fatalf("err %v, want timeout", err)
	}
	// The token is dead: joining with it now is refused.
	jc := rawOpen(t, r, bob)
	defer jc.conn.Close()
	if err := jc.write(message{Type: msgJoin, Token: m.Token}); err != nil {
		t.Fatal(err)
	}
	if m, err := jc.read(); err != nil || m.Type != msgRefused || m.Reason != ReasonBadToken {
		t.Fatalf("late join: %+v %v", m, err)
	}
}

func TestStolenTokenRefused(t *testing.T) {
	// anchor 40: a third key that learns a token cannot join with it:
	// tokens are bound to the target's authenticated key (netlayer.md
	// test 40); TestDialUnregisteredRefused: the relay pairs only a
	// registered target that joins.
	r := startRelay(t, Config{})
	alice, bob, eve := newKey(t), newKey(t), newKey(t)
	ch := rawRegister(t, r, bob)
	defer ch.conn.Close()
	errc := make(chan error, 1)
	go func() {
		_, err := newClient(t, alice, ClientConfig{}).DialRelay(ctxT(t), r.addr, bob.Public())
		errc <- err
	}()
	m, err := ch.read()
	if err != nil || m.Type != msgInvite {
		t.Fatalf("invite: %+v %v", m, err)
	}
	ec := rawOpen(t, r, eve)
	defer ec.conn.Close()
	_ = ec.write(message{Type: msgJoin, Token: m.Token})
	if m, err := ec.read(); err != nil || m.Type != msgRefused || m.Reason != ReasonBadToken {
		t.Fatalf("eve's join: %+v %v", m, err)
	}
	// A guessed token fails the same way.
	gc := rawOpen(t, r, bob)
	defer gc.conn.Close()
	_ = gc.write(message{Type: msgJoin, Token: token{1, 2, 3}})
	if m, err := gc.read(); err != nil || m.Type != msgRefused || m.Reason != ReasonBadToken {
		t.Fatalf("guessed join: %+v %v", m, err)
	}
	_ = ch.write(message{Type: msgDecline, Token: m.Token})
	var re *RefusedError
	if err := <-errc; !errors.As(err, &re) || re.Reason != ReasonDeclined {
		t.Fatalf("err %v, want declined", err)
	}
}

func TestRegistrationReplaced(t *testing.T) {
	r := startRelay(t, Config{})
	bob := newKey(t)
	old := rawRegister(t, r, bob)
	defer old.conn.Close()
	newer := rawRegister(t, r, bob)
	defer newer.conn.Close()
	if m, err := old.read(); err != nil || m.Type != msgRefused || m.Reason != ReasonReplaced {
		t.Fatalf("old registration: %+v %v", m, err)
	}
	expectClosed(t, old.conn)
	if st := r.srv.Stats(); st.Registered != 1 {
		t.Fatalf("stats %v", st)
	}
}

func TestPingPong(t *testing.T) {
	r := startRelay(t, Config{})
	ch := rawRegister(t, r, newKey(t))
	defer ch.conn.Close()
	for range 3 {
		if err := ch.write(message{Type: msgPing}); err != nil {
			t.Fatal(err)
		}
		if m, err := ch.read(); err != nil || m.Type != msgPong {
			t.Fatalf("pong: %+v %v", m, err)
		}
	}
}

func TestRegistrationIdleCut(t *testing.T) {
	clock := newFakeClock()
	r := startRelay(t, Config{Clock: clock, IdleTimeout: 30 * time.Second})
	ch := rawRegister(t, r, newKey(t))
	defer ch.conn.Close()
	clock.Advance(20 * time.Second)
	_ = ch.write(message{Type: msgPing})
	if m, err := ch.read(); err != nil || m.Type != msgPong {
		t.Fatalf("pong: %+v %v", m, err)
	}
	clock.Advance(20 * time.Second) // 20 s since the ping: still alive
	_ = ch.write(message{Type: msgPing})
	if m, err := ch.read(); err != nil || m.Type != msgPong {
		t.Fatalf("pong: %+v %v", m, err)
	}
	advancePast(clock, 31*time.Second, func() bool { return r.srv.Stats().Refusals[ReasonIdle] > 0 })
	expectClosed(t, ch.conn)
	waitFor(t, "idle refusal", func() bool { return r.srv.Stats().Refusals[ReasonIdle] == 1 })
}

func TestControlFloodCut(t *testing.T) {
	r := startRelay(t, Config{Clock: newFakeClock()})
	ch := rawRegister(t, r, newKey(t))
	defer ch.conn.Close()
	go func() {
		for range 3 * controlBurst {
			if ch.write(message{Type: msgPing}) != nil {
				return
			}
		}
	}()
	expectClosed(t, ch.conn)
	waitFor(t, "flood refusal", func() bool { return r.srv.Stats().Refusals[ReasonFlood] == 1 })
}

func TestKeyLimit(t *testing.T) {
	r := startRelay(t, Config{MaxConnsPerKey: 2})
	k := newKey(t)
	a := rawRegister(t, r, k)
	defer a.conn.Close()
	b := rawOpen(t, r, k)
	defer b.conn.Close()
	conn := dialTCP(t, r)
	defer conn.Close()
	_, err := clientHandshake(conn, k, r.addr.Key)
	var re *RefusedError
	if !errors.As(err, &re) || re.Reason != ReasonKeyLimit {
		t.Fatalf("third connection: %v, want key-limit", err)
	}
	// Another key is unaffected.
	register(t, newClient(t, newKey(t), ClientConfig{}), r.addr)
}

func TestMaxClients(t *testing.T) {
	r := startRelay(t, Config{MaxClients: 2})
	a := rawRegister(t, r, newKey(t))
	defer a.conn.Close()
	b := rawRegister(t, r, newKey(t))
	defer b.conn.Close()
	c := dialTCP(t, r)
	defer c.Close()
	expectClosed(t, c)
	waitFor(t, "full refusal", func() bool { return r.srv.Stats().Refusals[ReasonFull] == 1 })
}

func TestShutdownClosesEverything(t *testing.T) {
	r := startRelay(t, Config{})
	alice, bob := newKey(t), newKey(t)
	bl := register(t, newClient(t, bob, ClientConfig{}), r.addr)
	conn, err := newClient(t, alice, ClientConfig{}).DialRelay(ctxT(t), r.addr, bob.Public())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	in := acceptOne(t, bl)
	defer in.Close()
	half := dialTCP(t, r) // a connection still in its handshake
	defer half.Close()
	r.srv.Close()
	if err := <-r.done; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve: %v", err)
	}
	r.done <- err // for the cleanup
	expectClosed(t, conn)
	expectClosed(t, in)
	expectClosed(t, half)
}
