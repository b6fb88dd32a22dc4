package bot

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestDefect12SocketPrivateFromStart starts the socket server repeatedly
// under a umask of 0 while a watcher stats the socket path as fast as it
// can: the path must never show a socket that group or others may open.
// Before the fix the socket was bound with the umask's mode and chmod-ed
// afterwards, and the watcher saw it world-writable.
func TestDefect12SocketPrivateFromStart(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := t.TempDir()
	path := filepath.Join(dir, "bot.sock")
	srv := New(nil, Options{})

	var loose atomic.Int64
	var seen atomic.Int64
	watchCtx, stopWatch := context.WithCancel(context.Background())
	var watched sync.WaitGroup
	watched.Add(1)
	go func() {
		defer watched.Done()
		for watchCtx.Err() == nil {
			st, err := os.Lstat(path)
			if err != nil || st.Mode()&os.ModeSocket == 0 {
				continue
			}
			seen.Add(1)
			if st.Mode().Perm()&0o077 != 0 {
				loose.Add(1)
			}
		}
	}()

	const starts = 40
	for i := range starts {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.ServeUnix(ctx, path) }()
		waitFor(t, func() bool { st, err := os.Lstat(path); return err == nil && st.Mode()&os.ModeSocket != 0 })
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("start %d: ServeUnix: %v", i, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("start %d: ServeUnix did not stop", i)
		}
		if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("start %d: socket file left behind: %v", i, err)
		}
	}
	stopWatch()
	watched.Wait()
	if n := loose.Load(); n > 0 {
		t.Fatalf("the socket was reachable by other users %d times (of %d observations) in %d starts", n, seen.Load(), starts)
	}
	if seen.Load() == 0 {
		t.Fatal("the watcher never saw the socket")
	}
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != 0 {
		t.Fatalf("directory not left clean: %v %v", ents, err)
	}
}

func TestServeUnixRefusesLiveSocketAndOtherFiles(t *testing.T) {
	dir := t.TempDir()
	srv := New(nil, Options{})

	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := srv.ServeUnix(context.Background(), file); !errors.Is(err, ErrSocketNotOurs) {
		t.Fatalf("regular file: err = %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep me" {
		t.Fatal("regular file was replaced")
	}

	live := filepath.Join(dir, "live.sock")
	other, err := net.Listen("unix", live)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	go func() {
		for {
			c, err := other.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if err := srv.ServeUnix(context.Background(), live); !errors.Is(err, ErrSocketInUse) {
		t.Fatalf("live socket: err = %v", err)
	}

	stale := filepath.Join(dir, "stale.sock")
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeUnix(ctx, stale) }()
	waitFor(t, func() bool {
		st, err := os.Lstat(stale)
		return err == nil && st.Mode().Perm() == 0o600
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("stale socket: %v", err)
	}
}

// waitFor polls cond for up to 10 s (bounded; the condition is a local
// file appearing, not a timing target).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10 s")
		}
		time.Sleep(100 * time.Microsecond)
	}
}
