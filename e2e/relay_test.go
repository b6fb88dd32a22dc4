package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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
	r.cmd = exec.Command(bin, "relay", "--listen", "127.0.0.1:0", "--profile", filepath.Join(t.TempDir(), "relay"))
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

	mu    sync.Mutex
	rec   bytes.Buffer
	total int64
	conns map[net.Conn]bool
	wg    sync.WaitGroup
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
	go func() { io.Copy(u, io.TeeReader(c, p)); u.Close(); done <- struct{}{} }()
	go func() { io.Copy(c, io.TeeReader(u, p)); c.Close(); done <- struct{}{} }()
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
