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
	VersionMinor = 1 // 1: migration (HELLO migrate flag, WELCOME cut-over flag, MARK)
)

// minorMigration is the first minor version that understands migration.
const minorMigration = 1

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
//
// Migrate (flag bit 1, which implies Resume) asks the listener to move the
// live session onto this connection with the MARK cut-over instead of
// replacing its connection (see docs/protocol.md part 1, "Migration").
type hello struct {
	ID       SessionID
	Resume   bool
	Migrate  bool
	Ack      uint64 // next seq the dialer expects
	NextSent uint64 // oldest seq the dialer still holds unacknowledged
}

// hello flag bits.
const (
	helloResume  = 1 << 0
	helloMigrate = 1 << 1
)

const helloLen = 16 + 1 + 8 + 8

func encodeHello(h hello) []byte {
	b := make([]byte, helloLen)
	copy(b, h.ID[:])
	if h.Resume || h.Migrate {
		b[16] |= helloResume
	}
	if h.Migrate {
		b[16] |= helloMigrate
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
	flags := b[16]
	if flags&^(helloResume|helloMigrate) != 0 || flags == helloMigrate {
		return h, fmt.Errorf("hello: flags %#x: %w", b[16], ErrMalformed)
	}
	copy(h.ID[:], b)
	h.Resume = flags&helloResume != 0
	h.Migrate = flags&helloMigrate != 0
	h.Ack = binary.BigEndian.Uint64(b[17:])
	h.NextSent = binary.BigEndian.Uint64(b[25:])
	if !h.Resume && (h.Ack != 0 || h.NextSent != 0) {
		return h, fmt.Errorf("hello: fresh session with sequence numbers: %w", ErrMalformed)
	}
	return h, nil
}

// welcome is the listener's acceptance of a hello, with its own numbers.
// CutOver (an optional trailing flags byte, bit 0; minor version 1) says
// the listener accepted a migrate HELLO and moves the session with the
// MARK cut-over; without it the connection replaces the old one (a plain
// resume).
type welcome struct {
	ID       SessionID
	Ack      uint64
	NextSent uint64
	CutOver  bool
}

const welcomeLen = 16 + 8 + 8

func encodeWelcome(w welcome) []byte {
	b := make([]byte, welcomeLen, welcomeLen+1)
	copy(b, w.ID[:])
	binary.BigEndian.PutUint64(b[16:], w.Ack)
	binary.BigEndian.PutUint64(b[24:], w.NextSent)
	if w.CutOver {
		b = append(b, 1)
	}
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
	if len(b) > welcomeLen {
		w.CutOver = b[welcomeLen]&1 != 0
	}
	return w, nil
}

// rejectCode is the body of a REJECT record.
type rejectCode byte

const (
	rejectMismatch  rejectCode = 1 // retriable: start a new session
	rejectDuplicate rejectCode = 2 // retriable: the peer keeps its own dial
	rejectMalformed rejectCode = 3 // fatal: the hello did not parse
	rejectBusy      rejectCode = 4 // migrate HELLO: a switch already runs; retry later
	rejectDenied    rejectCode = 5 // migrate HELLO: the listener does not migrate
)

func decodeReject(b []byte) (rejectCode, error) {
	if len(b) != 1 || b[0] < byte(rejectMismatch) || b[0] > byte(rejectDenied) {
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
	case rejectBusy:
		return fmt.Errorf("handshake: rejected: %w", ErrSwitchBusy)
	case rejectDenied:
		return fmt.Errorf("handshake: rejected: %w", ErrMigrationDenied)
	}
	return fatal(ReasonProtocol, fmt.Errorf("handshake: peer could not parse our hello: %w", ErrMalformed))
}
