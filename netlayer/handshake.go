package netlayer

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/flynn/noise"

	"confchat/identity"
)

// prologue is mixed into every handshake. Both sides must use the same
// bytes, so a peer of another protocol family fails at message 1 or 2.
const prologue = "confchat-netlayer"

func cipherSuite() noise.CipherSuite {
	return noise.NewCipherSuite(noise.DH25519, noise.CipherChaChaPoly, noise.HashBLAKE2s)
}

// noiseParams are the inputs of one Noise_IK_25519_ChaChaPoly_BLAKE2s
// handshake; tests set Random and Prologue to replay the spec vectors.
type noiseParams struct {
	Initiator  bool
	Static     noise.DHKey
	PeerStatic []byte // initiator only: the listener's X25519 key
	Prologue   []byte
	Random     io.Reader
}

func newHandshakeState(p noiseParams) (*noise.HandshakeState, error) {
	rnd := p.Random
	if rnd == nil {
		rnd = rand.Reader
	}
	return noise.NewHandshakeState(noise.Config{
		CipherSuite:   cipherSuite(),
		Random:        rnd,
		Pattern:       noise.HandshakeIK,
		Initiator:     p.Initiator,
		Prologue:      p.Prologue,
		StaticKeypair: p.Static,
		PeerStatic:    p.PeerStatic,
	})
}

func staticKey(kp *identity.KeyPair) noise.DHKey {
	priv, pub := kp.X25519Private(), kp.X25519Public()
	return noise.DHKey{Private: priv[:], Public: pub[:]}
}

// secureConn is a TCP connection after a completed Noise handshake. During
// the handshake one goroutine uses it; afterwards the link's reader owns
// br and recv and its writer owns send. On the listener side br is nil
// until the dialer's HELLO authenticated it: a stranger's half-open
// connection holds no read buffer.
type secureConn struct {
	conn   net.Conn
	br     *bufio.Reader
	send   *noise.CipherState
	recv   *noise.CipherState
	peer   identity.PublicKey
	dialed bool // we dialed this connection
	// peerMinor is the peer's minor protocol version: 1 and up understand
	// migration (HELLO's migrate flag, WELCOME's cut-over flag, MARK).
	peerMinor byte
}

// writeMsg encrypts and writes one record; handshake use only.
func (sc *secureConn) writeMsg(r record) error {
	b, err := sc.send.Encrypt(newRecordBuf(0), nil, encodeRecord(r))
	if err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	_, err = sc.conn.Write(finishRecord(b))
	return err
}

// readMsg reads and decrypts one record of at most limit bytes.
func (sc *secureConn) readMsg(limit int) (record, error) {
	var r io.Reader = sc.conn
	if sc.br != nil {
		r = sc.br
	}
	ct, err := readRecord(r, nil, limit, tagSize+1)
	if err != nil {
		return record{}, err
	}
	return openRecord(sc.recv, ct)
}

// openRecord decrypts and decodes a record.
func openRecord(cs *noise.CipherState, ct []byte) (record, error) {
	pt, err := cs.Decrypt(make([]byte, 0, len(ct)-tagSize), nil, ct)
	if err != nil {
		return record{}, fmt.Errorf("decrypt record: %w: %w", ErrDecrypt, err)
	}
	return decodeRecord(pt)
}

// handshaker holds what both handshake directions need.
type handshaker struct {
	key     *identity.KeyPair
	major   byte          // VersionMajor except in version-mismatch tests
	timeout time.Duration // the whole handshake
	step    time.Duration // listener: each of the dialer's messages
	accept  func(identity.PublicKey) bool
	clock   Clock // nil: the system clock
}

// deadline closes conn after d on the handshaker's clock; see hsDeadline.
func (h *handshaker) deadline(conn net.Conn, d time.Duration) *hsDeadline {
	c := h.clock
	if c == nil {
		c = SystemClock{}
	}
	dl := &hsDeadline{}
	dl.t = c.AfterFunc(d, func() {
		dl.fired.Store(true)
		_ = conn.Close()
	})
	return dl
}

// hsDeadline is a handshake timeout on the injected clock: when it fires
// it closes the connection, which ends any read or write in progress.
type hsDeadline struct {
	t     Timer
	fired atomic.Bool
}

// end stops the deadline and returns err, or the timeout if it fired
// (then the connection is closed even when err is nil).
func (dl *hsDeadline) end(err error) error {
	dl.t.Stop()
	if dl.fired.Load() {
		if err == nil {
			return fmt.Errorf("handshake: %w", os.ErrDeadlineExceeded)
		}
		return fmt.Errorf("handshake: %w (%w)", os.ErrDeadlineExceeded, err)
	}
	return err
}

// dial runs the dialer side on conn: Noise IK against the expected peer,
// then HELLO, then WELCOME or REJECT. Errors from the peer's verdicts are
// *FatalError or wrap ErrSessionMismatch / ErrDuplicate.
func (h *handshaker) dial(conn net.Conn, peer identity.PublicKey, hl hello) (*secureConn, welcome, error) {
	sc, err := h.dialSecure(conn, peer)
	if err != nil {
		return nil, welcome{}, err
	}
	w, err := h.dialHello(sc, hl)
	if err != nil {
		return nil, welcome{}, err
	}
	return sc, w, nil
}

// dialSecure runs the Noise IK half of a dial under the handshake
// timeout: afterwards the peer is authenticated and nothing about the
// session has been said yet, so a connection that loses a dial race can
// be closed without the peer having changed any state.
func (h *handshaker) dialSecure(conn net.Conn, peer identity.PublicKey) (*secureConn, error) {
	peerX, err := peer.X25519()
	if err != nil {
		return nil, fatal(ReasonBadKey, err)
	}
	dl := h.deadline(conn, h.timeout)
	sc, err := h.dialNoise(conn, peer, peerX)
	if err := dl.end(err); err != nil {
		return nil, err
	}
	return sc, nil
}

// dialHello sends HELLO on an authenticated connection and reads the
// verdict, under the handshake timeout.
func (h *handshaker) dialHello(sc *secureConn, hl hello) (welcome, error) {
	dl := h.deadline(sc.conn, h.timeout)
	var w welcome
	err := sc.writeMsg(record{Type: recHello, Payload: encodeHello(hl)})
	if err != nil {
		err = fmt.Errorf("handshake: write hello: %w", err)
	} else {
		w, err = readVerdict(sc)
	}
	if err := dl.end(err); err != nil {
		return welcome{}, err
	}
	return w, nil
}

func (h *handshaker) dialNoise(conn net.Conn, peer identity.PublicKey, peerX [32]byte) (*secureConn, error) {
	hs, err := newHandshakeState(noiseParams{
		Initiator: true, Static: staticKey(h.key), PeerStatic: peerX[:], Prologue: []byte(prologue),
	})
	if err != nil {
		return nil, fmt.Errorf("handshake: %w", err)
	}
	m1, _, _, err := hs.WriteMessage(nil, encodeIntro(intro{Major: h.major, Minor: VersionMinor, Key: h.key.Public()}))
	if err != nil {
		return nil, fmt.Errorf("handshake: write message 1: %w", err)
	}
	if err := writeRecord(conn, m1); err != nil {
		return nil, fmt.Errorf("handshake: send message 1: %w", err)
	}
	br := bufio.NewReaderSize(conn, readBufSize)
	m2, err := readRecord(br, nil, handshakeLimit, 0)
	if err != nil {
		return nil, fmt.Errorf("handshake: read message 2: %w", err)
	}
	if len(m2) == 0 {
		// Unauthenticated: anyone on the path can send these 4 bytes, so it
		// is retried like a reset connection (issue 9 defect 3).
		return nil, fmt.Errorf("handshake: listener could not decrypt message 1: %w", ErrUnauthenticatedRefusal)
	}
	payload, cs1, cs2, err := hs.ReadMessage(nil, m2)
	if err != nil {
		return nil, fmt.Errorf("handshake: message 2: %w: %w", ErrHandshake, err)
	}
	minor, err := checkAnswer(payload, h.major)
	if err != nil {
		return nil, err
	}
	return &secureConn{conn: conn, br: br, send: cs1, recv: cs2, peer: peer, dialed: true, peerMinor: minor}, nil
}

// checkAnswer checks the listener's Noise message 2 payload and returns
// its minor version.
func checkAnswer(payload []byte, major byte) (byte, error) {
	a, err := decodeAnswer(payload)
	if err != nil {
		return 0, fatal(ReasonProtocol, fmt.Errorf("handshake: %w", err))
	}
	switch {
	case a.Status == answerVersion || a.Major != major:
		return 0, fatal(ReasonVersion, fmt.Errorf("handshake: listener speaks version %d", a.Major))
	case a.Status == answerRefused:
		return 0, fatal(ReasonRefused, errors.New("handshake: listener refused us"))
	}
	return a.Minor, nil
}

// readVerdict reads the listener's WELCOME or REJECT.
func readVerdict(sc *secureConn) (welcome, error) {
	r, err := sc.readMsg(handshakeLimit)
	if err != nil {
		return welcome{}, fmt.Errorf("handshake: read verdict: %w", err)
	}
	switch r.Type {
	case recWelcome:
		w, err := decodeWelcome(r.Payload)
		if err != nil {
			return welcome{}, fatal(ReasonProtocol, err)
		}
		return w, nil
	case recReject:
		code, err := decodeReject(r.Payload)
		if err != nil {
			return welcome{}, fatal(ReasonProtocol, err)
		}
		return welcome{}, code.err()
	}
	return welcome{}, fatal(ReasonProtocol, fmt.Errorf("handshake: got %v instead of a verdict: %w", r.Type, ErrMalformed))
}

// listen runs the listener side on conn up to and including the dialer's
// HELLO. The session decision is the caller's: nothing here changes state,
// so a replayed message 1 costs one DH and a timeout, nothing more.
// The dialer gets h.step for each of its two messages and h.timeout for
// the whole; first is called once message 1 has arrived.
func (h *handshaker) listen(conn net.Conn, first func()) (*secureConn, hello, error) {
	whole := h.deadline(conn, h.timeout)
	step := h.deadline(conn, h.stepTime())
	sc, hl, err := h.listenSteps(conn, func() { first(); step.t.Reset(h.stepTime()) })
	err = whole.end(step.end(err))
	if err != nil {
		return nil, hello{}, err
	}
	return sc, hl, nil
}

func (h *handshaker) stepTime() time.Duration {
	if h.step <= 0 || h.step > h.timeout {
		return h.timeout
	}
	return h.step
}

func (h *handshaker) listenSteps(conn net.Conn, first func()) (*secureConn, hello, error) {
	sc, err := h.listenNoise(conn)
	if err != nil {
		return nil, hello{}, err
	}
	first()
	r, err := sc.readMsg(handshakeLimit)
	if err != nil {
		return nil, hello{}, fmt.Errorf("handshake: read hello: %w", err)
	}
	if r.Type != recHello {
		return nil, hello{}, fatal(ReasonProtocol, fmt.Errorf("handshake: got %v instead of hello: %w", r.Type, ErrMalformed))
	}
	hl, err := decodeHello(r.Payload)
	if err != nil {
		_ = sc.writeMsg(record{Type: recReject, Payload: []byte{byte(rejectMalformed)}})
		return nil, hello{}, fatal(ReasonProtocol, err)
	}
	// The dialer sends nothing more before our WELCOME, so nothing is
	// buffered yet: the read buffer starts here.
	sc.br = bufio.NewReaderSize(conn, readBufSize)
	return sc, hl, nil
}

func (h *handshaker) listenNoise(conn net.Conn) (*secureConn, error) {
	m1, err := readRecord(conn, nil, handshakeLimit, 1)
	if err != nil {
		return nil, fmt.Errorf("handshake: read message 1: %w", err)
	}
	hs, err := newHandshakeState(noiseParams{Static: staticKey(h.key), Prologue: []byte(prologue)})
	if err != nil {
		return nil, fmt.Errorf("handshake: %w", err)
	}
	payload, _, _, err := hs.ReadMessage(nil, m1)
	if err != nil {
		// An empty record tells an honest dialer it has the wrong key. It
		// is unauthenticated, like a TCP reset, and dialers treat it so.
		_ = writeRecord(conn, nil)
		return nil, fmt.Errorf("handshake: message 1: %w: %w", ErrHandshake, err)
	}
	in, err := decodeIntro(payload)
	if err != nil {
		return nil, fatal(ReasonProtocol, fmt.Errorf("handshake: %w", err))
	}
	if err := checkClaim(in.Key, hs.PeerStatic()); err != nil {
		return nil, err
	}
	status := h.verdict(in)
	m2, cs1, cs2, err := hs.WriteMessage(nil, encodeAnswer(answer{Major: h.major, Minor: VersionMinor, Status: status}))
	if err != nil {
		return nil, fmt.Errorf("handshake: write message 2: %w", err)
	}
	if err := writeRecord(conn, m2); err != nil {
		return nil, fmt.Errorf("handshake: send message 2: %w", err)
	}
	switch status {
	case answerVersion:
		return nil, fatal(ReasonVersion, fmt.Errorf("handshake: dialer %s speaks version %d", in.Key.Short(), in.Major))
	case answerRefused:
		return nil, fatal(ReasonRefused, fmt.Errorf("handshake: refused %s", in.Key.Short()))
	}
	return &secureConn{conn: conn, send: cs2, recv: cs1, peer: in.Key, peerMinor: in.Minor}, nil
}

func (h *handshaker) verdict(in intro) answerStatus {
	if in.Major != h.major {
		return answerVersion
	}
	if h.accept != nil && !h.accept(in.Key) {
		return answerRefused
	}
	return answerOK
}

// checkClaim verifies that the Ed25519 key a dialer claims maps to the
// X25519 static key it proved in Noise.
func checkClaim(claimed identity.PublicKey, static []byte) error {
	x, err := claimed.X25519()
	if err != nil {
		return fatal(ReasonBadKey, fmt.Errorf("handshake: claimed key: %w", err))
	}
	if string(x[:]) != string(static) {
		return fatal(ReasonBadKey, errors.New("handshake: claimed key does not match the noise static key"))
	}
	return nil
}

// readBufSize is the read buffer of a connection: several records per
// system call under load. It must comfortably exceed a sealed 16 KiB
// frame, or every such record costs two reads. (64 KiB cost 32 KiB more
// per link, which adds up with many sessions per node and many nodes per
// machine.)
const readBufSize = 32 << 10
