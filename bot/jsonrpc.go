package bot

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
)

// Standard JSON-RPC 2.0 error codes.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternalError  = -32603
)

// MaxLineBytes is the longest request line a connection accepts. A longer
// line gets a parse error and is skipped; the connection goes on.
const MaxLineBytes = 1 << 20

// Error is a JSON-RPC error object. Handlers return it (or wrap it) to
// choose the code a client sees; any other error becomes an internal error.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

func (e *Error) Error() string { return fmt.Sprintf("%s (code %d)", e.Message, e.Code) }

// Errorf makes an *Error with a formatted message.
func Errorf(code int, format string, a ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, a...)}
}

// request is one incoming JSON-RPC request or notification.
type request struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params,omitempty"`
}

// response is one outgoing response; exactly one of Result and Error is set.
type response struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  any             `json:"result,omitempty"`
	Error   *Error          `json:"error,omitempty"`
}

// notification is an outgoing message without an id.
type notification struct {
	JSONRPC string `json:"jsonrpc"`
	Method  string `json:"method"`
	Params  any    `json:"params,omitempty"`
}

// Handler runs one method. params is the raw "params" member (nil when
// absent); the result is marshalled as the response's "result".
type Handler func(ctx context.Context, params json.RawMessage) (any, error)

// Mux maps method names to handlers. It is built before serving and not
// changed after.
type Mux struct {
	handlers  map[string]Handler
	pipelined map[string]bool
}

// NewMux returns an empty Mux.
func NewMux() *Mux { return &Mux{handlers: map[string]Handler{}, pipelined: map[string]bool{}} }

// Handle registers h for method. Its requests run alone: each starts once
// every earlier request of the connection has finished, and the next one
// starts once it has.
func (m *Mux) Handle(method string, h Handler) { m.handlers[method] = h }

// HandlePipelined registers h for a method whose requests may overlap
// with each other: h calls Accepted once it has handed the request on in
// order (to the node's loop), and the connection then starts the next
// request while h waits for the outcome. A request of a method registered
// with Handle still waits for all of them to finish first, so it sees
// their effects.
func (m *Mux) HandlePipelined(method string, h Handler) {
	m.handlers[method] = h
	m.pipelined[method] = true
}

// Methods returns the registered method names.
func (m *Mux) Methods() []string {
	out := make([]string, 0, len(m.handlers))
	for k := range m.handlers {
		out = append(out, k)
	}
	return out
}

// Conn is one JSON-RPC connection: line-delimited JSON on a reader and a
// writer. Writes (responses and notifications) are serialised, so
// notifications may be sent from any goroutine while Serve runs.
type Conn struct {
	mux *Mux
	r   io.Reader

	writers atomic.Int32 // writes waiting for or holding out; the last one flushes
	out     struct {
		sync.Mutex // guards w and err
		w          *bufio.Writer
		err        error
	}
}

// NewConn returns a connection that dispatches requests read from r to mux
// and writes responses to w.
func NewConn(mux *Mux, r io.Reader, w io.Writer) *Conn {
	c := &Conn{mux: mux, r: r}
	c.out.w = bufio.NewWriterSize(w, 64<<10)
	return c
}

// Notify sends a notification. It fails once the writer has failed.
func (c *Conn) Notify(method string, params any) error {
	return c.write(notification{JSONRPC: "2.0", Method: method, Params: params})
}

// write sends one JSON value as a line. Lines written while another
// write holds the writer share its flush: the last writer of a run
// flushes, so a burst of answers and notifications costs a few syscalls,
// not one each, and nothing is left unflushed.
func (c *Conn) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %T: %w", v, err)
	}
	c.writers.Add(1)
	c.out.Lock()
	defer c.out.Unlock()
	last := c.writers.Add(-1) == 0
	if c.out.err != nil {
		return c.out.err
	}
	if _, err := c.out.w.Write(b); err != nil {
		c.out.err = err
		return err
	}
	if err := c.out.w.WriteByte('\n'); err != nil {
		c.out.err = err
		return err
	}
	if last {
		if err := c.out.w.Flush(); err != nil {
			c.out.err = err
			return err
		}
	}
	return nil
}

// MaxInFlight bounds the requests of one connection that were started and
// wait for their answers; past it Serve reads no further line until the
// oldest is answered.
const MaxInFlight = 1024

// acceptKey is the context key of a request's accepted callback.
type acceptKey struct{}

// Accepted tells the connection serving the request that runs under ctx
// that the request has been handed on in order (to the node's loop) and
// now only waits for its outcome: the connection goes on to read and
// start the next request. Handlers that never call it run one after
// another, each started once the previous one has finished. Calling it
// more than once, or outside a request, does nothing.
func Accepted(ctx context.Context) {
	if f, ok := ctx.Value(acceptKey{}).(func()); ok {
		f()
	}
}

// Serve reads requests one line at a time until the reader ends, ctx is
// done (nil) or writing fails. Requests are started in the order they
// are read: each one once the previous one has finished or, if its
// handler calls Accepted, once it has been handed on; so a client that
// pipelines conference.send requests gets them all taken in order while
// they wait for their commits together. Responses are written in the
// order the requests were read (a client sees results in the order it
// asked), each with its request's id; at most MaxInFlight wait at once.
// When the reader ends, Serve returns once every started request has
// been answered.
//
// Lines are read by a goroutine of Serve's, so ctx ends Serve at once even
// while a read blocks; that goroutine itself ends when the reader returns
// an error, so callers close the reader (a socket) to release it, or let
// the process exit (stdin).
func (c *Conn) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lines := make(chan lineRead)
	go c.readLines(ctx, lines)

	// answers holds, in request order, one channel per request that
	// carries its response (nil: none to write).
	answers := make(chan chan any, MaxInFlight)
	var writer, running sync.WaitGroup // the answer writer; pipelined requests
	writer.Add(1)
	go func() {
		defer writer.Done()
		c.writeAnswers(ctx, answers)
	}()
	// drain lets every started request answer (unless ctx ends), then
	// stops the writer.
	drain := func() {
		close(answers)
		running.Wait()
		writer.Wait()
	}
	defer func() {
		if answers != nil {
			drain()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case lr, ok := <-lines:
			if !ok {
				drain()
				answers = nil
				return c.writeErr()
			}
			if lr.tooLong {
				if !c.queue(ctx, answers, errResponse(nil, Errorf(CodeParseError, "request line longer than %d bytes", MaxLineBytes))) {
					return nil
				}
			} else if len(bytes.TrimSpace(lr.line)) > 0 {
				if !c.start(ctx, &running, answers, lr.line) {
					return nil
				}
			}
			if lr.err != nil {
				drain()
				answers = nil
				if werr := c.writeErr(); werr != nil {
					return werr
				}
				if !errors.Is(lr.err, io.EOF) {
					return lr.err
				}
				return nil
			}
			if werr := c.writeErr(); werr != nil {
				return werr
			}
		}
	}
}

// queue puts an answer that is already known in line; false when ctx ended.
func (c *Conn) queue(ctx context.Context, answers chan<- chan any, v any) bool {
	ch := make(chan any, 1)
	ch <- v
	select {
	case answers <- ch:
		return true
	case <-ctx.Done():
		return false
	}
}

// start runs one line's request(s). A pipelined request runs on a
// goroutine and start returns once it was accepted (or finished); any
// other waits for the pipelined requests still running, then runs here.
// false when ctx ended first.
func (c *Conn) start(ctx context.Context, running *sync.WaitGroup, answers chan<- chan any, line []byte) bool {
	line = bytes.TrimSpace(line)
	var req *request
	var h Handler
	var answer any
	if line[0] == '[' {
		running.Wait()
		answer = c.handleBatch(ctx, line)
	} else if req, h, answer = c.parse(line); h == nil || !c.mux.pipelined[req.Method] {
		if h != nil {
			running.Wait()
			answer = c.run(ctx, req, h)
		}
	} else {
		ch := make(chan any, 1)
		select {
		case answers <- ch:
		case <-ctx.Done():
			return false
		}
		taken := make(chan struct{})
		var once sync.Once
		accept := func() { once.Do(func() { close(taken) }) }
		running.Add(1)
		go func() {
			defer running.Done()
			defer accept()
			ch <- c.run(context.WithValue(ctx, acceptKey{}, accept), req, h)
		}()
		select {
		case <-taken:
			return true
		case <-ctx.Done():
			return false
		}
	}
	return c.queue(ctx, answers, answer)
}

// writeAnswers writes each answer in request order until answers is
// closed and drained, or ctx ends.
func (c *Conn) writeAnswers(ctx context.Context, answers <-chan chan any) {
	for ch := range answers {
		select {
		case v := <-ch:
			if r, ok := v.(*response); v == nil || ok && r == nil {
				continue // a notification: nothing to answer
			}
			_ = c.write(v)
		case <-ctx.Done():
			return
		}
	}
}

// lineRead is one line, or the error that ended the input.
type lineRead struct {
	line    []byte
	tooLong bool
	err     error
}

// readLines sends every line of c.r, the last one with the error that
// ended the input, then closes lines.
func (c *Conn) readLines(ctx context.Context, lines chan<- lineRead) {
	defer close(lines)
	br := bufio.NewReaderSize(c.r, 64<<10)
	for {
		line, tooLong, err := readLine(br, MaxLineBytes)
		select {
		case lines <- lineRead{line: line, tooLong: tooLong, err: err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

func (c *Conn) writeErr() error {
	c.out.Lock()
	defer c.out.Unlock()
	return c.out.err
}

// readLine reads one '\n'-terminated line. A line over max bytes is
// consumed to its end and reported as tooLong without being kept.
func readLine(br *bufio.Reader, max int) (line []byte, tooLong bool, err error) {
	for {
		chunk, isPrefix, err := br.ReadLine()
		if !tooLong {
			line = append(line, chunk...)
			if len(line) > max {
				line, tooLong = nil, true
			}
		}
		if err != nil || !isPrefix {
			return line, tooLong, err
		}
	}
}

// handleBatch answers a JSON array of requests with one array of the
// responses (notifications get none), as JSON-RPC 2.0 specifies.
func (c *Conn) handleBatch(ctx context.Context, line []byte) any {
	var items []json.RawMessage
	if err := json.Unmarshal(line, &items); err != nil {
		return errResponse(nil, Errorf(CodeParseError, "parse error: %s", strings.TrimPrefix(err.Error(), "json: ")))
	}
	if len(items) == 0 {
		return errResponse(nil, Errorf(CodeInvalidRequest, "empty batch"))
	}
	var out []*response
	for _, it := range items {
		if r := c.dispatch(ctx, it); r != nil {
			out = append(out, r)
		}
	}
	if len(out) > 0 {
		return out
	}
	return nil
}

// dispatch runs one request and returns its response, or nil for a
// notification.
func (c *Conn) dispatch(ctx context.Context, raw []byte) *response {
	req, h, resp := c.parse(raw)
	if h == nil {
		return resp
	}
	return c.run(ctx, req, h)
}

// parse reads one request and finds its handler. Without a handler it
// returns the error response (nil for a notification of an unknown
// method).
func (c *Conn) parse(raw []byte) (*request, Handler, *response) {
	if !json.Valid(raw) {
		return nil, nil, errResponse(nil, Errorf(CodeParseError, "parse error: not valid JSON"))
	}
	var req request
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, nil, errResponse(nil, Errorf(CodeInvalidRequest, "invalid request: %s", strings.TrimPrefix(err.Error(), "json: ")))
	}
	id := req.ID
	if len(id) > 0 && !validID(id) {
		return nil, nil, errResponse(nil, Errorf(CodeInvalidRequest, "invalid request: id must be a string, number or null"))
	}
	if req.JSONRPC != "2.0" {
		return nil, nil, errResponse(id, Errorf(CodeInvalidRequest, `invalid request: "jsonrpc" must be "2.0"`))
	}
	if req.Method == "" {
		return nil, nil, errResponse(id, Errorf(CodeInvalidRequest, `invalid request: "method" is missing`))
	}
	h, ok := c.mux.handlers[req.Method]
	if !ok {
		if id == nil {
			return nil, nil, nil
		}
		return nil, nil, errResponse(id, Errorf(CodeMethodNotFound, "method not found: %s", req.Method))
	}
	return &req, h, nil
}

// run runs a parsed request and returns its response, or nil for a
// notification.
func (c *Conn) run(ctx context.Context, req *request, h Handler) *response {
	id := req.ID
	result, err := h(ctx, req.Params)
	if id == nil { // a notification: never answered
		return nil
	}
	if err != nil {
		return errResponse(id, toRPCError(err))
	}
	if result == nil {
		result = struct{}{}
	}
	return &response{JSONRPC: "2.0", ID: id, Result: result}
}

func (c *Conn) reply(id json.RawMessage, result any, err *Error) {
	if err != nil {
		_ = c.write(errResponse(id, err))
		return
	}
	_ = c.write(&response{JSONRPC: "2.0", ID: id, Result: result})
}

func errResponse(id json.RawMessage, e *Error) *response {
	if id == nil {
		id = json.RawMessage("null")
	}
	return &response{JSONRPC: "2.0", ID: id, Error: e}
}

func validID(id json.RawMessage) bool {
	switch id[0] {
	case '"', 'n', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return true
	}
	return false
}

func toRPCError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeInternalError, Message: err.Error()}
}

// DecodeParams unmarshals params into v strictly: unknown fields, trailing
// data and a missing params object for a method that needs one are all
// invalid params.
func DecodeParams(params json.RawMessage, v any) error {
	if len(params) == 0 || string(params) == "null" {
		params = json.RawMessage("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(params))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Errorf(CodeInvalidParams, "invalid params: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return Errorf(CodeInvalidParams, "invalid params: trailing data")
	}
	return nil
}
