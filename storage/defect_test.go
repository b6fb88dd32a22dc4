package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Defect 15: a 0-byte confchat.db silently became a brand-new identity.
func TestDefect15EmptyDatabaseRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "profile")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, DBFile)
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := Open(context.Background(), dir)
	if err == nil {
		db.Close()
		t.Fatal("a 0-byte database was opened")
	}
	if !errors.Is(err, ErrEmptyDatabase) || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want ErrEmptyDatabase naming %s", err, path)
	}
	st, err := os.Stat(path)
	if err != nil || st.Size() != 0 {
		t.Fatalf("database after refusal: %v, %v", st, err)
	}
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if _, err := os.Stat(path + suffix); !os.IsNotExist(err) {
			t.Errorf("%s created: %v", DBFile+suffix, err)
		}
	}
}

// Defect 15: a database with mode 0644 or a profile directory with mode
// 0777 was used as is.
func TestDefect15LooseModesFixed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "profile")
	db, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if w := db.Warnings(); len(w) != 0 {
		t.Fatalf("warnings on a new profile: %q", w)
	}
	db.Close()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, DBFile), 0o644); err != nil {
		t.Fatal(err)
	}
	db, err = Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w := strings.Join(db.Warnings(), "\n")
	if !strings.Contains(w, "0777") || !strings.Contains(w, "0644") {
		t.Errorf("warnings = %q, want both loose modes named", w)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, db.Path(): 0o600} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s mode = %v, want %v", path, st.Mode().Perm(), want)
		}
	}
}
