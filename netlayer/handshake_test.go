package netlayer

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/flynn/noise"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Anchor 29: our Noise configuration, fed the fixed keys of the
// Noise_IK_25519_ChaChaPoly_BLAKE2s vector in flynn/noise's vectors.txt,
// reproduces its ciphertexts, with the cipher states assigned to
// directions the way dialNoise and listenNoise assign them.
func TestNoiseVector(t *testing.T) {
	iStatic, _ := noise.DH25519.GenerateKeypair(bytes.NewReader(mustHex(t, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")))
	rStatic, _ := noise.DH25519.GenerateKeypair(bytes.NewReader(mustHex(t, "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20")))
	ini, err := newHandshakeState(noiseParams{
		Initiator: true, Static: iStatic, PeerStatic: rStatic.Public,
		Random: bytes.NewReader(mustHex(t, "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f")),
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := newHandshakeState(noiseParams{
		Static: rStatic,
		Random: bytes.NewReader(mustHex(t, "4142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f60")),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254c9f0dff42c86abe5677abe74f6c87301577dbc1f3ffb2213827ca694a057fdbbff7f7350265fe61102c24d7d7a7e960b7316fcb3b0687be852fd2fba8969816fbfaa8b459d0b59e8a42f",
		"64b101b1d0be5a8704bd078f9895001fc03e8e9f9522f188dd128d9846d484667f1d8bd2b9b659695f9077e7062bb0b9e7c08fd627913be183c3",
		"595694f9be48f03790f699455c84578b31d14a7baedfd736d73c53f66a5657",
		"621ae446b11fda3cf08e56102dac9324dee37a4e536cdc878e8b454d98bcf2",
	}
	m0, _, _, err := ini.WriteMessage(nil, []byte("test_msg_0"))
	if err != nil || hex.EncodeToString(m0) != want[0] {
		t.Fatalf("message 0: %x, %v", m0, err)
	}
	if _, _, _, err := resp.ReadMessage(nil, m0); err != nil {
		t.Fatal(err)
	}
	m1, rcs1, rcs2, err := resp.WriteMessage(nil, []byte("test_msg_1"))
	if err != nil || hex.EncodeToString(m1) != want[1] {
		t.Fatalf("message 1: %x, %v", m1, err)
	}
	_, ics1, ics2, err := ini.ReadMessage(nil, m1)
	if err != nil {
		t.Fatal(err)
	}
	dialer := secureConn{send: ics1, recv: ics2}
	listener := secureConn{send: rcs2, recv: rcs1}
	m2, _ := dialer.send.Encrypt(nil, nil, []byte("yellowsubmarine"))
	m3, _ := listener.send.Encrypt(nil, nil, []byte("submarineyellow"))
	if hex.EncodeToString(m2) != want[2] || hex.EncodeToString(m3) != want[3] {
		t.Fatalf("transport messages %x %x", m2, m3)
	}
	if pt, err := listener.recv.Decrypt(nil, nil, m2); err != nil || string(pt) != "yellowsubmarine" {
		t.Fatalf("listener decrypt: %q %v", pt, err)
	}
}

// Anchor 30: a prologue mismatch (another protocol or role string) fails
// the handshake at the responder.
func TestPrologueMismatch(t *testing.T) {
	a, b := newKey(t), newKey(t)
	bx := b.X25519Public()
	for _, p := range []string{"confchat-netlayer/v2", "confchat-relay", ""} {
		ini, _ := newHandshakeState(noiseParams{Initiator: true, Static: staticKey(a), PeerStatic: bx[:], Prologue: []byte(p)})
		resp, _ := newHandshakeState(noiseParams{Static: staticKey(b), Prologue: []byte(prologue)})
		m0, _, _, err := ini.WriteMessage(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := resp.ReadMessage(nil, m0); err == nil {
			t.Fatalf("prologue %q accepted", p)
		}
	}
}

// Anchor 28: an exhausted nonce makes Encrypt fail with ErrMaxNonce; the
// link's writer reports it as a connection error (the session then
// redials and handshakes fresh keys) instead of panicking.
func TestMaxNonce(t *testing.T) {
	leakCheck(t)
	a, b := newKey(t), newKey(t)
	bx := b.X25519Public()
	ini, _ := newHandshakeState(noiseParams{Initiator: true, Static: staticKey(a), PeerStatic: bx[:]})
	resp, _ := newHandshakeState(noiseParams{Static: staticKey(b)})
	m0, _, _, _ := ini.WriteMessage(nil, nil)
	if _, _, _, err := resp.ReadMessage(nil, m0); err != nil {
		t.Fatal(err)
	}
	m1, _, _, _ := resp.WriteMessage(nil, nil)
	_, send, _, err := ini.ReadMessage(nil, m1)
	if err != nil {
		t.Fatal(err)
	}
	send.SetNonce(noise.MaxNonce)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	l := &link{sc: &secureConn{conn: conn, send: send}, gen: 1, out: newRecordQueue(4), done: make(chan struct{}), onKill: func() {}}
	inbox := make(chan linkEvent, 4)
	l.out.put(record{Type: recAck, Ack: 1}) // the last nonce
	l.out.put(record{Type: recAck, Ack: 2}) // no nonce left
	done := make(chan struct{})
	go func() { l.writeLoop(inbox, time.Second); close(done) }() // owner: ends on the error
	select {
	case ev := <-inbox:
		if !errors.Is(ev.err, noise.ErrMaxNonce) {
			t.Fatalf("writer reported %v", ev.err)
		}
	case <-time.After(waitLong):
		t.Fatal("writer reported nothing")
	}
	<-done
	_ = peer.SetReadDeadline(time.Now().Add(waitLong))
	if _, err := io.ReadAll(peer); err != nil {
		t.Fatalf("the connection was not closed cleanly: %v", err)
	}
}

func TestHandshakePayloadsRoundTrip(t *testing.T) {
	kp := newKey(t)
	in := intro{Major: 1, Minor: 3, Key: kp.Public()}
	if got, err := decodeIntro(encodeIntro(in)); err != nil || got != in {
		t.Errorf("intro: %+v %v", got, err)
	}
	an := answer{Major: 1, Status: answerRefused}
	if got, err := decodeAnswer(encodeAnswer(an)); err != nil || got != an {
		t.Errorf("answer: %+v %v", got, err)
	}
	h := hello{ID: newSessionID(), Resume: true, Ack: 7, NextSent: 3}
	if got, err := decodeHello(encodeHello(h)); err != nil || got != h {
		t.Errorf("hello: %+v %v", got, err)
	}
	w := welcome{ID: newSessionID(), Ack: 1 << 40, NextSent: 9}
	if got, err := decodeWelcome(encodeWelcome(w)); err != nil || got != w {
		t.Errorf("welcome: %+v %v", got, err)
	}
	bad := [][]byte{nil, {1}, make([]byte, helloLen-1)}
	for _, b := range bad {
		if _, err := decodeHello(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("hello %x: %v", b, err)
		}
		if _, err := decodeIntro(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("intro %x: %v", b, err)
		}
	}
	fresh := encodeHello(hello{Ack: 1})
	if _, err := decodeHello(fresh); !errors.Is(err, ErrMalformed) {
		t.Error("a fresh hello with sequence numbers was accepted")
	}
	if _, err := decodeAnswer([]byte{1, 0, 9}); !errors.Is(err, ErrMalformed) {
		t.Error("unknown answer status accepted")
	}
	for _, h := range []hello{{ID: newSessionID(), Resume: true, Migrate: true, Ack: 7, NextSent: 3}} {
		if got, err := decodeHello(encodeHello(h)); err != nil || got != h {
			t.Errorf("migrate hello: %+v %v", got, err)
		}
	}
	if _, err := decodeHello(append(make([]byte, 16), helloMigrate, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)); !errors.Is(err, ErrMalformed) {
		t.Error("a migrate hello without resume was accepted")
	}
	cw := welcome{ID: newSessionID(), Ack: 5, NextSent: 2, CutOver: true}
	if got, err := decodeWelcome(encodeWelcome(cw)); err != nil || got != cw {
		t.Errorf("cut-over welcome: %+v %v", got, err)
	}
	for _, c := range []rejectCode{rejectBusy, rejectDenied} {
		if got, err := decodeReject([]byte{byte(c)}); err != nil || got != c {
			t.Errorf("reject %d: %v %v", c, got, err)
		}
	}
	for _, b := range [][]byte{nil, {0}, {6}, {1, 1}} {
		if _, err := decodeReject(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("reject %x accepted", b)
		}
	}
}
