package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"confchat/internal/srcwatch"
)

// bin is the confchat binary built once for all tests; tests use builtBinary().
var bin string

// trackSources opens the module's sources for the go test cache: the
// binary is built by a child `go build`, so without it a change to a
// package this one does not import would replay a stale result.
var trackSources = srcwatch.Once("..")

// builtBinary returns bin; tests call it, not bin, so trackSources runs.
func builtBinary() string {
	trackSources()
	return bin
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "confchat-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "confchat")
	args := []string{"build", "-o", bin}
	if raceBuild {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "confchat/cmd/confchat")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// rpcError is a JSON-RPC error object.
type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *rpcError) Error() string { return fmt.Sprintf("rpc error %d: %s", e.Code, e.Message) }

type message struct {
	ID     *int            `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *rpcError       `json:"error"`
	// At is when the test read the line (for latency measurements).
	At time.Time `json:"-"`
}

// bot is one running `confchat bot` process.
type bot struct {
	t       testing.TB
	name    string
	profile string
	args    []string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stderr  *lockedBuffer

	mu      sync.Mutex
	cond    *sync.Cond
	nextID  int
	replies map[int]message
	notes   []message // every notification so far
	exited  bool
	// readDone is closed when the current process's reader has stopped.
	readDone chan struct{}

	// From the ready notification.
	id        string
	key       string
	addresses []string
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startBot starts a bot on a new (or given) profile and waits for ready.
func startBot(t testing.TB, name, profile string, extra ...string) *bot {
	t.Helper()
	if profile == "" {
		profile = filepath.Join(t.TempDir(), name)
	}
	b := &bot{t: t, name: name, profile: profile,
		args: append([]string{"bot", "--profile", profile, "--listen", "127.0.0.1:0", "--name", name}, dhtArgs(extra)...)}
	b.start()
	t.Cleanup(b.kill)
	return b
}

// dhtArgs adds --no-dht unless the test chose DHT flags: a test bot never
// talks to the public DHT (e2e/dht_test.go points bots at a private one).
func dhtArgs(extra []string) []string {
	for _, a := range extra {
		if strings.HasPrefix(a, "--dht") || strings.HasPrefix(a, "--no-dht") {
			return extra
		}
	}
	return append(append([]string(nil), extra...), "--no-dht")
}

func (b *bot) start() {
	b.t.Helper()
	b.cmd = exec.Command(builtBinary(), b.args...)
	b.stderr = &lockedBuffer{}
	b.cmd.Stderr = b.stderr
	var err error
	if b.stdin, err = b.cmd.StdinPipe(); err != nil {
		b.t.Fatal(err)
	}
	out, err := b.cmd.StdoutPipe()
	if err != nil {
		b.t.Fatal(err)
	}
	if b.cond == nil {
		b.cond = sync.NewCond(&b.mu)
	}
	b.mu.Lock()
	b.replies = map[int]message{}
	b.notes = nil
	b.exited = false
	b.mu.Unlock()
	if err := b.cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	b.readDone = make(chan struct{})
	go b.read(out, b.readDone)
	ready := b.waitNote("ready", 20*time.Second, nil)
	var r struct {
		ID        string   `json:"id"`
		PublicKey string   `json:"public_key"`
		Addresses []string `json:"addresses"`
	}
	if err := json.Unmarshal(ready.Params, &r); err != nil {
		b.t.Fatalf("%s: ready: %v", b.name, err)
	}
	b.id, b.key, b.addresses = r.ID, r.PublicKey, r.Addresses
}

func (b *bot) read(out io.Reader, done chan struct{}) {
	defer close(done)
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var m message
		m.At = time.Now()
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			b.t.Errorf("%s: stdout line is not JSON-RPC: %q", b.name, sc.Text())
			continue
		}
		b.mu.Lock()
		if m.ID != nil {
			b.replies[*m.ID] = m
		} else if m.Method == "" { // an error for a request whose id was unreadable
			b.replies[-1] = m
		} else {
			b.notes = append(b.notes, m)
		}
		b.cond.Broadcast()
		b.mu.Unlock()
	}
	b.mu.Lock()
	b.exited = true
	b.cond.Broadcast()
	b.mu.Unlock()
}

// waitFor blocks until cond (called with b.mu held) is true or timeout.
func (b *bot) waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() {
		b.mu.Lock()
		b.cond.Broadcast()
		b.mu.Unlock()
	})
	defer timer.Stop()
	b.mu.Lock()
	defer b.mu.Unlock()
	for !cond() {
		if b.exited || time.Now().After(deadline) {
			return cond()
		}
		b.cond.Wait()
	}
	return true
}

// call sends a request and returns its result, failing the test on an
// error response.
func (b *bot) call(method string, params any, result any) {
	b.t.Helper()
	if err := b.try(method, params, result); err != nil {
		b.t.Fatalf("%s: %s: %v\nstderr:\n%s", b.name, method, err, tail(b.stderr.String()))
	}
}

// try sends a request and returns the error response, if any.
func (b *bot) try(method string, params any, result any) error {
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	b.mu.Unlock()
	req := map[string]any{"jsonrpc": "2.0", "id": id, "method": method}
	if params != nil {
		req["params"] = params
	}
	line, _ := json.Marshal(req)
	return b.raw(string(line), id, result)
}

// raw writes a line and waits for the response with id.
func (b *bot) raw(line string, id int, result any) error {
	if _, err := io.WriteString(b.stdin, line+"\n"); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	var m message
	ok := b.waitFor(30*time.Second, func() bool {
		var ok bool
		m, ok = b.replies[id]
		return ok
	})
	if !ok {
		return fmt.Errorf("no response to id %d", id)
	}
	if m.Error != nil {
		return m.Error
	}
	if result != nil {
		return json.Unmarshal(m.Result, result)
	}
	return nil
}

// waitNote waits for a notification of method whose params satisfy match
// (nil matches any) and returns it.
func (b *bot) waitNote(method string, timeout time.Duration, match func(json.RawMessage) bool) message {
	b.t.Helper()
	var found message
	ok := b.waitFor(timeout, func() bool {
		for _, m := range b.notes {
			if m.Method == method && (match == nil || match(m.Params)) {
				found = m
				return true
			}
		}
		return false
	})
	if !ok {
		b.t.Fatalf("%s: no %s notification within %v\nstderr:\n%s", b.name, method, timeout, tail(b.stderr.String()))
	}
	return found
}

// notesOf returns the params of every notification of method so far.
func (b *bot) notesOf(method string) []json.RawMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []json.RawMessage
	for _, m := range b.notes {
		if m.Method == method {
			out = append(out, m.Params)
		}
	}
	return out
}

func (b *bot) signal(sig syscall.Signal) {
	if err := b.cmd.Process.Signal(sig); err != nil {
		b.t.Fatalf("%s: signal %v: %v", b.name, sig, err)
	}
}

// kill ends the process with SIGKILL (idempotent).
func (b *bot) kill() {
	if b.cmd == nil || b.cmd.Process == nil {
		return
	}
	if b.cmd.ProcessState != nil { // already reaped
		<-b.readDone
		return
	}
	b.cmd.Process.Signal(syscall.SIGCONT)
	b.cmd.Process.Kill()
	b.cmd.Wait()
	<-b.readDone
}

// stop closes stdin and waits for a clean exit.
func (b *bot) stop() {
	b.t.Helper()
	b.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- b.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			b.t.Errorf("%s: exit: %v\nstderr:\n%s", b.name, err, tail(b.stderr.String()))
		}
	case <-time.After(20 * time.Second):
		b.cmd.Process.Kill()
		b.t.Errorf("%s: did not exit after EOF", b.name)
	}
}

func tail(s string) string {
	lines := strings.Split(s, "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

// eventually polls f every 50ms until it returns nil or timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
