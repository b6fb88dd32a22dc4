package bot

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// BenchmarkServeSend is the bot side of a burst: pipelined
// conference.send request lines read, parsed and their params decoded,
// and the answers encoded and written, with a handler that answers at
// once (no node). Per request.
func BenchmarkServeSend(b *testing.B) {
	mux := NewMux()
	now := rfc3339(time.Now())
	mux.HandlePipelined("conference.send", pipelined(func(_ context.Context, p struct {
		Conference string `json:"conference" rpc:"required"`
		Text       string `json:"text" rpc:"required"`
		Action     bool   `json:"action"`
	}) (func() (any, error), error) {
		return func() (any, error) { return sendResult{Number: 7, Cursor: 9, Time: now}, nil }, nil
	}))
	const n = 1000
	var in strings.Builder
	conf := strings.Repeat("a", 66)
	for i := range n {
		fmt.Fprintf(&in, `{"jsonrpc":"2.0","id":%d,"method":"conference.send","params":{"conference":"%s","text":"B:%d:%s"}}`+"\n",
			i+1, conf, i, strings.Repeat("x", 58))
	}
	input := in.String()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N / n {
		if err := NewConn(mux, strings.NewReader(input), io.Discard).Serve(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkForwardMessage is one conference.message notification as
// forward writes it (notifyMessage).
func BenchmarkForwardMessage(b *testing.B) {
	c := NewConn(NewMux(), strings.NewReader(""), io.Discard)
	m := messageJSON{Conference: strings.Repeat("a", 66), From: strings.Repeat("b", 64), Name: "node 1",
		Text: strings.Repeat("x", 64), Number: 7, Time: "2026-12-02T01:02:03.456789Z", Cursor: 9}
	at := rfc3339(time.Now())
	b.ReportAllocs()
	for range b.N {
		if err := c.notifyMessage(&m, at); err != nil {
			b.Fatal(err)
		}
	}
}
