package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBotSocketUnservableFailsStart: a --socket the bot cannot serve (a
// regular file there, or a socket another process serves) is a startup
// failure: one line on stderr, exit 1, nothing on stdout (no ready), and
// the file at the path left alone.
func TestBotSocketUnservableFailsStart(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	live := filepath.Join(dir, "live.sock")
	other, err := net.Listen("unix", live)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	go func() { // the other process answers; it never speaks
		for {
			c, err := other.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	for _, tc := range []struct{ path, want string }{
		{file, "is not a socket"},
		{live, "another process is serving that socket"},
	} {
		code, stdout, stderr := runCLI(t, "bot", "--profile", filepath.Join(dir, "p"), "--listen", "127.0.0.1:0",
			"--no-dht", "--no-portmap", "--socket", tc.path)
		if code != 1 || stdout != "" {
			t.Errorf("%s: code %d, stdout %q; want 1 and nothing", tc.path, code, stdout)
		}
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], tc.want) || !strings.Contains(lines[0], tc.path) {
			t.Errorf("%s: stderr %q, want one line saying %q", tc.path, stderr, tc.want)
		}
	}
	if b, _ := os.ReadFile(file); string(b) != "keep me" {
		t.Fatal("the regular file was replaced")
	}
	if st, err := os.Lstat(live); err != nil || st.Mode()&os.ModeSocket == 0 {
		t.Fatalf("the live socket was touched: %v", err)
	}
}
