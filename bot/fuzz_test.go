package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// checkOutput asserts every output line is a JSON-RPC 2.0 response (or a
// batch of them) and returns how many responses there were.
func checkOutput(t *testing.T, out []byte) int {
	t.Helper()
	n := 0
	for _, l := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		var batch []map[string]any
		if l[0] == '[' {
			if err := json.Unmarshal(l, &batch); err != nil || len(batch) == 0 {
				t.Fatalf("bad batch output %q: %v", l, err)
			}
		} else {
			var one map[string]any
			if err := json.Unmarshal(l, &one); err != nil {
				t.Fatalf("output line is not a JSON object: %q", l)
			}
			batch = append(batch, one)
		}
		for _, r := range batch {
			_, hasID := r["id"]
			_, hasResult := r["result"]
			e, hasErr := r["error"]
			if r["jsonrpc"] != "2.0" || !hasID || hasResult == hasErr {
				t.Fatalf("bad response %v", r)
			}
			if hasErr {
				em, ok := e.(map[string]any)
				if _, isNum := em["code"].(float64); !ok || !isNum || em["message"] == "" {
					t.Fatalf("bad error object %v", e)
				}
			}
			n++
		}
	}
	return n
}

// FuzzConn feeds arbitrary input streams to a connection: it never
// panics or stops early, and writes only well-formed responses, at most
// one line per input line.
func FuzzConn(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"echo","params":{"text":"hi"}}` + "\n",
		`[{"jsonrpc":"2.0","id":1,"method":"echo","params":{"text":"a"}},{"jsonrpc":"2.0","method":"nothing"}]` + "\n",
		"garbage\n\n{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"boom\"}\r\n",
		`{"jsonrpc":"2.0","id":null,"method":"fail"}`,
		`[]`, `[1,2]`, `{"jsonrpc":"2.0","id":{},"method":"echo"}`,
		`[{"jsonrpc":"2.0","id":1,"method":"echo"},{}]`, "\xff\n{\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		c := NewConn(testMux(), bytes.NewReader(in), &out)
		if err := c.Serve(context.Background()); err != nil {
			t.Fatalf("Serve: %v", err)
		}
		lines := bytes.Count(in, []byte("\n")) + 1
		if got := bytes.Count(out.Bytes(), []byte("\n")); got > lines {
			t.Fatalf("%d output lines for %d input lines", got, lines)
		}
		checkOutput(t, out.Bytes())
	})
}

// FuzzServerRequests sends arbitrary request lines to every method of a
// real node's bot server (but friend.add, which would dial the address it
// is given, and shutdown): the bot answers each with a well-formed response
// and keeps serving.
func FuzzServerRequests(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"self.get"}`,
		`{"jsonrpc":"2.0","id":1,"method":"self.set_nospam","params":{"nospam":"0badf00d"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"conference.create","params":{"title":"t"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"conference.history","params":{"conference":"` + strings.Repeat("0", 66) + `","limit":-1}}`,
		`{"jsonrpc":"2.0","id":1,"method":"conference.send","params":{"conference":"zz","text":""}}`,
		`{"jsonrpc":"2.0","id":1,"method":"friend.accept","params":{"public_key":"` + strings.Repeat("a", 64) + `"}}`,
		`{"jsonrpc":"2.0","id":2,"method":"conference.list"}`,
	} {
		f.Add(s)
	}
	n := openTestNode(f)
	srv := New(n, Options{})
	mux := NewMux()
	for name, h := range srv.mux.handlers {
		if name != "friend.add" && name != "shutdown" {
			mux.Handle(name, h)
		}
	}
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "\n\r") {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var out bytes.Buffer
		c := NewConn(mux, strings.NewReader(line+"\n"+`{"jsonrpc":"2.0","id":"after","method":"self.get"}`+"\n"), &out)
		if err := c.Serve(ctx); err != nil {
			t.Fatalf("Serve: %v", err)
		}
		if ctx.Err() != nil {
			t.Fatal("a request took over 10 s")
		}
		if checkOutput(t, out.Bytes()) < 1 || !bytes.Contains(out.Bytes(), []byte(`"id":"after","result"`)) {
			t.Fatalf("the bot stopped answering after %q: %s", line, out.Bytes())
		}
	})
}
