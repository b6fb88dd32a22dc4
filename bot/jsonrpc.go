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
	pipelined map[string]PipelinedHandler
}

// NewMux returns an empty Mux.
func NewMux() *Mux {
	return &Mux{handlers: map[string]Handler{}, pipelined: map[string]PipelinedHandler{}}
}

// Handle registers h for method. Its requests run alone: each starts once
// every earlier request of the connection has finished, and the next one
// starts once it has.
func (m *Mux) Handle(method string, h Handler) { m.handlers[method] = h }

// PipelinedHandler starts one request: it returns once the request has
// been handed on in order (to the node's loop), with a wait that reports
// its outcome later. An error means it was not started.
type PipelinedHandler func(ctx context.Context, params json.RawMessage) (wait func() (any, error), err error)

// HandlePipelined registers h for a method whose requests overlap: the
// connection starts the next request as soon as h has returned, and
// answers this one once its wait has. No goroutine waits per request.
// A request of a method registered with Handle still waits for all of
// them to finish first, so it sees their effects.
func (m *Mux) HandlePipelined(method string, h PipelinedHandler) {
	m.pipelined[method] = h
	m.handlers[method] = func(ctx context.Context, params json.RawMessage) (any, error) {
		wait, err := h(ctx, params)
		if err != nil {
			return nil, err
		}
		return wait()
	}
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
	if r, ok := v.(*response); ok {
		buf := getBuf()
		defer putBuf(buf)
		if b, ok := appendResponse((*buf)[:0], r); ok {
			*buf = b
			return c.writeLine(b)
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %T: %w", v, err)
	}
	return c.writeLine(b)
}

// notifyObject sends a notification whose params are already a JSON
// object, without encoding them a second time.
func (c *Conn) notifyObject(method string, params json.RawMessage) error {
	buf := getBuf()
	defer putBuf(buf)
	b := appendNotificationStart((*buf)[:0], method)
	b = append(b, params...)
	*buf = append(b, '}')
	return c.writeLine(*buf)
}

// appendNotificationStart appends a notification line up to its params.
func appendNotificationStart(dst []byte, method string) []byte {
	dst = append(dst, `{"jsonrpc":"2.0","method":`...)
	dst = appendString(dst, method)
	return append(dst, `,"params":`...)
}

// notifyMessage sends a conference.message notification with "at",
// encoded straight into a pooled buffer (the line notifyObject would
// write for withAt(m, at)).
func (c *Conn) notifyMessage(m *messageJSON, at string) error {
	buf := getBuf()
	defer putBuf(buf)
	b := appendNotificationStart((*buf)[:0], "conference.message")
	b = m.appendJSON(b, at)
	*buf = append(b, '}')
	return c.writeLine(*buf)
}

// writeLine writes b and a newline.
func (c *Conn) writeLine(b []byte) error {
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

// Serve reads requests one line at a time until the reader ends, ctx is
// done (nil) or writing fails. Requests are started in the order they
// are read: each one once the previous one has finished or, for a
// pipelined method (HandlePipelined), once it has been handed on; so a
// client that pipelines conference.send requests gets them all taken in
// order while they wait for their commits together. Responses are
// written in the order the requests were read (a client sees results in
// the order it asked), each with its request's id; at most MaxInFlight
// wait at once. When the reader ends, Serve returns once every started
// request has been answered.
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

	answers := make(chan answer, MaxInFlight)
	// unwritten counts the pipelined answers queued and not yet written.
	var writer, unwritten sync.WaitGroup
	writer.Add(1)
	go func() {
		defer writer.Done()
		c.writeAnswers(ctx, answers, &unwritten)
	}()
	// drain lets every started request answer (unless ctx ends), then
	// stops the writer.
	drain := func() {
		close(answers)
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
				unwritten.Wait()
				_ = c.write(errResponse(nil, Errorf(CodeParseError, "request line longer than %d bytes", MaxLineBytes)))
			} else if len(bytes.TrimSpace(lr.line)) > 0 {
				if wait := c.start(ctx, &unwritten, lr.line); wait != nil {
					unwritten.Add(1)
					select {
					case answers <- wait:
					case <-ctx.Done():
						unwritten.Done()
						return nil
					}
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

// answer is the wait of a pipelined request: its response once it is
// done (nil for a notification).
type answer func() *response

// start runs one line's request(s). A pipelined request is started and
// its wait returned, for the writer to answer in order. Any other
// request waits until every earlier answer is written, then runs here
// and its response is written at once, before the next line is read (so
// the answer to shutdown goes out before the bot stops).
func (c *Conn) start(ctx context.Context, unwritten *sync.WaitGroup, line []byte) answer {
	line = bytes.TrimSpace(line)
	if line[0] == '[' {
		unwritten.Wait()
		if out := c.handleBatch(ctx, line); out != nil {
			_ = c.write(out)
		}
		return nil
	}
	req, h, resp := c.parse(line)
	if h != nil {
		if ph := c.mux.pipelined[req.Method]; ph != nil {
			w, err := ph(ctx, req.Params)
			if err == nil {
				return func() *response {
					res, err := w()
					return c.result(req.ID, res, err)
				}
			}
			resp = c.result(req.ID, nil, err)
			unwritten.Wait()
		} else {
			unwritten.Wait()
			resp = c.run(ctx, req, h)
		}
	} else if resp != nil {
		unwritten.Wait()
	}
	if resp != nil {
		_ = c.write(resp)
	}
	return nil
}

// writeAnswers writes each pipelined answer in request order until
// answers is closed and drained. Once ctx ends it stops writing and only
// releases the answers still queued.
func (c *Conn) writeAnswers(ctx context.Context, answers <-chan answer, unwritten *sync.WaitGroup) {
	for {
		select {
		case wait, ok := <-answers:
			if !ok {
				return
			}
			if r := wait(); r != nil {
				_ = c.write(r)
			}
			unwritten.Done()
		case <-ctx.Done():
			for range answers { // Serve closes answers as it returns
				unwritten.Done()
			}
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
	// Members are read loosely first, so a mistyped one gets its own
	// message (and the id, when it is valid, its answer) instead of
	// encoding/json's wording. raw is valid, so its members are split
	// without a second pass of encoding/json (fastjson.go).
	loose, ok := splitRequest(raw)
	if !ok {
		return nil, nil, errResponse(nil, Errorf(CodeInvalidRequest, "invalid request: want a JSON object"))
	}
	id := json.RawMessage(loose.ID)
	if len(id) > 0 && !validID(id) {
		return nil, nil, errResponse(nil, Errorf(CodeInvalidRequest, "invalid request: id must be a string, number or null"))
	}
	req := request{ID: id, Params: loose.Params}
	if decodeString(loose.JSONRPC, &req.JSONRPC) != nil || req.JSONRPC != "2.0" {
		return nil, nil, errResponse(id, Errorf(CodeInvalidRequest, `invalid request: "jsonrpc" must be "2.0"`))
	}
	if len(loose.Method) > 0 && decodeString(loose.Method, &req.Method) != nil {
		return nil, nil, errResponse(id, Errorf(CodeInvalidRequest, `invalid request: "method": want a string`))
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
	result, err := h(ctx, req.Params)
	return c.result(req.ID, result, err)
}

// result is the response to request id (nil for a notification).
func (c *Conn) result(id json.RawMessage, result any, err error) *response {
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
