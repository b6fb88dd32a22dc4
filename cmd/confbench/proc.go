package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// errExited is returned for calls to a bot whose process has ended.
var errExited = errors.New("bot exited")

// rpcError is a JSON-RPC error response.
type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *rpcError) Error() string { return fmt.Sprintf("rpc error %d: %s", e.Code, e.Message) }

// line is one JSON-RPC object a bot wrote.
type line struct {
	ID     *int            `json:"id"`
	Method string          `json:"method"`
	Params noteParams      `json:"params"` // decoded with the line: one pass per line
	Result json.RawMessage `json:"result"`
	Error  *rpcError       `json:"error"`
}

// reply is the outcome of one request.
type reply struct {
	result json.RawMessage
	err    error
}

// proc is one `confchat bot` process and its JSON-RPC client. Its
// notifications update its node state in the cluster (under c.mu).
type proc struct {
	c       *cluster
	idx     int
	name    string
	profile string
	listen  string // the address the bot listens on (behind its proxy)
	logPath string
	pprof   string // --pprof address, with -cpuprofile

	cmd  *exec.Cmd
	pid  int
	live atomic.Int64  // pid while the process runs, for the Pss sampler
	done chan struct{} // closed when the reader saw EOF

	wmu   sync.Mutex // serialises writes to stdin
	stdin io.WriteCloser

	mu      sync.Mutex // guards nextID, pending, exited
	nextID  int
	pending map[int]chan reply
	exited  bool

	key string // public key, from ready
	id  string // confchat ID, from ready

	st   *nodeState // guarded by c.mu
	cpu0 float64    // CPU seconds of earlier processes of this node (killed and restarted)
	rss  float64    // highest VmHWM seen of any process of this node, MiB
	pss  float64    // highest sampled Pss of any process of this node, MiB (guarded by c.mu)
	anon float64    // highest sampled Anonymous of any process of this node, MiB (guarded by c.mu)
}

// start runs the bot and waits for its ready notification.
func (p *proc) start(ctx context.Context, extra []string) error {
	args := append([]string{"bot", "--profile", p.profile, "--listen", p.listen, "--name", p.name,
		"--freeze-after", p.c.opts.freezeAfter.String(), "--accept-friends", "--auto-join"}, extra...)
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(p.c.bin, args...)
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	ready := make(chan line, 1)
	p.mu.Lock()
	p.pending, p.exited, p.stdin = map[int]chan reply{}, false, in
	p.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	p.cmd, p.pid, p.done = cmd, cmd.Process.Pid, make(chan struct{})
	p.live.Store(int64(p.pid))
	p.c.track(p)
	go p.read(out, ready)
	select {
	case r := <-ready:
		if r.Params.ID == "" || r.Params.PublicKey == "" {
			return fmt.Errorf("%s: ready without id or public_key", p.name)
		}
		p.id, p.key = r.Params.ID, r.Params.PublicKey
		return nil
	case <-p.done:
		return fmt.Errorf("%s exited before ready (log %s)", p.name, p.logPath)
	case <-time.After(30 * time.Second):
		return fmt.Errorf("%s: no ready within 30s", p.name)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// read dispatches every line the bot writes until EOF.
func (p *proc) read(out io.Reader, ready chan line) {
	defer close(p.done)
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	first := true
	for sc.Scan() {
		recv := time.Now()
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			// params of a shape noteParams does not fit (a field of
			// another type): keep the line, without them
			var raw struct {
				line
				Params json.RawMessage `json:"params"`
			}
			if json.Unmarshal(sc.Bytes(), &raw) != nil {
				continue
			}
			l = raw.line
		}
		switch {
		case l.ID != nil:
			p.deliver(*l.ID, l)
		case first && l.Method == "ready":
			first = false
			ready <- l
		case l.Method != "":
			p.c.note(p, l.Method, l.Params, recv)
		}
	}
	p.mu.Lock()
	p.exited = true
	for id, ch := range p.pending {
		ch <- reply{err: errExited}
		delete(p.pending, id)
	}
	p.mu.Unlock()
}

func (p *proc) deliver(id int, l line) {
	p.mu.Lock()
	ch := p.pending[id]
	delete(p.pending, id)
	p.mu.Unlock()
	if ch == nil {
		return
	}
	r := reply{result: l.Result}
	if l.Error != nil {
		r.err = l.Error
	}
	ch <- r
}

// send writes a request and returns the channel its reply arrives on.
func (p *proc) send(method string, params any) <-chan reply {
	ch := make(chan reply, 1)
	p.mu.Lock()
	if p.exited {
		p.mu.Unlock()
		ch <- reply{err: errExited}
		return ch
	}
	p.nextID++
	id := p.nextID
	p.pending[id] = ch
	p.mu.Unlock()
	req := map[string]any{"jsonrpc": "2.0", "id": id, "method": method}
	if params != nil {
		req["params"] = params
	}
	b, _ := json.Marshal(req)
	p.wmu.Lock()
	_, err := p.stdin.Write(append(b, '\n'))
	p.wmu.Unlock()
	if err != nil {
		p.mu.Lock()
		delete(p.pending, id)
		p.mu.Unlock()
		ch <- reply{err: fmt.Errorf("%s: write: %w", p.name, err)}
	}
	return ch
}

// call sends a request and waits (at most 30 s) for its result.
func (p *proc) call(ctx context.Context, method string, params, result any) error {
	return p.await(ctx, method, p.send(method, params), result)
}

func (p *proc) await(ctx context.Context, method string, ch <-chan reply, result any) error {
	select {
	case r := <-ch:
		if r.err != nil {
			return fmt.Errorf("%s: %s: %w", p.name, method, r.err)
		}
		if result != nil {
			return json.Unmarshal(r.result, result)
		}
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("%s: %s: no answer within 30s", p.name, method)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// livePID is the running process's pid, 0 when none; safe from any
// goroutine.
func (p *proc) livePID() int { return int(p.live.Load()) }

// signal sends sig to the bot's process group.
func (p *proc) signal(sig syscall.Signal) error {
	if p.pid == 0 {
		return errExited
	}
	return syscall.Kill(-p.pid, sig)
}

// kill ends the process (SIGKILL to its group), waits for it and keeps
// its CPU time and peak RSS for the totals.
func (p *proc) kill() {
	if p.cmd == nil || p.pid == 0 {
		return
	}
	p.sampleFinal()
	syscall.Kill(-p.pid, syscall.SIGCONT)
	syscall.Kill(-p.pid, syscall.SIGKILL)
	p.cmd.Wait()
	<-p.done
	p.c.untrack(p)
	p.pid = 0
	p.live.Store(0)
}

// sampleFinal folds the running process's CPU and RSS into the node's
// totals; called right before the process dies.
func (p *proc) sampleFinal() {
	s, err := readProc(p.pid)
	if err != nil {
		return
	}
	p.cpu0 += s.cpu
	p.rss = max(p.rss, s.hwmMiB)
}

// usage returns the CPU seconds used by this node so far (all its
// processes) and its peak RSS in MiB.
func (p *proc) usage() (cpu, rss float64) {
	cpu, rss = p.cpu0, p.rss
	if p.pid != 0 {
		if s, err := readProc(p.pid); err == nil {
			cpu += s.cpu
			rss = max(rss, s.hwmMiB)
		}
	}
	return cpu, rss
}

func nodeDir(root string, i int) string { return filepath.Join(root, fmt.Sprintf("node%02d", i)) }
