package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestTmuxRealTerminal drives the real chat in a real terminal (tmux,
// 120x40) against a real `confchat bot` on loopback, as a person would:
// /add the bot, /create, /invite it; the bot's message appears on screen;
// a typed line reaches the bot; /quit; a restart on the same profile
// shows the conference and its last messages on its first screen.
func TestTmuxRealTerminal(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (.ci/run installs it)")
	}
	if testing.Short() {
		t.Skip("starts processes in tmux")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "confchat")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	bot := startBot(t, bin, filepath.Join(dir, "bot"))
	tm := newTmux(t, dir)
	profile := filepath.Join(dir, "alice")
	tuiCmd := fmt.Sprintf("%s --profile %s --name alice --listen 127.0.0.1:0 --no-dht; echo confchat exited $?; sleep 600", bin, profile)

	tm.start(tuiCmd)
	tm.waitFor("Welcome to confchat", 20*time.Second)
	tm.typeLine(fmt.Sprintf("/add %s %s hello bot", bot.id, bot.addr))
	tm.waitFor("is now your friend", 30*time.Second)
	tm.typeLine("/create Tmux room")
	tm.waitFor("conference created", 10*time.Second)
	tm.typeLine("/invite rpcbot")
	conf := bot.waitNote(t, "conference.joined", 30*time.Second)["conference"].(string)
	tm.waitFor("rpcbot joined", 30*time.Second)

	bot.call(t, "conference.send", map[string]any{"conference": conf, "text": "hello from the bot"})
	tm.waitFor("<rpcbot> hello from the bot", 20*time.Second)

	tm.typeLine("hello bot, from the terminal")
	for deadline := time.Now().Add(20 * time.Second); ; {
		m := bot.waitNote(t, "conference.message", time.Until(deadline))
		if m["text"] == "hello bot, from the terminal" {
			break
		}
	}

	tm.typeLine("/quit")
	tm.waitFor("confchat exited 0", 20*time.Second)
	tm.kill()

	// Restart on the same profile: the first screen has the conference
	// and its last messages, before any peer reconnects.
	tm.start(tuiCmd)
	first := tm.waitFor("Tmux room", 20*time.Second)
	for _, want := range []string{"<rpcbot> hello from the bot", "hello bot, from the terminal"} {
		if !strings.Contains(first, want) {
			t.Errorf("first screen after restart lacks %q:\n%s", want, first)
		}
	}

	// A second chat on the profile in use: one line, exit 1, no screen.
	tm.run("new-session", "-d", "-s", "second", "-x", "120", "-y", "40",
		fmt.Sprintf("%s --profile %s --no-dht; echo second exited $?; sleep 600", bin, profile))
	var second string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if second = tm.run("capture-pane", "-p", "-t", "second"); strings.Contains(second, "second exited") {
			break
		}
	}
	if !strings.Contains(second, "in use by another confchat process") || !strings.Contains(second, "second exited 1") ||
		strings.Count(strings.TrimSpace(second), "\n") != 1 {
		t.Errorf("second chat on a held profile showed:\n%s", second)
	}

	tm.press("C-c")
	tm.press("C-c")
	tm.waitFor("confchat exited 0", 20*time.Second)
	if log, err := os.ReadFile(filepath.Join(profile, "confchat.log")); err != nil || !strings.Contains(string(log), "tui started") {
		t.Errorf("confchat.log in the profile: %v %q", err, log)
	}
}

// tmuxServer is a private tmux server (its own socket) for one test.
type tmuxServer struct {
	t      *testing.T
	socket string
}

func newTmux(t *testing.T, dir string) *tmuxServer {
	tm := &tmuxServer{t: t, socket: filepath.Join(dir, "tmux.sock")}
	t.Cleanup(func() { exec.Command("tmux", "-S", tm.socket, "kill-server").Run() })
	// A session that lives as long as the test, so the server does not
	// exit (and race the next new-session) when the chat's session ends.
	tm.run("new-session", "-d", "-s", "keep", "sleep 600")
	return tm
}

func (tm *tmuxServer) run(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", tm.socket}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %q: %v\n%s", args, err, out)
	}
	return string(out)
}

func (tm *tmuxServer) start(cmd string) {
	tm.run("new-session", "-d", "-s", "chat", "-x", "120", "-y", "40", "-e", "TERM=xterm-256color", cmd)
}

func (tm *tmuxServer) kill() { tm.run("kill-session", "-t", "chat") }

func (tm *tmuxServer) capture() string { return tm.run("capture-pane", "-p", "-t", "chat") }

// typeLine types text literally, then Enter.
func (tm *tmuxServer) typeLine(s string) {
	tm.run("send-keys", "-t", "chat", "-l", s)
	tm.run("send-keys", "-t", "chat", "Enter")
}

func (tm *tmuxServer) press(k string) { tm.run("send-keys", "-t", "chat", k) }

// waitFor polls the screen until it shows want; it returns that screen.
func (tm *tmuxServer) waitFor(want string, d time.Duration) string {
	tm.t.Helper()
	deadline := time.Now().Add(d)
	var s string
	for time.Now().Before(deadline) {
		s = tm.capture()
		if strings.Contains(s, want) {
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
	tm.t.Fatalf("screen never showed %q; last screen:\n%s", want, s)
	return ""
}

// rpcBot is a `confchat bot` process spoken to over stdin/stdout.
type rpcBot struct {
	in    io.WriteCloser
	mu    sync.Mutex
	notes chan map[string]any // method + params of notifications
	resp  chan map[string]any
	next  int
	id    string
	addr  string
}

func startBot(t *testing.T, bin, profile string) *rpcBot {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "bot", "--profile", profile, "--name", "rpcbot",
		"--listen", "127.0.0.1:0", "--no-dht", "--accept-friends", "--auto-join")
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &rpcBot{in: in, notes: make(chan map[string]any, 256), resp: make(chan map[string]any, 16)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) != nil {
				continue
			}
			if _, ok := m["method"]; ok {
				p, _ := m["params"].(map[string]any)
				if p == nil {
					p = map[string]any{}
				}
				p["_method"] = m["method"]
				select {
				case b.notes <- p:
				default:
				}
			} else {
				b.resp <- m
			}
		}
	}()
	t.Cleanup(func() {
		in.Close()
		waited := make(chan struct{})
		go func() { cmd.Wait(); close(waited) }()
		select {
		case <-waited:
		case <-time.After(15 * time.Second):
			cancel()
			<-waited
		}
		cancel()
		<-done
	})
	ready := b.waitNote(t, "ready", 20*time.Second)
	b.id = ready["id"].(string)
	b.addr = ready["addresses"].([]any)[0].(string)
	return b
}

// waitNote returns the next notification named method, skipping others.
func (b *rpcBot) waitNote(t *testing.T, method string, d time.Duration) map[string]any {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case n := <-b.notes:
			if n["_method"] == method {
				return n
			}
		case <-timer.C:
			t.Fatalf("bot: no %s notification within %v", method, d)
		}
	}
}

// call makes one request and fails the test on an error response.
func (b *rpcBot) call(t *testing.T, method string, params map[string]any) map[string]any {
	t.Helper()
	b.mu.Lock()
	b.next++
	id := b.next
	b.mu.Unlock()
	line, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if _, err := b.in.Write(append(line, '\n')); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-b.resp:
		if e, ok := r["error"]; ok {
			t.Fatalf("%s: %v", method, e)
		}
		res, _ := r["result"].(map[string]any)
		return res
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: no response", method)
	}
	return nil
}
