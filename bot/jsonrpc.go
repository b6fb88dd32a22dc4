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
type Mux struct{ handlers map[string]Handler }

// NewMux returns an empty Mux.
func NewMux() *Mux { return &Mux{handlers: map[string]Handler{}} }

// Handle registers h for method.
func (m *Mux) Handle(method string, h Handler) { m.handlers[method] = h }

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

	out struct {
		sync.Mutex // guards w and err
		w          *bufio.Writer
		err        error
	}
}

// NewConn returns a connection that dispatches requests read from r to mux
// and writes responses to w.
func NewConn(mux *Mux, r io.Reader, w io.Writer) *Conn {
	c := &Conn{mux: mux, r: r}
	c.out.w = bufio.NewWriter(w)
	return c
}

// Notify sends a notification. It fails once the writer has failed.
func (c *Conn) Notify(method string, params any) error {
	return c.write(notification{JSONRPC: "2.0", Method: method, Params: params})
}

func (c *Conn) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %T: %w", v, err)
	}
	c.out.Lock()
	defer c.out.Unlock()
	if c.out.err != nil {
		return c.out.err
	}
	if _, err := c.out.w.Write(append(b, '\n')); err != nil {
		c.out.err = err
		return err
	}
	if err := c.out.w.Flush(); err != nil {
		c.out.err = err
		return err
	}
	return nil
}

// Serve reads requests one line at a time and answers each in order until
// the reader ends (nil), ctx is done (nil), or writing fails. Requests run
// one after another, so a client sees results in the order it asked.
//
// Lines are read by a goroutine of Serve's, so ctx ends Serve at once even
// while a read blocks; that goroutine itself ends when the reader returns
// an error, so callers close the reader (a socket) to release it, or let
// the process exit (stdin).
func (c *Conn) Serve(ctx context.Context) error {
	lines := make(chan lineRead)
	go c.readLines(ctx, lines)
	for {
		select {
		case <-ctx.Done():
			return nil
		case lr, ok := <-lines:
			if !ok {
				return c.writeErr()
			}
			if lr.tooLong {
				c.reply(nil, nil, Errorf(CodeParseError, "request line longer than %d bytes", MaxLineBytes))
			} else if len(bytes.TrimSpace(lr.line)) > 0 {
				c.handleLine(ctx, lr.line)
			}
			if werr := c.writeErr(); werr != nil {
				return werr
			}
			if lr.err != nil && !errors.Is(lr.err, io.EOF) {
				return lr.err
			}
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

func (c *Conn) handleLine(ctx context.Context, line []byte) {
	line = bytes.TrimSpace(line)
	if line[0] == '[' {
		c.handleBatch(ctx, line)
		return
	}
	if resp := c.dispatch(ctx, line); resp != nil {
		_ = c.write(resp)
	}
}

// handleBatch answers a JSON array of requests with one array of the
// responses (notifications get none), as JSON-RPC 2.0 specifies.
func (c *Conn) handleBatch(ctx context.Context, line []byte) {
	var items []json.RawMessage
	if err := json.Unmarshal(line, &items); err != nil {
		c.reply(nil, nil, Errorf(CodeParseError, "parse error: %s", strings.TrimPrefix(err.Error(), "json: ")))
		return
	}
	if len(items) == 0 {
		c.reply(nil, nil, Errorf(CodeInvalidRequest, "empty batch"))
		return
	}
	var out []*response
	for _, it := range items {
		if r := c.dispatch(ctx, it); r != nil {
			out = append(out, r)
		}
	}
	if len(out) > 0 {
		_ = c.write(out)
	}
}

// dispatch runs one request and returns its response, or nil for a
// notification.
func (c *Conn) dispatch(ctx context.Context, raw []byte) *response {
	if !json.Valid(raw) {
		return errResponse(nil, Errorf(CodeParseError, "parse error: not valid JSON"))
	}
	var req request
	if err := json.Unmarshal(raw, &req); err != nil {
		return errResponse(nil, Errorf(CodeInvalidRequest, "invalid request: %s", strings.TrimPrefix(err.Error(), "json: ")))
	}
	id := req.ID
	if len(id) > 0 && !validID(id) {
		return errResponse(nil, Errorf(CodeInvalidRequest, "invalid request: id must be a string, number or null"))
	}
	if req.JSONRPC != "2.0" {
		return errResponse(id, Errorf(CodeInvalidRequest, `invalid request: "jsonrpc" must be "2.0"`))
	}
	if req.Method == "" {
		return errResponse(id, Errorf(CodeInvalidRequest, `invalid request: "method" is missing`))
	}
	h, ok := c.mux.handlers[req.Method]
	if !ok {
		if id == nil {
			return nil
		}
		return errResponse(id, Errorf(CodeMethodNotFound, "method not found: %s", req.Method))
	}
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
