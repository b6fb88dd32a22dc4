package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

type echoParams struct {
	Text string `json:"text"`
	N    int    `json:"n,omitempty"`
}

func testMux() *Mux {
	m := NewMux()
	m.Handle("echo", func(_ context.Context, p json.RawMessage) (any, error) {
		var ep echoParams
		if err := DecodeParams(p, &ep); err != nil {
			return nil, err
		}
		if ep.Text == "" {
			return nil, Errorf(CodeInvalidParams, "invalid params: text is required")
		}
		return map[string]string{"text": ep.Text}, nil
	})
	m.Handle("fail", func(context.Context, json.RawMessage) (any, error) {
		return nil, Errorf(1001, "unknown conference")
	})
	m.Handle("boom", func(context.Context, json.RawMessage) (any, error) {
		return nil, errors.New("disk on fire")
	})
	m.Handle("nothing", func(context.Context, json.RawMessage) (any, error) { return nil, nil })
	return m
}

// serve runs input through a Conn and returns the decoded output lines.
func serve(t *testing.T, input string) []map[string]any {
	t.Helper()
	var out bytes.Buffer
	c := NewConn(testMux(), strings.NewReader(input), &out)
	if err := c.Serve(context.Background()); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if l == "" {
			continue
		}
		var v any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("output line is not JSON: %q", l)
		}
		switch v := v.(type) {
		case map[string]any:
			lines = append(lines, v)
		case []any:
			for _, x := range v {
				lines = append(lines, x.(map[string]any))
			}
		}
	}
	return lines
}

func errCode(t *testing.T, m map[string]any) int {
	t.Helper()
	e, ok := m["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error in %v", m)
	}
	return int(e["code"].(float64))
}

func TestRequestsAndErrors(t *testing.T) {
	cases := []struct {
		name, line string
		code       int // 0: success
		id         any
	}{
		{"ok", `{"jsonrpc":"2.0","id":1,"method":"echo","params":{"text":"hi"}}`, 0, 1.0},
		{"string id", `{"jsonrpc":"2.0","id":"a","method":"nothing"}`, 0, "a"},
		{"garbage", `hello there`, CodeParseError, nil},
		{"truncated", `{"jsonrpc":"2.0","id":1,`, CodeParseError, nil},
		{"not an object", `42`, CodeInvalidRequest, nil},
		{"no version", `{"id":2,"method":"echo"}`, CodeInvalidRequest, 2.0},
		{"no method", `{"jsonrpc":"2.0","id":3}`, CodeInvalidRequest, 3.0},
		{"method not a string", `{"jsonrpc":"2.0","id":11,"method":5}`, CodeInvalidRequest, 11.0},
		{"version not a string", `{"jsonrpc":2,"id":12,"method":"echo"}`, CodeInvalidRequest, 12.0},
		{"bad id", `{"jsonrpc":"2.0","id":{},"method":"echo"}`, CodeInvalidRequest, nil},
		{"unknown method", `{"jsonrpc":"2.0","id":4,"method":"nope"}`, CodeMethodNotFound, 4.0},
		{"unknown field", `{"jsonrpc":"2.0","id":5,"method":"echo","params":{"txt":"x"}}`, CodeInvalidParams, 5.0},
		{"wrong type", `{"jsonrpc":"2.0","id":6,"method":"echo","params":{"text":7}}`, CodeInvalidParams, 6.0},
		{"missing param", `{"jsonrpc":"2.0","id":7,"method":"echo"}`, CodeInvalidParams, 7.0},
		{"params array", `{"jsonrpc":"2.0","id":8,"method":"echo","params":["x"]}`, CodeInvalidParams, 8.0},
		{"app error", `{"jsonrpc":"2.0","id":9,"method":"fail"}`, 1001, 9.0},
		{"internal", `{"jsonrpc":"2.0","id":10,"method":"boom"}`, CodeInternalError, 10.0},
	}
	for _, c := range cases {
		out := serve(t, c.line+"\n")
		if len(out) != 1 {
			t.Errorf("%s: %d responses", c.name, len(out))
			continue
		}
		r := out[0]
		if r["jsonrpc"] != "2.0" || r["id"] != c.id {
			t.Errorf("%s: envelope %v", c.name, r)
		}
		if c.code == 0 {
			if _, ok := r["result"]; !ok || r["error"] != nil {
				t.Errorf("%s: %v", c.name, r)
			}
			continue
		}
		if got := errCode(t, r); got != c.code {
			t.Errorf("%s: code %d, want %d (%v)", c.name, got, c.code, r)
		}
	}
}

// Garbage does not stop the connection: later requests are still served.
func TestKeepsServingAfterGarbage(t *testing.T) {
	in := "\x00\x01garbage\n\n   \n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":{\"text\":\"still here\"}}\n"
	out := serve(t, in)
	if len(out) != 2 || errCode(t, out[0]) != CodeParseError {
		t.Fatalf("out = %v", out)
	}
	if res := out[1]["result"].(map[string]any); res["text"] != "still here" {
		t.Fatalf("second = %v", out[1])
	}
}

func TestOverlongLine(t *testing.T) {
	in := `{"jsonrpc":"2.0","id":1,"method":"echo","params":{"text":"` + strings.Repeat("x", MaxLineBytes) + "\"}}\n" +
		`{"jsonrpc":"2.0","id":2,"method":"nothing"}` + "\n"
	out := serve(t, in)
	if len(out) != 2 || errCode(t, out[0]) != CodeParseError || out[1]["id"] != 2.0 {
		t.Fatalf("out = %v", out)
	}
}

func TestNotificationsGetNoResponse(t *testing.T) {
	out := serve(t, `{"jsonrpc":"2.0","method":"echo","params":{"text":"x"}}`+"\n"+
		`{"jsonrpc":"2.0","method":"nope"}`+"\n")
	if len(out) != 0 {
		t.Fatalf("notifications answered: %v", out)
	}
}

func TestBatch(t *testing.T) {
	out := serve(t, `[{"jsonrpc":"2.0","id":1,"method":"echo","params":{"text":"a"}},`+
		`{"jsonrpc":"2.0","method":"nothing"},{"jsonrpc":"2.0","id":2,"method":"nope"}, 5]`+"\n[]\n")
	if len(out) != 4 {
		t.Fatalf("out = %v", out)
	}
	if out[0]["id"] != 1.0 || errCode(t, out[1]) != CodeMethodNotFound || errCode(t, out[2]) != CodeInvalidRequest ||
		errCode(t, out[3]) != CodeInvalidRequest {
		t.Fatalf("out = %v", out)
	}
}

func TestNotifyIsSerialisedWithResponses(t *testing.T) {
	var out bytes.Buffer
	c := NewConn(testMux(), strings.NewReader(""), &out)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 100 {
			c.Notify("tick", map[string]int{"i": i})
		}
	}()
	for range 100 {
		c.reply(json.RawMessage("1"), "r", nil)
	}
	<-done
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 200 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Fatalf("interleaved write: %q", l)
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("closed pipe") }

func TestServeStopsWhenOutputFails(t *testing.T) {
	c := NewConn(testMux(), strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"nothing"}`+"\n"), failWriter{})
	if err := c.Serve(context.Background()); err == nil {
		t.Fatal("Serve ignored a failed write")
	}
	if err := c.Notify("x", nil); err == nil {
		t.Fatal("Notify after failure succeeded")
	}
}

// Serve returns when ctx ends even though its read is blocked; closing
// the reader then releases the reading goroutine.
func TestServeStopsOnCancelWhileReading(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	c := NewConn(testMux(), pr, io.Discard)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Serve(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	pr.Close()
}

// A mistyped member is named in plain words, never in encoding/json's.
func TestInvalidRequestMessages(t *testing.T) {
	for line, want := range map[string]string{
		`{"jsonrpc":"2.0","id":1,"method":5}`:    `invalid request: "method": want a string`,
		`"just a string"`:                        "invalid request: want a JSON object",
		`{"jsonrpc":"2.0","id":[],"method":"x"}`: "invalid request: id must be a string, number or null",
	} {
		out := serve(t, line+"\n")
		if len(out) != 1 {
			t.Fatalf("%s: %d responses", line, len(out))
		}
		e, _ := out[0]["error"].(map[string]any)
		if msg, _ := e["message"].(string); msg != want {
			t.Errorf("%s: message %q, want %q", line, msg, want)
		}
	}
}
