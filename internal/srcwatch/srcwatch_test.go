package srcwatch

import (
	"os"
	"path/filepath"
	"testing"
)

func TestOpenCountsBuildInputsOnly(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{
		"go.mod", "go.sum", "a.go", "a_test.go", "storage/migrations/0001.sql", "deep/er/b.go", // opened
		"README.md", "deep/notes.txt", ".git/x.go", "pkg/testdata/c.go", ".hidden/d.go", // not
	} {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	n, err := Open(root)
	if err != nil || n != 6 {
		t.Fatalf("opened %d files (%v), want 6", n, err)
	}
	if _, err := Open(filepath.Join(root, "missing")); err == nil {
		t.Fatal("Open of a missing root did not fail")
	}
}
