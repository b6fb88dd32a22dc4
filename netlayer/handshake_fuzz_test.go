package netlayer

import (
	"bytes"
	"testing"
)

// FuzzHandshakePayloads: every handshake payload parser (message 1 and 2
// payloads, HELLO, WELCOME, REJECT) never panics, and what a fixed-size
// parser accepts re-encodes to its input's prefix.
func FuzzHandshakePayloads(f *testing.F) {
	f.Add(encodeIntro(intro{Major: 1}))
	f.Add(encodeAnswer(answer{Major: 1, Status: answerVersion}))
	f.Add(encodeHello(hello{ID: SessionID{9}, Resume: true, Ack: 5, NextSent: 2}))
	f.Add(encodeWelcome(welcome{ID: SessionID{9}, Ack: 5}))
	f.Add([]byte{byte(rejectMismatch)})
	f.Add(encodeHello(hello{ID: SessionID{9}, Resume: true, Migrate: true, Ack: 5, NextSent: 2}))
	f.Add(encodeWelcome(welcome{ID: SessionID{9}, Ack: 5, CutOver: true}))
	f.Add([]byte{byte(rejectDenied)})
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := decodeIntro(b); err == nil && !bytes.Equal(encodeIntro(m), b[:introLen]) {
			t.Fatalf("intro %x", b)
		}
		if a, err := decodeAnswer(b); err == nil && !bytes.Equal(encodeAnswer(a), b[:answerLen]) {
			t.Fatalf("answer %x", b)
		}
		if h, err := decodeHello(b); err == nil && !bytes.Equal(encodeHello(h), b[:helloLen]) {
			t.Fatalf("hello %x", b)
		}
		if w, err := decodeWelcome(b); err == nil {
			enc := encodeWelcome(w)
			cut := len(b) > welcomeLen && b[welcomeLen]&1 != 0
			if !bytes.Equal(enc[:welcomeLen], b[:welcomeLen]) || (len(enc) > welcomeLen) != cut {
				t.Fatalf("welcome %x", b)
			}
		}
		if c, err := decodeReject(b); err == nil && (len(b) != 1 || c.err() == nil) {
			t.Fatalf("reject %x", b)
		}
	})
}
