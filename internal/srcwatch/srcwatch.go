// Package srcwatch is for tests that build the confchat binary with `go
// build` and run it. The go test cache keys a result on the packages the
// test imports and on the files the test process itself opens, not on what
// a child `go build` reads; without help, a change in a package the test
// does not import (the conference engine, for the end-to-end tests) would
// replay a stale "ok". Open tells the cache about every source file.
package srcwatch

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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
