package bot

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// pipeMux has a pipelined method "slow" whose handlers accept at once
// and finish only when released (in any order), and a plain "count" that
// reports how many "slow" requests had finished when it ran.
type pipeMux struct {
	mux      *Mux
	started  atomic.Int32
	finished atomic.Int32
	order    chan int // the n of each slow request as it was accepted
	release  map[int]chan struct{}
}

func newPipeMux(n int) *pipeMux {
	pm := &pipeMux{mux: NewMux(), order: make(chan int, n), release: map[int]chan struct{}{}}
	for i := range n {
		pm.release[i] = make(chan struct{})
	}
	pm.mux.HandlePipelined("slow", func(ctx context.Context, raw json.RawMessage) (func() (any, error), error) {
		var p struct{ N int }
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, err
		}
		if p.N < 0 {
			return nil, Errorf(CodeInvalidParams, "invalid params: n < 0")
		}
		pm.started.Add(1)
		pm.order <- p.N
		return func() (any, error) {
			select {
			case <-pm.release[p.N]:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			pm.finished.Add(1)
			return map[string]int{"n": p.N}, nil
		}, nil
	})
	pm.mux.Handle("count", func(context.Context, json.RawMessage) (any, error) {
		return map[string]int32{"finished": pm.finished.Load()}, nil
	})
	return pm
}

// readResponse reads one line from r, with a bound on the wait.
func readResponse(t *testing.T, lines <-chan string) map[string]any {
	t.Helper()
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatal("output ended")
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("bad line %q: %v", l, err)
		}
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no response within 10s")
	}
	return nil
}

// TestPipelinedRequestsOverlapAndAnswerInOrder: pipelined requests all
// start before the first finishes, in the order they were read; their
// answers come in request order with their own ids even though they
// finish in reverse; a plain request after them runs once all finished.
func TestPipelinedRequestsOverlapAndAnswerInOrder(t *testing.T) {
	const n = 5
	pm := newPipeMux(n)
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	c := NewConn(pm.mux, inR, outW)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- c.Serve(ctx); outW.Close() }()
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var reqs strings.Builder
	for i := range n {
		fmt.Fprintf(&reqs, `{"jsonrpc":"2.0","id":"s%d","method":"slow","params":{"n":%d}}`+"\n", i, i)
	}
	reqs.WriteString(`{"jsonrpc":"2.0","id":99,"method":"count"}` + "\n")
	go io.WriteString(inW, reqs.String())

	for i := range n {
		select {
		case got := <-pm.order:
			if got != i {
				t.Fatalf("request %d started as number %d: out of order", i, got)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d pipelined requests started while none had finished", i, n)
		}
	}
	if f := pm.finished.Load(); f != 0 {
		t.Fatalf("%d finished before release", f)
	}
	for i := n - 1; i >= 0; i-- { // finish them in reverse
		close(pm.release[i])
	}
	for i := range n {
		m := readResponse(t, lines)
		if m["id"] != fmt.Sprintf("s%d", i) {
			t.Fatalf("answer %d: %v", i, m)
		}
		if res, _ := m["result"].(map[string]any); res["n"] != float64(i) {
			t.Fatalf("answer %d carries %v", i, m)
		}
	}
	m := readResponse(t, lines)
	if m["id"] != float64(99) {
		t.Fatalf("count answer: %v", m)
	}
	if res, _ := m["result"].(map[string]any); res["finished"] != float64(n) {
		t.Fatalf("count ran before the pipelined requests finished: %v", m)
	}
	inW.Close()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after EOF")
	}
}

// TestServeAnswersPipelinedBeforeEOFReturn: Serve returns at EOF only
// once every pipelined request was answered.
func TestServeAnswersPipelinedBeforeEOFReturn(t *testing.T) {
	const n = 50
	pm := newPipeMux(n)
	var input strings.Builder
	for i := range n {
		fmt.Fprintf(&input, `{"jsonrpc":"2.0","id":%d,"method":"slow","params":{"n":%d}}`+"\n", i, i)
	}
	var out syncBuffer
	c := NewConn(pm.mux, strings.NewReader(input.String()), &out)
	go func() {
		for i := range n {
			<-pm.order
			close(pm.release[i])
		}
	}()
	if err := c.Serve(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(got) != n {
		t.Fatalf("%d answers, want %d", len(got), n)
	}
	for i, l := range got {
		var m struct{ ID int }
		if err := json.Unmarshal([]byte(l), &m); err != nil || m.ID != i {
			t.Fatalf("answer %d: %q", i, l)
		}
	}
}

// TestServeStopsOnCancelWithPipelinedWaiting: a cancelled context ends
// Serve even while pipelined requests wait (they see the cancel).
func TestServeStopsOnCancelWithPipelinedWaiting(t *testing.T) {
	pm := newPipeMux(3)
	inR, inW := io.Pipe()
	defer inW.Close()
	c := NewConn(pm.mux, inR, io.Discard)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Serve(ctx) }()
	go io.WriteString(inW, `{"jsonrpc":"2.0","id":1,"method":"slow","params":{"n":0}}`+"\n"+
		`{"jsonrpc":"2.0","id":2,"method":"slow","params":{"n":1}}`+"\n")
	for range 2 {
		select {
		case <-pm.order:
		case <-time.After(10 * time.Second):
			t.Fatal("pipelined requests did not start")
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	inR.Close()
}

// syncBuffer is a bytes.Buffer safe for one writer and a later reader.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestWithAt(t *testing.T) {
	at := time.Date(2026, 12, 2, 1, 2, 3, 456789000, time.UTC)
	for _, c := range []struct {
		params any
		want   string
	}{
		{map[string]string{"conference": "ab"}, `{"conference":"ab","at":"2026-12-02T01:02:03.456789Z"}`},
		{struct{}{}, `{"at":"2026-12-02T01:02:03.456789Z"}`},
		{keyNote{PublicKey: "k"}, `{"public_key":"k","at":"2026-12-02T01:02:03.456789Z"}`},
	} {
		got, err := withAt(c.params, at)
		if err != nil || string(got) != c.want {
			t.Errorf("withAt(%v) = %s, %v; want %s", c.params, got, err, c.want)
		}
	}
	if _, err := withAt([]int{1}, at); err == nil {
		t.Error("withAt accepted params that are not an object")
	}
}

// TestPipelinedSendsOnANode drives ServeConn with a burst of pipelined
// conference.send requests: every one is answered, in request order,
// with increasing message numbers, and every notification carries `at`.
func TestPipelinedSendsOnANode(t *testing.T) {
	srv := New(openTestNode(t), Options{})
	var c struct{ Conference string }
	if err := call(t, srv, "conference.create", `{"title":"p"}`, &c); err != nil {
		t.Fatal(err)
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- srv.ServeConn(ctx, inR, outW); outW.Close() }()
	const n = 300
	go func() {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, `{"jsonrpc":"2.0","id":%d,"method":"conference.send","params":{"conference":%q,"text":"m%d"}}`+"\n", i, c.Conference, i)
		}
		fmt.Fprintf(&b, `{"jsonrpc":"2.0","id":%d,"method":"conference.history","params":{"conference":%q,"limit":1000}}`+"\n", n, c.Conference)
		io.WriteString(inW, b.String())
	}()
	sc := bufio.NewScanner(outR)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	next, last, notes := 0, uint32(0), 0
	for next <= n && sc.Scan() {
		var l struct {
			ID     *int
			Method string
			Params map[string]any
			Result json.RawMessage
			Error  *Error
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("bad line %q", sc.Text())
		}
		if l.ID == nil {
			notes++
			if at, _ := l.Params["at"].(string); at == "" {
				t.Fatalf("notification without at: %s", sc.Text())
			} else if _, err := time.Parse(time.RFC3339Nano, at); err != nil {
				t.Fatalf("notification at %q: %v", at, err)
			}
			continue
		}
		if *l.ID != next || l.Error != nil {
			t.Fatalf("answer %d: %s", next, sc.Text())
		}
		if next < n {
			var r sendResult
			if err := json.Unmarshal(l.Result, &r); err != nil || r.Number <= last {
				t.Fatalf("send %d: number %d after %d (%v)", next, r.Number, last, err)
			}
			last = r.Number
		} else {
			var h struct{ Messages []messageJSON }
			if err := json.Unmarshal(l.Result, &h); err != nil || len(h.Messages) != n {
				t.Fatalf("history after the sends holds %d messages, want %d (%v)", len(h.Messages), n, err)
			}
			for i, m := range h.Messages {
				if m.Text != fmt.Sprintf("m%d", i) {
					t.Fatalf("history %d is %q", i, m.Text)
				}
			}
		}
		next++
	}
	if next != n+1 {
		t.Fatalf("%d answers of %d (%v)", next, n+1, sc.Err())
	}
	if notes == 0 {
		t.Fatal("no notification seen (ready at least)")
	}
	inW.Close()
	select {
	case <-served:
	case <-time.After(10 * time.Second):
		t.Fatal("ServeConn did not return after EOF")
	}
}

// TestPipelinedErrorsAndNotifications: a pipelined request that fails to
// start is answered with its error in its place; a pipelined
// notification (no id) runs and gets no answer.
func TestPipelinedErrorsAndNotifications(t *testing.T) {
	pm := newPipeMux(3)
	for i := range 3 {
		close(pm.release[i])
	}
	input := `{"jsonrpc":"2.0","id":1,"method":"slow","params":{"n":0}}` + "\n" +
		`{"jsonrpc":"2.0","id":2,"method":"slow","params":{"n":-1}}` + "\n" +
		`{"jsonrpc":"2.0","method":"slow","params":{"n":1}}` + "\n" +
		`{"jsonrpc":"2.0","method":"slow","params":{"n":-1}}` + "\n" +
		`{"jsonrpc":"2.0","id":3,"method":"slow","params":{"n":2}}` + "\n"
	var out syncBuffer
	if err := NewConn(pm.mux, strings.NewReader(input), &out).Serve(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(got) != 3 {
		t.Fatalf("answers %q, want 3", got)
	}
	for i, want := range []string{`"id":1,"result":{"n":0}`, `"id":2,"error":{"code":-32602`, `"id":3,"result":{"n":2}`} {
		if !strings.Contains(got[i], want) {
			t.Errorf("answer %d = %s, want %s", i, got[i], want)
		}
	}
	if f := pm.finished.Load(); f != 3 {
		t.Errorf("%d pipelined requests ran to their end, want 3", f)
	}
}

// TestAnswerWrittenWhenHandlerStopsServe: a handler that ends the
// connection's context (as shutdown does) still has its answer written,
// after the pipelined answers before it.
func TestAnswerWrittenWhenHandlerStopsServe(t *testing.T) {
	pm := newPipeMux(1)
	close(pm.release[0])
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pm.mux.Handle("stop", func(context.Context, json.RawMessage) (any, error) {
		cancel()
		return "bye", nil
	})
	inR, inW := io.Pipe()
	defer inW.Close()
	go io.WriteString(inW, `{"jsonrpc":"2.0","id":1,"method":"slow","params":{"n":0}}`+"\n"+
		`{"jsonrpc":"2.0","id":2,"method":"stop"}`+"\n")
	var out syncBuffer
	if err := NewConn(pm.mux, inR, &out).Serve(ctx); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(got) != 2 || !strings.Contains(got[0], `"id":1`) || !strings.Contains(got[1], `"id":2,"result":"bye"`) {
		t.Fatalf("answers %q: want the slow answer, then the stop answer", got)
	}
}

// TestNotifyObjectMatchesNotify: the pre-encoded path writes the same
// line as Notify.
func TestNotifyObjectMatchesNotify(t *testing.T) {
	params := map[string]any{"conference": "ab", "number": 7, "text": "a \"quoted\" <text> é"}
	raw, err := withAt(params, time.Unix(0, 1).UTC())
	if err != nil {
		t.Fatal(err)
	}
	var a, b syncBuffer
	if err := NewConn(NewMux(), strings.NewReader(""), &a).Notify("conference.message", raw); err != nil {
		t.Fatal(err)
	}
	if err := NewConn(NewMux(), strings.NewReader(""), &b).notifyObject("conference.message", raw); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Fatalf("notifyObject wrote %q, Notify %q", b.String(), a.String())
	}
}

// BenchmarkNotifyMessage is one conference.message notification on the
// receive path: params built, "at" added, the line written.
func BenchmarkNotifyMessage(b *testing.B) {
	c := NewConn(NewMux(), strings.NewReader(""), io.Discard)
	m := messageJSON{Conference: strings.Repeat("a", 66), From: strings.Repeat("b", 64), Name: "node 1",
		Text: strings.Repeat("x", 64), Number: 7, Time: "2026-12-02T01:02:03.456789Z", Cursor: 9}
	at := time.Now()
	b.ReportAllocs()
	for range b.N {
		raw, err := withAt(m, at)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.notifyObject("conference.message", raw); err != nil {
			b.Fatal(err)
		}
	}
}
