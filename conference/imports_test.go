package conference_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The engine is sans-IO: no package under conference/ imports net, os,
// database/sql, netlayer or storage, and no non-test file calls time.Now.
func TestSansIO(t *testing.T) {
	forbidden := map[string]bool{
		"net": true, "os": true, "database/sql": true,
		"confchat/netlayer": true, "confchat/storage": true,
	}
	files := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		files++
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if forbidden[p] || strings.HasPrefix(p, "confchat/netlayer/") || strings.HasPrefix(p, "confchat/storage/") {
				t.Errorf("%s imports %s", path, p)
			}
		}
		if !strings.HasSuffix(path, "_test.go") {
			checkNoTimeNow(t, path, f)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 10 {
		t.Fatalf("walked only %d files", files)
	}
}

// The checker itself catches a renamed time import.
func TestSansIOCheckerCatchesTimeNow(t *testing.T) {
	src := "package x\nimport clock \"time\"\nfunc f() { _ = clock.Now() }\n"
	f, err := parser.ParseFile(token.NewFileSet(), "x.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !runsCheck(f) {
		t.Fatal("time.Now under another name was not caught")
	}
}

func runsCheck(f *ast.File) (found bool) {
	timeNowUses(f, func(string) { found = true })
	return found
}

func checkNoTimeNow(t *testing.T, path string, f *ast.File) {
	timeNowUses(f, func(name string) { t.Errorf("%s uses %s", path, name) })
}

func timeNowUses(f *ast.File, report func(string)) {
	timeName := ""
	for _, imp := range f.Imports {
		if imp.Path.Value == `"time"` {
			timeName = "time"
			if imp.Name != nil {
				timeName = imp.Name.Name
			}
		}
	}
	if timeName == "" {
		return
	}
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if id, ok := sel.X.(*ast.Ident); ok && id.Name == timeName && (sel.Sel.Name == "Now" || sel.Sel.Name == "Since" || sel.Sel.Name == "Until") {
			report(timeName + "." + sel.Sel.Name)
		}
		return true
	})
}
