package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"confchat/relay"
)

func TestRelayCommandPrintsAddressAndKeepsKey(t *testing.T) {
	profile := t.TempDir()
	var first relay.Addr
	for i := range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		pr, pw := io.Pipe()
		var stderr bytes.Buffer
		done := make(chan int, 1)
		go func() {
			done <- run(ctx, []string{"relay", "--listen", "127.0.0.1:0", "--profile", profile}, strings.NewReader(""), pw, &stderr)
			pw.Close()
		}()
		line, err := bufio.NewReader(pr).ReadString('\n')
		if err != nil {
			cancel()
			t.Fatalf("read address: %v", err)
		}
		a, err := relay.ParseAddr(strings.TrimSpace(line))
		if err != nil || strings.HasPrefix(line, relay.AddrPrefix) || len(strings.Split(line, "@")[0]) != 64 {
			cancel()
			t.Fatalf("printed %q: %v", line, err)
		}
		if i == 0 {
			first = a
		} else if a.Key != first.Key {
			t.Fatal("the relay key changed across restarts")
		}
		go io.Copy(io.Discard, pr)
		cancel() // as SIGTERM does
		if code := <-done; code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		if !strings.Contains(stderr.String(), "relay stats clients=0") {
			t.Fatalf("no final stats line: %s", stderr.String())
		}
	}
}

func TestRelayCommandNeedsListen(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"relay", "--profile", t.TempDir()}, strings.NewReader(""), &stdout, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "relay needs --listen") || stdout.Len() != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
}
