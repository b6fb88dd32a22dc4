package netlayer

import (
	"encoding/binary"
	"fmt"

	"confchat/identity"
)

// Protocol version carried in both Noise handshake payloads. A peer with a
// different major version is refused with ReasonVersion; minor versions
// only add optional trailing fields, which older readers ignore.
const (
	VersionMajor = 1
	VersionMinor = 0
)

// SessionID names one incarnation of a session between two keys. The dialer
// of a new session draws it at random; a restart draws a new one.
type SessionID [16]byte

// intro is the payload of Noise message 1 (dialer to listener):
// major(1) minor(1) ed25519-key(32). It is replayable, so the listener
// changes no state because of it.
type intro struct {
	Major, Minor byte
	Key          identity.PublicKey
}

const introLen = 2 + identity.KeySize

func encodeIntro(m intro) []byte {
	b := make([]byte, introLen)
	b[0], b[1] = m.Major, m.Minor
	copy(b[2:], m.Key[:])
	return b
}

func decodeIntro(b []byte) (intro, error) {
	var m intro
	if len(b) < introLen {
		return m, fmt.Errorf("intro: %d bytes: %w", len(b), ErrMalformed)
	}
	m.Major, m.Minor = b[0], b[1]
	copy(m.Key[:], b[2:introLen])
	return m, nil
}

// answerStatus is the listener's verdict in Noise message 2.
type answerStatus byte

const (
	answerOK      answerStatus = 0
	answerVersion answerStatus = 1 // unknown major version
	answerRefused answerStatus = 2 // the Accept hook refused the dialer
)

// answer is the payload of Noise message 2: major(1) minor(1) status(1).
type answer struct {
	Major, Minor byte
	Status       answerStatus
}

const answerLen = 3

func encodeAnswer(a answer) []byte { return []byte{a.Major, a.Minor, byte(a.Status)} }

func decodeAnswer(b []byte) (answer, error) {
	if len(b) < answerLen {
		return answer{}, fmt.Errorf("answer: %d bytes: %w", len(b), ErrMalformed)
	}
	a := answer{Major: b[0], Minor: b[1], Status: answerStatus(b[2])}
	if a.Status > answerRefused {
		return answer{}, fmt.Errorf("answer: status %d: %w", b[2], ErrMalformed)
	}
	return a, nil
}

// hello is the dialer's first transport record: which session it means and
// where its sequence numbers stand. Resume is set once the session has been
// welcomed; a resume for a session the listener does not know is a mismatch,
// never a new session (river #405).
type hello struct {
	ID       SessionID
	Resume   bool
	Ack      uint64 // next seq the dialer expects
	NextSent uint64 // oldest seq the dialer still holds unacknowledged
}

const helloLen = 16 + 1 + 8 + 8

func encodeHello(h hello) []byte {
	b := make([]byte, helloLen)
	copy(b, h.ID[:])
	if h.Resume {
		b[16] = 1
	}
	binary.BigEndian.PutUint64(b[17:], h.Ack)
	binary.BigEndian.PutUint64(b[25:], h.NextSent)
	return b
}

func decodeHello(b []byte) (hello, error) {
	var h hello
	if len(b) < helloLen {
		return h, fmt.Errorf("hello: %d bytes: %w", len(b), ErrMalformed)
	}
	if b[16] > 1 {
		return h, fmt.Errorf("hello: flags %#x: %w", b[16], ErrMalformed)
	}
	copy(h.ID[:], b)
	h.Resume = b[16] == 1
	h.Ack = binary.BigEndian.Uint64(b[17:])
	h.NextSent = binary.BigEndian.Uint64(b[25:])
	if !h.Resume && (h.Ack != 0 || h.NextSent != 0) {
		return h, fmt.Errorf("hello: fresh session with sequence numbers: %w", ErrMalformed)
	}
	return h, nil
}

// welcome is the listener's acceptance of a hello, with its own numbers.
type welcome struct {
	ID       SessionID
	Ack      uint64
	NextSent uint64
}

const welcomeLen = 16 + 8 + 8

func encodeWelcome(w welcome) []byte {
	b := make([]byte, welcomeLen)
	copy(b, w.ID[:])
	binary.BigEndian.PutUint64(b[16:], w.Ack)
	binary.BigEndian.PutUint64(b[24:], w.NextSent)
	return b
}

func decodeWelcome(b []byte) (welcome, error) {
	var w welcome
	if len(b) < welcomeLen {
		return w, fmt.Errorf("welcome: %d bytes: %w", len(b), ErrMalformed)
	}
	copy(w.ID[:], b)
	w.Ack = binary.BigEndian.Uint64(b[16:])
	w.NextSent = binary.BigEndian.Uint64(b[24:])
	return w, nil
}

// rejectCode is the body of a REJECT record.
type rejectCode byte

const (
	rejectMismatch  rejectCode = 1 // retriable: start a new session
	rejectDuplicate rejectCode = 2 // retriable: the peer keeps its own dial
	rejectMalformed rejectCode = 3 // fatal: the hello did not parse
)

func decodeReject(b []byte) (rejectCode, error) {
	if len(b) != 1 || b[0] < byte(rejectMismatch) || b[0] > byte(rejectMalformed) {
		return 0, fmt.Errorf("reject: %x: %w", b, ErrMalformed)
	}
	return rejectCode(b[0]), nil
}

// err maps a reject code to the error the dialer acts on.
func (c rejectCode) err() error {
	switch c {
	case rejectMismatch:
		return fmt.Errorf("handshake: rejected: %w", ErrSessionMismatch)
	case rejectDuplicate:
		return fmt.Errorf("handshake: rejected: %w", ErrDuplicate)
	}
	return fatal(ReasonProtocol, fmt.Errorf("handshake: peer could not parse our hello: %w", ErrMalformed))
}
