package main

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"confchat/storage"
)

// TestBinary builds the real binary and checks what a user sees from
// separate processes: a stable ID, and a clear error when another process
// holds the profile.
func TestBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "confchat")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	p := filepath.Join(t.TempDir(), "p")
	runBin := func() (string, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "id", "--profile", p)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return out.String(), errb.String(), err
	}
	out1, _, err := runBin()
	if err != nil {
		t.Fatal(err)
	}
	out2, _, err := runBin()
	if err != nil {
		t.Fatal(err)
	}
	if idLine(t, out1) != idLine(t, out2) {
		t.Fatal("ID differs between two runs")
	}

	db, err := storage.Open(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, errs, err := runBin()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("with profile held: err %v, want exit 1", err)
	}
	if !strings.Contains(errs, "in use by another confchat process") {
		t.Fatalf("stderr %q", errs)
	}
}
