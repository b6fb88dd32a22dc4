package relay

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/flynn/noise"

	"confchat/identity"
)

// prologue is mixed into every relay handshake, so a netlayer peer (whose
// prologue differs) fails against a relay at message 1 or 2.
const prologue = "confchat-relay"

// Handshake errors.
var (
	// ErrHandshake is a Noise handshake that failed: garbage, or the other
	// side does not hold the key it should.
	ErrHandshake = errors.New("relay handshake failed")
	// ErrWrongRelayKey means the relay could not decrypt our message 1 or
	// we could not decrypt its message 2: it does not hold the key in the
	// relay address.
	ErrWrongRelayKey = errors.New("relay does not hold the key in its address")
)

func cipherSuite() noise.CipherSuite {
	return noise.NewCipherSuite(noise.DH25519, noise.CipherChaChaPoly, noise.HashBLAKE2s)
}

func staticKey(kp *identity.KeyPair) noise.DHKey {
	priv, pub := kp.X25519Private(), kp.X25519Public()
	return noise.DHKey{Private: priv[:], Public: pub[:]}
}

// channel is a connection after the Noise handshake, before the splice.
// Reads and writes are exact records, never buffered ahead. One goroutine
// may read while another writes; neither side is shared further.
type channel struct {
	conn net.Conn
	send *noise.CipherState
	recv *noise.CipherState
	peer identity.PublicKey // the other side's authenticated key
}

func (c *channel) write(m message) error {
	ct, err := c.send.Encrypt(nil, nil, encodeMessage(m))
	if err != nil {
		return fmt.Errorf("encrypt %v: %w", m.Type, err)
	}
	if err := writeRecord(c.conn, ct); err != nil {
		return fmt.Errorf("write %v: %w", m.Type, err)
	}
	return nil
}

func (c *channel) read() (message, error) {
	ct, err := readRecord(c.conn)
	if err != nil {
		return message{}, err
	}
	pt, err := c.recv.Decrypt(nil, nil, ct)
	if err != nil {
		return message{}, fmt.Errorf("decrypt control message: %w: %w", ErrMalformed, err)
	}
	return decodeMessage(pt)
}

// intro is the client's Noise message 1 payload.
type intro struct {
	Version byte
	Key     identity.PublicKey
}

func encodeIntro(in intro) []byte { return append([]byte{in.Version}, in.Key[:]...) }

func decodeIntro(b []byte) (intro, error) {
	if len(b) != 1+identity.KeySize {
		return intro{}, fmt.Errorf("intro of %d bytes: %w", len(b), ErrMalformed)
	}
	var in intro
	in.Version = b[0]
	copy(in.Key[:], b[1:])
	return in, nil
}

// answer is the relay's Noise message 2 payload: a version and a status,
// 0 or a Reason.
type answer struct {
	Version byte
	Status  Reason
}

func encodeAnswer(a answer) []byte { return []byte{a.Version, byte(a.Status)} }

func decodeAnswer(b []byte) (answer, error) {
	if len(b) != 2 {
		return answer{}, fmt.Errorf("answer of %d bytes: %w", len(b), ErrMalformed)
	}
	return answer{Version: b[0], Status: Reason(b[1])}, nil
}

// clientHandshake runs the initiator side against the relay key relayKey.
// The caller bounds it in time (it closes conn on timeout).
func clientHandshake(conn net.Conn, kp *identity.KeyPair, relayKey identity.PublicKey) (*channel, error) {
	rx, err := relayKey.X25519()
	if err != nil {
		return nil, fmt.Errorf("relay key: %w", err)
	}
	hs, err := noise.NewHandshakeState(noise.Config{
		CipherSuite: cipherSuite(), Random: rand.Reader, Pattern: noise.HandshakeIK,
		Initiator: true, Prologue: []byte(prologue), StaticKeypair: staticKey(kp), PeerStatic: rx[:],
	})
	if err != nil {
		return nil, fmt.Errorf("handshake: %w", err)
	}
	m1, _, _, err := hs.WriteMessage(nil, encodeIntro(intro{Version: Version, Key: kp.Public()}))
	if err != nil {
		return nil, fmt.Errorf("handshake: write message 1: %w", err)
	}
	if err := writeRecord(conn, m1); err != nil {
		return nil, fmt.Errorf("handshake: send message 1: %w", err)
	}
	m2, err := readRecord(conn)
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("handshake: relay closed before message 2: %w", ErrWrongRelayKey)
	}
	if err != nil {
		return nil, fmt.Errorf("handshake: message 2: %w", err)
	}
	payload, cs1, cs2, err := hs.ReadMessage(nil, m2)
	if err != nil {
		return nil, fmt.Errorf("handshake: message 2: %w: %w", ErrWrongRelayKey, err)
	}
	a, err := decodeAnswer(payload)
	if err != nil {
		return nil, fmt.Errorf("handshake: %w", err)
	}
	if a.Status != 0 {
		return nil, &RefusedError{Reason: a.Status}
	}
	if a.Version != Version {
		return nil, &RefusedError{Reason: ReasonVersion}
	}
	return &channel{conn: conn, send: cs1, recv: cs2, peer: relayKey}, nil
}

// serverHandshake runs the responder side. admit decides the status sent
// in message 2 once the client's key is known (0 accepts). A refused
// client gets its answer and a *RefusedError back.
func serverHandshake(conn net.Conn, kp *identity.KeyPair, admit func(identity.PublicKey) Reason) (*channel, error) {
	m1, err := readRecord(conn)
	if err != nil {
		return nil, fmt.Errorf("handshake: message 1: %w", err)
	}
	hs, err := noise.NewHandshakeState(noise.Config{
		CipherSuite: cipherSuite(), Random: rand.Reader, Pattern: noise.HandshakeIK,
		Prologue: []byte(prologue), StaticKeypair: staticKey(kp),
	})
	if err != nil {
		return nil, fmt.Errorf("handshake: %w", err)
	}
	payload, _, _, err := hs.ReadMessage(nil, m1)
	if err != nil {
		return nil, fmt.Errorf("handshake: message 1: %w: %w", ErrHandshake, err)
	}
	in, err := decodeIntro(payload)
	if err != nil {
		return nil, fmt.Errorf("handshake: %w", err)
	}
	if err := checkClaim(in.Key, hs.PeerStatic()); err != nil {
		return nil, err
	}
	status := Reason(0)
	if in.Version != Version {
		status = ReasonVersion
	} else {
		status = admit(in.Key)
	}
	m2, cs1, cs2, err := hs.WriteMessage(nil, encodeAnswer(answer{Version: Version, Status: status}))
	if err != nil {
		return nil, fmt.Errorf("handshake: write message 2: %w", err)
	}
	if err := writeRecord(conn, m2); err != nil {
		return nil, fmt.Errorf("handshake: send message 2: %w", err)
	}
	if status != 0 {
		return nil, &RefusedError{Reason: status}
	}
	return &channel{conn: conn, send: cs2, recv: cs1, peer: in.Key}, nil
}

// checkClaim verifies that the Ed25519 key a client claims maps to the
// X25519 static key it proved in Noise.
func checkClaim(claimed identity.PublicKey, static []byte) error {
	if err := identity.ValidatePublicKey(claimed); err != nil {
		return fmt.Errorf("handshake: claimed key: %w: %w", ErrHandshake, err)
	}
	x, err := claimed.X25519()
	if err != nil {
		return fmt.Errorf("handshake: claimed key: %w: %w", ErrHandshake, err)
	}
	if string(x[:]) != string(static) {
		return fmt.Errorf("handshake: claimed key does not match the noise static key: %w", ErrHandshake)
	}
	return nil
}
