package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"confchat/identity"
	"confchat/storage"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func idLine(t *testing.T, out string) identity.ID {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(l, "ID:"); ok {
			id, err := identity.ParseID(rest)
			if err != nil {
				t.Fatalf("printed ID does not parse: %v", err)
			}
			return id
		}
	}
	t.Fatalf("no ID line in %q", out)
	return identity.ID{}
}

func TestIDStableAndFlagsEitherSide(t *testing.T) {
	p := filepath.Join(t.TempDir(), "p")
	code, out1, errs := runCLI(t, "id", "--profile", p)
	if code != 0 {
		t.Fatalf("id: code %d, stderr %q", code, errs)
	}
	code, out2, _ := runCLI(t, "--profile", p, "id")
	if code != 0 {
		t.Fatal("flag before command failed")
	}
	if idLine(t, out1) != idLine(t, out2) {
		t.Fatal("ID changed between runs on one profile")
	}
	for _, want := range []string{"Public key:", "Profile:", p} {
		if !strings.Contains(out1, want) {
			t.Errorf("id output lacks %q: %q", want, out1)
		}
	}
}

func TestIDWhileProfileHeld(t *testing.T) {
	p := filepath.Join(t.TempDir(), "p")
	db, err := storage.Open(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	code, out, errs := runCLI(t, "id", "--profile", p)
	if code == 0 || out != "" {
		t.Fatalf("code %d, stdout %q: want failure", code, out)
	}
	if !strings.Contains(errs, "in use") || !strings.Contains(errs, p) {
		t.Fatalf("stderr %q does not say the profile is in use", errs)
	}
}

func TestUsageErrors(t *testing.T) {
	cases := [][]string{
		{"frob"},
		{"--bogus"},
		{"id", "--bogus"},
		{"id", "extra"},
		{"--listen", "nonsense", "id"},
		{"id", "--listen", "127.0.0.1:99999"},
		{"id", "--advertise", "127.0.0.1:1,:5"},
		{"id", "--advertise", "host:0"},
		{"id", "--relay", "x"},
		{"id", "--relay", "relay.example:443"},
		{"id", "--relay", strings.Repeat("0", 64) + "@relay.example:443"},
		{"id", "--relay", relayKeyHex + "@relay.example:0"},
		{"id", "--relay", relayKeyHex + "@:443"},
		{"id", "--relay", relayKeyHex},
		{"id", "--freeze-after", "1ms"},
		{"id", "--freeze-after", "soon"},
		{"id", "--name", "bad\x07name"},
		{"id", "--name", strings.Repeat("n", 129)},
		{"help", "frob"},
	}
	for _, args := range cases {
		code, out, errs := runCLI(t, append([]string{"--profile", t.TempDir()}, args...)...)
		if code != 2 {
			t.Errorf("%q: code %d, want 2", args, code)
		}
		if out != "" {
			t.Errorf("%q: wrote to stdout: %q", args, out)
		}
		if !strings.Contains(errs, "Usage") {
			t.Errorf("%q: stderr lacks usage: %q", args, errs)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"help", "id"}, {"id", "-h"}, {"version", "--help"}} {
		code, out, errs := runCLI(t, args...)
		if code != 0 || errs != "" || !strings.Contains(out, "Usage") {
			t.Errorf("%q: code %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
	_, out, _ := runCLI(t, "help")
	for _, f := range []string{"--profile", "--listen", "--advertise", "--relay", "--name", "--freeze-after"} {
		if !strings.Contains(out, f) {
			t.Errorf("help lacks %s", f)
		}
	}
}

// TestTUINeedsTerminal: a bare confchat (and confchat tui) without a
// terminal exits 2 with one line pointing at bot mode, and touches no
// profile.
func TestTUINeedsTerminal(t *testing.T) {
	p := filepath.Join(t.TempDir(), "p")
	for _, args := range [][]string{{"--profile", p}, {"tui", "--profile", p}} {
		code, out, errs := runCLI(t, args...)
		if code != 2 || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "confchat bot") {
			t.Errorf("%q: code %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("profile created without a terminal: %v", err)
	}
}

func TestLogLevelFlag(t *testing.T) {
	code, _, errs := runCLI(t, "--log-level", "loud", "version")
	if code != 2 || !strings.Contains(errs, "log-level") {
		t.Errorf("bad --log-level: code %d, stderr %q", code, errs)
	}
	if code, _, _ := runCLI(t, "--log-level", "debug", "version"); code != 0 {
		t.Errorf("--log-level debug refused")
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, "version")
	if code != 0 || !strings.HasPrefix(out, "confchat ") {
		t.Fatalf("version: %d %q", code, out)
	}
}

func TestValidFlagsAccepted(t *testing.T) {
	g := defaultGlobalFlags()
	g.profile = t.TempDir()
	g.listen = ":0"
	g.advertise = "127.0.0.1:4000, [::1]:4000"
	for _, r := range []string{relayKeyHex + "@relay.example:443", "relay:" + relayKeyHex + "@[::1]:7447",
		relayKeyHex + "@relay.example:443"} {
		if err := g.relays.Set(r); err != nil {
			t.Fatalf("--relay %s: %v", r, err)
		}
	}
	g.name = "Zoë 🎉"
	g.freezeAfter = 3 * time.Second
	if err := g.validate(); err != nil {
		t.Fatal(err)
	}
	if got := g.advertiseAddrs(); len(got) != 2 || got[1] != "[::1]:4000" {
		t.Fatalf("advertiseAddrs = %q", got)
	}
	cfg := g.nodeConfig(nil)
	if len(cfg.Relays) != 2 || cfg.Relays[1].HostPort != "[::1]:7447" || cfg.Relays[0].Key.String() != relayKeyHex {
		t.Fatalf("node.Config.Relays = %+v (the repeat is dropped)", cfg.Relays)
	}
}

// relayKeyHex is a valid public key in hex (a relay's, in flag tests).
var relayKeyHex = func() string {
	kp, err := identity.Generate(rand.Reader)
	if err != nil {
		panic(err)
	}
	return kp.Public().String()
}()
