// Package srcwatch is for tests that build the confchat binary with `go
// build` and run it. The go test cache keys a result on the packages the
// test imports and on the files the test process itself opens, not on what
// a child `go build` reads; without help, a change in a package the test
// does not import (the conference engine, for the end-to-end tests) would
// replay a stale "ok". Open tells the cache about every source file.
package srcwatch

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Open opens and closes every file under root that a build of the module
// reads (.go and .sql files, go.mod, go.sum), skipping hidden directories
// and testdata, and returns how many it opened.
func Open(root string) (int, error) {
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, ".sql") && name != "go.mod" && name != "go.sum" {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		n++
		return f.Close()
	})
	return n, err
}

// Once returns a func that runs Open(root) on its first call only. Call
// it where a test first uses the binary: inside a test, since the test
// log that the cache reads starts with the first test, after TestMain's
// own code. A failure is reported on stderr; the tests still run, only
// their cached results could go stale.
func Once(root string) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			if _, err := Open(root); err != nil {
				fmt.Fprintln(os.Stderr, "srcwatch:", err)
			}
		})
	}
}
