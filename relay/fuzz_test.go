package relay

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"confchat/identity"
)

func FuzzDecodeMessage(f *testing.F) {
	for _, m := range []message{
		{Type: msgRegister}, {Type: msgConnect, Key: [32]byte{1}}, {Type: msgJoin, Token: token{2}},
		{Type: msgPing}, {Type: msgDecline, Token: token{3}}, {Type: msgRegistered, Idle: 120},
		{Type: msgInvite, Key: [32]byte{4}, Token: token{5}}, {Type: msgConnected, Key: [32]byte{6}},
		{Type: msgPong}, {Type: msgRefused, Reason: ReasonBusy},
		{Type: msgObserved, Addr: netip.MustParseAddrPort("203.0.113.5:7400")},
		{Type: msgObserved, Addr: netip.MustParseAddrPort("[2001:db8::1]:443")},
	} {
		f.Add(encodeMessage(m))
	}
	f.Add([]byte{})
	f.Add([]byte{2, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if got := encodeMessage(m); !bytes.Equal(got, b) {
			t.Fatalf("re-encoded %x, decoded from %x", got, b)
		}
	})
}

func FuzzReadRecord(f *testing.F) {
	f.Add([]byte{0, 3, 'a', 'b', 'c', 'x'})
	f.Add([]byte{0, 0})
	f.Add([]byte{0xff, 0xff, 1})
	f.Add([]byte{4, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		body, err := readRecord(r)
		if err != nil {
			return
		}
		if len(body) == 0 || len(body) > maxRecord {
			t.Fatalf("accepted a %d-byte record", len(body))
		}
		// It consumed exactly the record, never bytes after it.
		if used := len(b) - r.Len(); used != recordPrefix+len(body) {
			t.Fatalf("consumed %d bytes for a %d-byte record", used, len(body))
		}
		var w bytes.Buffer
		if err := writeRecord(&w, body); err != nil || !bytes.Equal(w.Bytes(), b[:recordPrefix+len(body)]) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzHandshakePayloads(f *testing.F) {
	f.Add(encodeIntro(intro{Version: Version, Key: [32]byte{9}}))
	f.Add(encodeAnswer(answer{Version: Version}))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		if in, err := decodeIntro(b); err == nil && !bytes.Equal(encodeIntro(in), b) {
			t.Fatalf("intro round trip of %x", b)
		}
		if a, err := decodeAnswer(b); err == nil && !bytes.Equal(encodeAnswer(a), b) {
			t.Fatalf("answer round trip of %x", b)
		}
	})
}

func FuzzParseAddr(f *testing.F) {
	k := "9f1c0a5b8e2d4c6f7a3b1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b"
	f.Add("relay:" + k + "@relay.example.org:7447")
	f.Add(k + "@[::1]:1")
	f.Add("relay:@:")
	f.Add("relay:" + k + "@host:0")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddr(s)
		if err != nil {
			if !errors.Is(err, ErrBadAddr) {
				t.Fatalf("error %v is not ErrBadAddr", err)
			}
			return
		}
		b, err := ParseAddr(a.String())
		if err != nil || b != a {
			t.Fatalf("round trip of %q: %+v %v", s, b, err)
		}
		if c, err := ParseAddr(a.Bare()); err != nil || c != a {
			t.Fatalf("bare round trip of %q: %v", s, err)
		}
	})
}

// FuzzServerHandshake feeds arbitrary bytes to the relay's side of the
// handshake, as any stranger can: it must fail cleanly, never panic, and
// never accept without a valid Noise message 1.
func FuzzServerHandshake(f *testing.F) {
	relayKey := newKey(f)
	client := newKey(f)
	// A genuine message 1 followed by junk, as a seed.
	var rec bytes.Buffer
	conn := &scriptConn{in: bytes.NewReader(nil), out: &rec}
	_, _ = clientHandshake(conn, client, relayKey.Public())
	f.Add(rec.Bytes())
	f.Add([]byte{0, 1, 0})
	f.Add([]byte{0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		conn := &scriptConn{in: bytes.NewReader(b), out: io.Discard}
		ch, err := serverHandshake(conn, relayKey, func(identity.PublicKey) Reason { return 0 })
		if err == nil {
			// Only a message 1 made for relayKey gets here; the
			// control message after it must then decode or fail.
			_, _ = ch.read()
		}
	})
}

// scriptConn is a net.Conn that reads from in and writes to out.
type scriptConn struct {
	in  io.Reader
	out io.Writer
}

func (c *scriptConn) Read(b []byte) (int, error)       { return c.in.Read(b) }
func (c *scriptConn) Write(b []byte) (int, error)      { return c.out.Write(b) }
func (c *scriptConn) Close() error                     { return nil }
func (c *scriptConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *scriptConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *scriptConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { return nil }
