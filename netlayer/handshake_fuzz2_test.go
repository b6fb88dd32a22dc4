package netlayer

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"

	"confchat/identity"
)

// scriptConn is a net.Conn for fuzzing one side of the handshake without
// goroutines: reads come from in, and each Write is handed to onWrite,
// which may append the other side's answer to in.
type scriptConn struct {
	net.Conn
	in      bytes.Buffer
	onWrite func(c *scriptConn, b []byte)
}

func (c *scriptConn) Read(p []byte) (int, error) { return c.in.Read(p) }
func (c *scriptConn) Write(p []byte) (int, error) {
	if c.onWrite != nil {
		c.onWrite(c, append([]byte(nil), p...))
	}
	return len(p), nil
}
func (c *scriptConn) Close() error                     { return nil }
func (c *scriptConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { return nil }
func (c *scriptConn) RemoteAddr() net.Addr             { return memAddr("fuzz") }

// fuzzKeys are fixed so the fuzzer explores payloads, not key material.
func fuzzKeys(t testing.TB) (dialer, listener *identity.KeyPair) {
	d, err := identity.FromSeed(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	l, err := identity.FromSeed(bytes.Repeat([]byte{2}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return d, l
}

// FuzzListenerHandshake: whatever a dialer sends (raw bytes, or a valid
// Noise message 1 with any payload followed by any HELLO plaintext), the
// listener side of the handshake never panics and accepts only a HELLO
// that decodes.
func FuzzListenerHandshake(f *testing.F) {
	f.Add(false, encodeIntro(intro{Major: VersionMajor}), encodeRecord(record{Type: recHello, Payload: encodeHello(hello{})}))
	f.Add(false, []byte{1}, []byte{byte(recHello), 1})
	f.Add(true, []byte{0, 0, 0, 4, 1, 2, 3, 4}, []byte(nil))
	f.Fuzz(func(t *testing.T, raw bool, m1payload, helloPlain []byte) {
		dk, lk := fuzzKeys(t)
		h := handshaker{key: lk, major: VersionMajor, timeout: time.Second}
		c := &scriptConn{}
		if raw {
			c.in.Write(m1payload)
		} else {
			peerX, _ := lk.Public().X25519()
			hs, err := newHandshakeState(noiseParams{Initiator: true, Static: staticKey(dk), PeerStatic: peerX[:], Prologue: []byte(prologue)})
			if err != nil {
				t.Fatal(err)
			}
			if len(m1payload) > 200 {
				m1payload = m1payload[:200]
			}
			m1, _, _, err := hs.WriteMessage(nil, m1payload)
			if err != nil {
				t.Fatal(err)
			}
			_ = writeRecord(&c.in, m1)
			c.onWrite = func(c *scriptConn, b []byte) {
				if len(b) < lenPrefix || hs == nil {
					return
				}
				_, cs1, _, err := hs.ReadMessage(nil, b[lenPrefix:])
				hs = nil
				if err != nil || cs1 == nil {
					return
				}
				ct, _ := cs1.Encrypt(nil, nil, helloPlain)
				_ = writeRecord(&c.in, ct)
			}
		}
		sc, hl, err := h.listen(c, func() {})
		if err != nil {
			return
		}
		if sc.peer != dk.Public() {
			t.Fatalf("accepted peer %s", sc.peer.Short())
		}
		r, derr := decodeRecord(helloPlain)
		if derr != nil || r.Type != recHello {
			t.Fatalf("accepted a hello from %x", helloPlain)
		}
		if again, _ := decodeHello(r.Payload); again != hl {
			t.Fatal("hello differs from its decoding")
		}
	})
}

// FuzzDialerHandshake: whatever the listener answers (raw bytes, or a
// valid Noise message 2 with any payload followed by any verdict
// plaintext), the dialer side never panics, and only an empty record is
// an unauthenticated refusal.
func FuzzDialerHandshake(f *testing.F) {
	f.Add(false, encodeAnswer(answer{Major: VersionMajor}), encodeRecord(record{Type: recWelcome, Payload: encodeWelcome(welcome{})}))
	f.Add(false, encodeAnswer(answer{Major: VersionMajor, Status: answerRefused}), []byte{byte(recReject), 1})
	f.Add(true, []byte{0, 0, 0, 0}, []byte(nil))
	f.Fuzz(func(t *testing.T, raw bool, m2payload, verdictPlain []byte) {
		dk, lk := fuzzKeys(t)
		h := handshaker{key: dk, major: VersionMajor, timeout: time.Second}
		c := &scriptConn{}
		if raw {
			c.in.Write(m2payload)
		} else {
			hs, err := newHandshakeState(noiseParams{Static: staticKey(lk), Prologue: []byte(prologue)})
			if err != nil {
				t.Fatal(err)
			}
			if len(m2payload) > 200 {
				m2payload = m2payload[:200]
			}
			c.onWrite = func(c *scriptConn, b []byte) {
				if len(b) < lenPrefix || hs == nil {
					return
				}
				if _, _, _, err := hs.ReadMessage(nil, b[lenPrefix:]); err != nil {
					hs = nil
					return
				}
				m2, _, cs2, err := hs.WriteMessage(nil, m2payload)
				hs = nil
				if err != nil {
					return
				}
				_ = writeRecord(&c.in, m2)
				ct, _ := cs2.Encrypt(nil, nil, verdictPlain)
				_ = writeRecord(&c.in, ct)
			}
		}
		_, _, err := h.dial(c, lk.Public(), hello{ID: SessionID{1}})
		if errors.Is(err, ErrUnauthenticatedRefusal) && (IsFatal(err) || !raw) {
			t.Fatalf("refusal %v from an authenticated answer or marked fatal", err)
		}
	})
}
