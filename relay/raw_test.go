package relay

import (
	"net"
	"testing"
	"time"

	"confchat/identity"
)

func dialTCP(t testing.TB, r *testRelay) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", r.addr.HostPort, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(testTimeout))
	return conn
}

// rawOpen connects and completes the handshake by hand.
func rawOpen(t testing.TB, r *testRelay, kp *identity.KeyPair) *channel {
	t.Helper()
	conn := dialTCP(t, r)
	ch, err := clientHandshake(conn, kp, r.addr.Key)
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	return ch
}

// rawRegister registers by hand and reads REGISTERED.
func rawRegister(t testing.TB, r *testRelay, kp *identity.KeyPair) *channel {
	t.Helper()
	ch := rawOpen(t, r, kp)
	if err := ch.write(message{Type: msgRegister}); err != nil {
		t.Fatal(err)
	}
	if m, err := ch.read(); err != nil || m.Type != msgRegistered {
		ch.conn.Close()
		t.Fatalf("registered: %+v %v", m, err)
	}
	// OBSERVED follows at once: the address our connection comes from.
	m, err := ch.read()
	if err != nil || m.Type != msgObserved || m.Addr.String() != ch.conn.LocalAddr().String() {
		ch.conn.Close()
		t.Fatalf("observed: %+v %v, want %v", m, err, ch.conn.LocalAddr())
	}
	return ch
}
