package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"confchat/storage"
)

// relayProc is one running `confchat relay` process.
type relayProc struct {
	t      testing.TB
	cmd    *exec.Cmd
	addr   string // KEY@host:port as it printed it
	stderr *lockedBuffer
	done   chan struct{}
}

// startRelayProc runs `confchat relay` on a loopback port and reads the
// address it prints.
func startRelayProc(t testing.TB) *relayProc {
	t.Helper()
	r := &relayProc{t: t, stderr: &lockedBuffer{}, done: make(chan struct{})}
	r.cmd = exec.Command(builtBinary(), "relay", "--listen", "127.0.0.1:0", "--profile", filepath.Join(t.TempDir(), "relay"))
	r.cmd.Stderr = r.stderr
	out, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.kill)
	lines := make(chan string, 1)
	go func() {
		defer close(r.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	select {
	case l := <-lines:
		r.addr = strings.TrimSpace(l)
	case <-time.After(20 * time.Second):
		t.Fatalf("relay printed no address\nstderr:\n%s", tail(r.stderr.String()))
	}
	return r
}

// hostPort is where the relay listens.
func (r *relayProc) hostPort() string { return r.addr[strings.IndexByte(r.addr, '@')+1:] }

// key is the relay's key in hex.
func (r *relayProc) key() string { return r.addr[:strings.IndexByte(r.addr, '@')] }

// kill ends the relay with SIGKILL (idempotent).
func (r *relayProc) kill() {
	if r.cmd.ProcessState != nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGKILL)
	r.cmd.Wait()
	<-r.done
}

// tapProxy forwards TCP connections to target and records every byte it
// forwards, both ways (at most tapLimit bytes are kept; the count goes
// on). It sits in front of the relay, so what it records is exactly what
// the relay received and sent.
type tapProxy struct {
	t      testing.TB
	ln     net.Listener
	target string

	mu      sync.Mutex
	rec     bytes.Buffer
	total   int64
	conns   map[net.Conn]bool
	delay   time.Duration // each chunk waits this long before it is forwarded
	stalled bool          // black hole: chunks are recorded and dropped
	wg      sync.WaitGroup
}

// slow delays every chunk the proxy forwards from now on by d.
func (p *tapProxy) slow(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

// stall black-holes the relay path: connections stay open, nothing
// crosses (to the peers, the relay is dying).
func (p *tapProxy) stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = true
}

func (p *tapProxy) state() (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.delay, p.stalled
}

// forward copies src to dst through the recorder, applying the delay
// and the stall.
func (p *tapProxy) forward(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.Write(buf[:n])
			delay, stalled := p.state()
			if !stalled {
				time.Sleep(delay)
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
		}
		if err != nil {
			break
		}
	}
	dst.Close()
}

const tapLimit = 64 << 20

func newTapProxy(t testing.TB, target string) *tapProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tapProxy{t: t, ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *tapProxy) addr() string { return p.ln.Addr().String() }

func (p *tapProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.pipe(c)
	}
}

func (p *tapProxy) pipe(c net.Conn) {
	defer p.wg.Done()
	u, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[u] = true, true
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, c)
		delete(p.conns, u)
		p.mu.Unlock()
		c.Close()
		u.Close()
	}()
	done := make(chan struct{}, 2)
	go func() { p.forward(u, c); done <- struct{}{} }()
	go func() { p.forward(c, u); done <- struct{}{} }()
	<-done
	<-done
}

// Write records forwarded bytes (the TeeReaders' sink).
func (p *tapProxy) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total += int64(len(b))
	if room := tapLimit - p.rec.Len(); room > 0 {
		p.rec.Write(b[:min(len(b), room)])
	}
	return len(b), nil
}

// recorded returns a copy of what was recorded and the total forwarded.
func (p *tapProxy) recorded() ([]byte, int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Clone(p.rec.Bytes()), p.total
}

func (p *tapProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// closedPort returns a loopback address nothing listens on (a port bound
// and released).
func closedPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

type relayStatus struct {
	Address    string `json:"address"`
	Registered bool   `json:"registered"`
}

// waitRegistered waits until b's self.status shows every relay registered.
func (b *bot) waitRegistered(timeout time.Duration) {
	b.t.Helper()
	eventually(b.t, timeout, b.name+" registered at its relays", func() error {
		var st struct {
			Relays []relayStatus `json:"relays"`
		}
		b.call("self.status", nil, &st)
		if len(st.Relays) == 0 {
			return fmt.Errorf("no relays in self.status")
		}
		for _, r := range st.Relays {
			if !r.Registered {
				return fmt.Errorf("not registered at %s", r.Address)
			}
		}
		return nil
	})
}

type friendEntry struct {
	PublicKey string   `json:"public_key"`
	Online    bool     `json:"online"`
	Route     string   `json:"route"`
	Switch    string   `json:"switch"`
	Addresses []string `json:"addresses"`
	// Issue 13: how the path runs, why the last hole punch failed.
	Via          string `json:"via"`
	DirectFailed string `json:"direct_failed"`
}

// friend returns b's friend.list entry for key.
func (b *bot) friend(key string) friendEntry {
	b.t.Helper()
	var r struct {
		Friends []friendEntry `json:"friends"`
	}
	b.call("friend.list", nil, &r)
	for _, f := range r.Friends {
		if f.PublicKey == key {
			return f
		}
	}
	b.t.Fatalf("%s: %s is not in friend.list", b.name, key)
	return friendEntry{}
}

type routeNote struct {
	PublicKey string `json:"public_key"`
	Route     string `json:"route"`
	Switch    string `json:"switch"`
}

// routeNotes returns b's connection.route notifications about key.
func (b *bot) routeNotes(key string) []routeNote {
	var out []routeNote
	for _, p := range b.notesOf("connection.route") {
		var n routeNote
		json.Unmarshal(p, &n)
		if n.PublicKey == key {
			out = append(out, n)
		}
	}
	return out
}

// relayedPair starts a relay behind a recording proxy and two bots that
// register there and advertise only direct addresses nothing listens on
// (returned, so a test can open them later).
func relayedPair(t *testing.T) (r *relayProc, tap *tapProxy, a, b *bot, directA, directB string) {
	t.Helper()
	r = startRelayProc(t)
	tap = newTapProxy(t, r.hostPort())
	relayArg := r.key() + "@" + tap.addr()
	directA, directB = closedPort(t), closedPort(t)
	a = startBot(t, "alice", "", "--advertise", directA, "--relay", relayArg)
	b = startBot(t, "bob", "", "--advertise", directB, "--relay", relayArg)
	for _, x := range []*bot{a, b} {
		if len(x.addresses) != 2 || x.addresses[1] != "relay:"+relayArg {
			t.Fatalf("%s announces %q, want its direct address, then relay:%s", x.name, x.addresses, relayArg)
		}
	}
	a.waitRegistered(20 * time.Second)
	b.waitRegistered(20 * time.Second)
	return r, tap, a, b, directA, directB
}

// TestRelayOnlyChat (issue 11 acceptance): two bots that can reach only
// the relay befriend, form a conference and chat through it, and a known
// plaintext marker sent in the chat never appears in the bytes the relay
// received or sent.
func TestRelayOnlyChat(t *testing.T) {
	t.Parallel()
	_, tap, a, b, _, _ := relayedPair(t)
	befriend(t, a, b)
	for _, x := range [][2]*bot{{a, b}, {b, a}} {
		if f := x[0].friend(x[1].key); !f.Online || f.Route != "relay" || f.Switch != "" {
			t.Fatalf("%s lists %s as %+v, want online over the relay", x[0].name, x[1].name, f)
		}
		x[0].waitNote("connection.route", 10*time.Second, func(p json.RawMessage) bool {
			var n routeNote
			json.Unmarshal(p, &n)
			return n.PublicKey == x[1].key && n.Route == "relay" && n.Switch == ""
		})
	}
	conf := conferenceOf(t, a, "through the relay", b)
	waitActive(t, conf, 20*time.Second, a, b)

	const marker = "PLAINTEXT-MARKER-7f3a9c-never-on-the-wire"
	const n = 20
	for i := range n {
		a.call("conference.send", map[string]any{"conference": conf, "text": fmt.Sprintf("%s alice %d", marker, i)}, nil)
	}
	b.call("conference.send", map[string]any{"conference": conf, "text": marker + " bob"}, nil)
	b.waitFor(20*time.Second, func() bool { return countFrom(b.notes, a.key) >= n })
	a.waitNote("conference.message", 20*time.Second, func(p json.RawMessage) bool {
		var m historyMsg
		json.Unmarshal(p, &m)
		return m.Text == marker+" bob"
	})
	var got []string
	for _, p := range b.notesOf("conference.message") {
		var m historyMsg
		json.Unmarshal(p, &m)
		if m.From == a.key {
			got = append(got, m.Text)
		}
	}
	if len(got) != n {
		t.Fatalf("bob got %d messages from alice, want %d", len(got), n)
	}
	for i, text := range got {
		if want := fmt.Sprintf("%s alice %d", marker, i); text != want {
			t.Fatalf("message %d is %q, want %q", i, text, want)
		}
	}

	rec, total := tap.recorded()
	if total < int64(n*len(marker)) || int64(len(rec)) != total {
		t.Fatalf("the relay forwarded %d bytes (%d recorded): too few to have carried the chat", total, len(rec))
	}
	for _, needle := range []string{marker, "PLAINTEXT-MARKER", "through the relay"} {
		if i := bytes.Index(rec, []byte(needle)); i >= 0 {
			t.Fatalf("plaintext %q in the relay's bytes at offset %d of %d", needle, i, len(rec))
		}
	}
	t.Logf("relay forwarded %d bytes, no plaintext", total)
}

// gate is a bot's advertised direct address, kept closed until the test
// opens it; then it forwards to the bot's real listen address, each chunk
// after delay (to stretch a migration), until shut.
type gate struct {
	t     testing.TB
	addr  string
	delay time.Duration

	mu      sync.Mutex
	target  string
	ln      net.Listener
	conns   map[net.Conn]bool
	stalled bool // black hole: bytes are read and dropped, nothing is closed
	wg      sync.WaitGroup
}

// stall black-holes the path: connections stay open, nothing crosses.
func (g *gate) stall() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stalled = true
}

func (g *gate) isStalled() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stalled
}

func newGate(t testing.TB, addr string, delay time.Duration) *gate {
	g := &gate{t: t, addr: addr, delay: delay, conns: map[net.Conn]bool{}}
	t.Cleanup(g.shut)
	return g
}

// open starts forwarding addr to target (a bot's listen address).
func (g *gate) open(target string) {
	g.t.Helper()
	ln, err := net.Listen("tcp", g.addr)
	if err != nil {
		g.t.Fatalf("open the direct path %s: %v", g.addr, err)
	}
	g.mu.Lock()
	g.ln, g.target = ln, target
	g.mu.Unlock()
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			g.wg.Add(1)
			go g.pipe(c)
		}
	}()
}

func (g *gate) pipe(c net.Conn) {
	defer g.wg.Done()
	g.mu.Lock()
	target := g.target
	g.mu.Unlock()
	u, err := net.Dial("tcp", target)
	if err != nil {
		c.Close()
		return
	}
	g.mu.Lock()
	g.conns[c], g.conns[u] = true, true
	g.mu.Unlock()
	copyDelayed := func(dst, src net.Conn, done chan<- struct{}) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 && !g.isStalled() {
				time.Sleep(g.delay)
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		dst.Close()
		src.Close()
		done <- struct{}{}
	}
	done := make(chan struct{}, 2)
	go copyDelayed(u, c, done)
	go copyDelayed(c, u, done)
	<-done
	<-done
	g.mu.Lock()
	delete(g.conns, c)
	delete(g.conns, u)
	g.mu.Unlock()
}

// shut closes the direct path: the listener and every connection through
// it (the peer sees them die).
func (g *gate) shut() {
	g.mu.Lock()
	if g.ln != nil {
		g.ln.Close()
		g.ln = nil
	}
	for c := range g.conns {
		c.Close()
	}
	g.mu.Unlock()
	g.wg.Wait()
}

// listenAddr is the address b is really bound to.
func (b *bot) listenAddr() string {
	b.t.Helper()
	var st struct {
		Listen string `json:"listen"`
	}
	b.call("self.status", nil, &st)
	return st.Listen
}

// stream sends numbered messages from b every interval until stop is
// closed, and returns the texts whose conference.send succeeded.
func (b *bot) stream(conf, prefix string, interval time.Duration, stop <-chan struct{}) <-chan []string {
	return b.streamN(conf, prefix, interval, stop, -1)
}

// streamMaxTime bounds every stream, whatever its count.
const streamMaxTime = 2 * time.Minute

// streamN is stream that also ends after max messages (max < 0: no
// limit); every stream ends after streamMaxTime.
func (b *bot) streamN(conf, prefix string, interval time.Duration, stop <-chan struct{}, max int) <-chan []string {
	out := make(chan []string, 1)
	go func() {
		var sent []string
		defer func() { out <- sent }()
		deadline := time.Now().Add(streamMaxTime)
		for i := 0; i != max && time.Now().Before(deadline); i++ {
			select {
			case <-stop:
				return
			case <-time.After(interval):
			}
			text := fmt.Sprintf("%s %05d", prefix, i)
			if err := b.try("conference.send", map[string]any{"conference": conf, "text": text}, nil); err != nil {
				return // the bot was killed; what was confirmed is in sent
			}
			sent = append(sent, text)
		}
	}()
	return out
}

// receivedFrom returns the texts of b's conference.message notifications
// from key, in arrival order.
func (b *bot) receivedFrom(key string) []string {
	var got []string
	for _, p := range b.notesOf("conference.message") {
		var m historyMsg
		json.Unmarshal(p, &m)
		if m.From == key {
			got = append(got, m.Text)
		}
	}
	return got
}

// hasRouteSequence reports whether notes hold want in order (other notes
// may come between).
func hasRouteSequence(notes []routeNote, want ...routeNote) bool {
	i := 0
	for _, n := range notes {
		if i < len(want) && n.Route == want[i].Route && n.Switch == want[i].Switch {
			i++
		}
	}
	return i == len(want)
}

func lastRoute(notes []routeNote) routeNote {
	if len(notes) == 0 {
		return routeNote{}
	}
	return notes[len(notes)-1]
}

// TestRelayMigratesToDirect (issue 11 acceptance): while alice streams
// 10,000 messages (1,000 with -race) over the relay, the test opens the
// direct path: the session
// migrates (connection.route relay -> switching -> direct), and every
// message arrives exactly once, in order. Then the direct path dies while
// the relay still works: the session is back on the relay and messages
// flow again.
func TestRelayMigratesToDirect(t *testing.T) {
	t.Parallel()
	_, _, a, b, directA, directB := relayedPair(t)
	befriend(t, a, b)
	conf := conferenceOf(t, a, "migrating", b)
	waitActive(t, conf, 20*time.Second, a, b)
	ga, gb := newGate(t, directA, 0), newGate(t, directB, 0)

	frames := 10000
	if raceBuild {
		frames = 1000 // race-built bots run several times slower
	}
	stop := make(chan struct{})
	sentC := a.streamN(conf, "stream", 0, stop, frames) // as fast as alice takes them
	time.Sleep(300 * time.Millisecond)                  // some of the stream goes over the relay
	ga.open(a.listenAddr())
	gb.open(b.listenAddr())
	onDirect := func(x, peer *bot) func() error {
		return func() error {
			if r := lastRoute(x.routeNotes(peer.key)); r.Route != "direct" || r.Switch != "" {
				return fmt.Errorf("last connection.route %+v", r)
			}
			return nil
		}
	}
	eventually(t, 60*time.Second, "alice's session to bob migrated to direct", onDirect(a, b))
	eventually(t, 20*time.Second, "bob's session to alice migrated to direct", onDirect(b, a))
	atSwitch := len(b.receivedFrom(a.key))
	sent := <-sentC // the stream goes on over the direct path
	close(stop)
	if len(sent) < frames {
		t.Logf("alice's stream ran out of time after %d of %d messages", len(sent), frames)
	}
	for _, x := range [][2]*bot{{a, b}, {b, a}} {
		notes := x[0].routeNotes(x[1].key)
		if !hasRouteSequence(notes, routeNote{Route: "relay"}, routeNote{Route: "relay", Switch: "switching"},
			routeNote{Route: "direct"}) {
			t.Fatalf("%s's connection.route about %s: %+v, want relay -> switching -> direct", x[0].name, x[1].name, notes)
		}
		if f := x[0].friend(x[1].key); f.Route != "direct" || f.Switch != "" {
			t.Fatalf("%s lists %s as %+v after the migration", x[0].name, x[1].name, f)
		}
	}
	checkExactlyOnce(t, b, a, sent)
	if atSwitch == 0 || atSwitch >= len(sent) {
		t.Fatalf("bob had %d of %d messages when the switch completed: the stream did not span it", atSwitch, len(sent))
	}
	t.Logf("%d messages streamed across the migration (%d before it completed)", len(sent), atSwitch)

	// The direct path dies; the relay still works.
	ga.shut()
	gb.shut()
	onRelay := func(x, peer *bot) func() error {
		return func() error {
			if r := lastRoute(x.routeNotes(peer.key)); r.Route != "relay" {
				return fmt.Errorf("last connection.route %+v", r)
			}
			return nil
		}
	}
	eventually(t, 30*time.Second, "alice back on the relay", onRelay(a, b))
	eventually(t, 30*time.Second, "bob back on the relay", onRelay(b, a))
	stop = make(chan struct{})
	sentC = a.stream(conf, "after", 5*time.Millisecond, stop)
	time.Sleep(200 * time.Millisecond)
	close(stop)
	after := <-sentC
	b.waitFor(20*time.Second, func() bool { return countFrom(b.notes, a.key) >= len(sent)+len(after) })
	checkExactlyOnce(t, b, a, append(sent, after...))
}

// checkExactlyOnce waits until recv got every text of sent from sender,
// and checks that each arrived exactly once, in order.
func checkExactlyOnce(t *testing.T, recv, sender *bot, sent []string) {
	t.Helper()
	if len(sent) == 0 {
		t.Fatal("nothing was sent")
	}
	recv.waitFor(30*time.Second, func() bool { return countFrom(recv.notes, sender.key) >= len(sent) })
	got := recv.receivedFrom(sender.key)
	if len(got) != len(sent) {
		t.Fatalf("%s got %d messages from %s, want %d", recv.name, len(got), sender.name, len(sent))
	}
	for i := range sent {
		if got[i] != sent[i] {
			t.Fatalf("%s: message %d from %s is %q, want %q", recv.name, i, sender.name, got[i], sent[i])
		}
	}
}

// TestRelayKilledMidMigration (issue 11 acceptance): the relay is killed
// while the session moves to a (slow) direct path, and alice is killed -9
// right after: the session ends up on the direct path, nothing alice had
// confirmed is lost, and after restarting alice no switch is left in
// progress, in friend.list or in either node's database.
func TestRelayKilledMidMigration(t *testing.T) {
	t.Parallel()
	r, tap, a, b, directA, directB := relayedPair(t)
	befriend(t, a, b)
	conf := conferenceOf(t, a, "cut mid-migration", b)
	waitActive(t, conf, 20*time.Second, a, b)
	ga, gb := newGate(t, directA, 0), newGate(t, directB, 0)

	stop := make(chan struct{})
	sentC := a.stream(conf, "before", 5*time.Millisecond, stop)
	time.Sleep(200 * time.Millisecond)
	// The cut-over marks the end of the old path on the relay: with each
	// chunk there waiting 1 s, the switch is still running when the
	// test sees it start.
	tap.slow(time.Second)
	ga.open(a.listenAddr())
	gb.open(b.listenAddr())
	switching := func(p json.RawMessage) bool {
		var n routeNote
		json.Unmarshal(p, &n)
		return n.Switch == "switching"
	}
	a.waitNote("connection.route", 60*time.Second, switching)
	// Freeze the cut-over (the relay path black-holes, nothing times out
	// yet), then SIGKILL alice and the relay back to back, before either
	// is reaped: alice dies inside her switch, bob loses the relay inside
	// his.
	tap.stall()
	a.cmd.Process.Signal(syscall.SIGKILL)
	r.cmd.Process.Signal(syscall.SIGKILL)
	r.kill()
	a.kill()
	close(stop)
	sent := <-sentC
	notesBefore := a.routeNotes(b.key)
	stderrBefore := a.stderr.String()

	// Alice restarts: she can reach bob only directly now.
	a.start()
	ga.shut()
	ga = newGate(t, directA, 0)
	ga.open(a.listenAddr())
	for _, x := range [][2]*bot{{a, b}, {b, a}} {
		x, peer := x[0], x[1]
		eventually(t, 60*time.Second, x.name+" on the direct path to "+peer.name, func() error {
			f := x.friend(peer.key)
			if f.Switch == "switching" {
				return fmt.Errorf("%s still shows a switch in progress: %+v", x.name, f)
			}
			if !f.Online || f.Route != "direct" {
				return fmt.Errorf("%+v", f)
			}
			return nil
		})
	}
	// Nothing alice confirmed before the kill is lost (history sync
	// fills in what was stored but not yet sent), and nothing is doubled.
	eventually(t, 60*time.Second, "bob holds every message alice confirmed", func() error {
		have := map[string]int{}
		for _, m := range b.history(conf) {
			if m.From == a.key {
				have[m.Text]++
			}
		}
		for _, text := range sent {
			if have[text] != 1 {
				return fmt.Errorf("%q held %d times (of %d sent)", text, have[text], len(sent))
			}
		}
		return nil
	})
	a.call("conference.send", map[string]any{"conference": conf, "text": "after the restart"}, nil)
	b.waitNote("conference.message", 20*time.Second, func(p json.RawMessage) bool {
		var m historyMsg
		json.Unmarshal(p, &m)
		return m.Text == "after the restart"
	})
	gb.shut()
	a.stop()
	b.stop()
	for _, x := range []*bot{a, b} {
		db, err := storage.Open(t.Context(), x.profile)
		if err != nil {
			t.Fatal(err)
		}
		routes, err := db.Routes(t.Context())
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, rt := range routes {
			if rt.Switch != "" {
				t.Fatalf("%s's database keeps a switch in progress: %+v", x.name, rt)
			}
		}
		t.Logf("%s's stored routes: %+v", x.name, routes)
	}
	// Alice died inside the switch; her restart abandoned it for good.
	if !strings.Contains(a.stderr.String(), "route switches abandoned at start") {
		t.Fatalf("alice's restart did not abandon the switch she died in; before the kill: %+v\n%s\nstderr:\n%s",
			notesBefore, tail(stderrBefore), tail(a.stderr.String()))
	}
}

// TestRelayDirectBlackholed (issue 11 acceptance): after the session
// migrated to the direct path, that path black-holes (no FIN, no RST,
// nothing crosses) while the relay still works: the session is back on
// the relay within the heartbeat bound (a bot's default: 5 s interval, 2
// misses) plus a dial, and messages flow again, exactly once, in order.
func TestRelayDirectBlackholed(t *testing.T) {
	t.Parallel()
	_, _, a, b, directA, directB := relayedPair(t)
	befriend(t, a, b)
	conf := conferenceOf(t, a, "black hole", b)
	waitActive(t, conf, 20*time.Second, a, b)
	ga, gb := newGate(t, directA, 0), newGate(t, directB, 0)
	ga.open(a.listenAddr())
	gb.open(b.listenAddr())
	for _, x := range [][2]*bot{{a, b}, {b, a}} {
		x, peer := x[0], x[1]
		eventually(t, 60*time.Second, x.name+" migrated to direct", func() error {
			if r := lastRoute(x.routeNotes(peer.key)); r.Route != "direct" || r.Switch != "" {
				return fmt.Errorf("last connection.route %+v", r)
			}
			return nil
		})
	}
	stop := make(chan struct{})
	sentC := a.stream(conf, "hole", 20*time.Millisecond, stop)
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	ga.stall()
	gb.stall()
	const bound = 12500*time.Millisecond + 10*time.Second // dead after 2 missed 5 s heartbeats (+ half), then a dial
	for _, x := range [][2]*bot{{a, b}, {b, a}} {
		x, peer := x[0], x[1]
		eventually(t, bound, x.name+" back on the relay", func() error {
			if f := x.friend(peer.key); !f.Online || f.Route != "relay" {
				return fmt.Errorf("%+v", f)
			}
			return nil
		})
	}
	t.Logf("back on the relay %v after the direct path black-holed", time.Since(start).Round(100*time.Millisecond))
	time.Sleep(300 * time.Millisecond)
	close(stop)
	sent := <-sentC
	checkExactlyOnce(t, b, a, sent)
}
