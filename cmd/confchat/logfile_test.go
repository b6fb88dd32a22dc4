package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestCappedLogRotates: the log never grows past its cap; the older part
// moves to .1 and the one before that is dropped.
func TestCappedLogRotates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "confchat.log")
	l, err := openCappedLog(path, 100)
	if err != nil {
		t.Fatal(err)
	}
	line := bytes.Repeat([]byte("x"), 39)
	line = append(line, '\n')
	for range 10 {
		if _, err := l.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	for _, p := range []string{path, path + ".1"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > 100 {
			t.Errorf("%s is %d bytes, cap 100", p, st.Size())
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v", p, st.Mode().Perm())
		}
	}
	if _, err := l.Write(line); err == nil {
		t.Error("write after close succeeded")
	}
	// Reopening a full log rotates it first.
	big := bytes.Repeat([]byte("y"), 200)
	os.WriteFile(path, big, 0o600)
	l2, err := openCappedLog(path, 100)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if st, _ := os.Stat(path); st.Size() != 0 {
		t.Errorf("full log not rotated on open: %d bytes", st.Size())
	}
}
