package relay

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadOrCreateKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "profile")
	kp, warn, err := LoadOrCreateKey(dir, rand.Reader)
	if err != nil || len(warn) != 0 {
		t.Fatal(err, warn)
	}
	path := filepath.Join(dir, KeyFile)
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != want {
			t.Fatalf("%s: mode %v, want %v (%v)", p, fi.Mode().Perm(), want, err)
		}
	}
	again, _, err := LoadOrCreateKey(dir, rand.Reader)
	if err != nil || again.Public() != kp.Public() {
		t.Fatalf("reload gave another key: %v", err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, warn, err = LoadOrCreateKey(dir, rand.Reader)
	if err != nil || len(warn) != 1 {
		t.Fatalf("open mode: %v %v", warn, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v after fix", fi.Mode().Perm())
	}
	if err := os.WriteFile(path, []byte("not hex\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateKey(dir, rand.Reader); err == nil {
		t.Fatal("a corrupt key file must be an error, not a new key")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("profile holds %d files, want only the key", len(entries))
	}
}
