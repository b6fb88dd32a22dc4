package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The fast paths of fastjson.go must give what encoding/json gives. The
// reference implementations below are the code they replaced.

// refParse is Conn.parse as it was: members read with encoding/json.
func refParse(mux *Mux, raw []byte) (*request, Handler, *response) {
	if !json.Valid(raw) {
		return nil, nil, errResponse(nil, Errorf(CodeParseError, "parse error: not valid JSON"))
	}
	var loose struct {
		JSONRPC json.RawMessage `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Method  json.RawMessage `json:"method"`
		Params  json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(raw, &loose); err != nil {
		return nil, nil, errResponse(nil, Errorf(CodeInvalidRequest, "invalid request: want a JSON object"))
	}
	id := loose.ID
	if len(id) > 0 && !validID(id) {
		return nil, nil, errResponse(nil, Errorf(CodeInvalidRequest, "invalid request: id must be a string, number or null"))
	}
	req := request{ID: id, Params: loose.Params}
	if json.Unmarshal(loose.JSONRPC, &req.JSONRPC) != nil || req.JSONRPC != "2.0" {
		return nil, nil, errResponse(id, Errorf(CodeInvalidRequest, `invalid request: "jsonrpc" must be "2.0"`))
	}
	if len(loose.Method) > 0 && json.Unmarshal(loose.Method, &req.Method) != nil {
		return nil, nil, errResponse(id, Errorf(CodeInvalidRequest, `invalid request: "method": want a string`))
	}
	if req.Method == "" {
		return nil, nil, errResponse(id, Errorf(CodeInvalidRequest, `invalid request: "method" is missing`))
	}
	h, ok := mux.handlers[req.Method]
	if !ok {
		if id == nil {
			return nil, nil, nil
		}
		return nil, nil, errResponse(id, Errorf(CodeMethodNotFound, "method not found: %s", req.Method))
	}
	return &req, h, nil
}

// refDecodeParams is DecodeParams as it was, for one-problem inputs
// (with several problems the old map order chose one at random).
func refDecodeParams(params json.RawMessage, v any) error {
	params = bytes.TrimSpace(params)
	if len(params) == 0 || string(params) == "null" {
		params = json.RawMessage("{}")
	}
	if params[0] != '{' {
		return Errorf(CodeInvalidParams, "invalid params: want an object")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(params, &obj); err != nil {
		return Errorf(CodeInvalidParams, "invalid params: want an object")
	}
	sv := reflect.ValueOf(v).Elem()
	fields := paramFieldsOf(sv.Type())
	seen := make([]bool, len(fields))
	for name, raw := range obj {
		i := findParam(fields, name)
		if i < 0 {
			return Errorf(CodeInvalidParams, "invalid params: unknown field %q", name)
		}
		f := fields[i]
		seen[i] = true
		fv := sv.Field(f.index)
		raw = bytes.TrimSpace(raw)
		if string(raw) == "null" {
			if fv.Kind() == reflect.Pointer {
				fv.SetZero()
				seen[i] = false
				continue
			}
			return Errorf(CodeInvalidParams, "invalid params: %s: want %s", f.name, f.want)
		}
		if err := json.Unmarshal(raw, fv.Addr().Interface()); err != nil {
			return Errorf(CodeInvalidParams, "invalid params: %s: want %s", f.name, f.want)
		}
	}
	for i, f := range fields {
		if f.required && !seen[i] {
			return Errorf(CodeInvalidParams, "invalid params: %s is missing", f.name)
		}
	}
	return nil
}

type sendParams struct {
	Conference string `json:"conference" rpc:"required"`
	Text       string `json:"text" rpc:"required"`
	Action     bool   `json:"action"`
	Limit      *int   `json:"limit"`
}

// jsonSamples are values and fragments requests are built from: plain,
// escaped, non-ASCII, invalid UTF-8, odd whitespace and case.
var jsonSamples = []string{
	`"2.0"`, `"2\u002e0"`, `"2.1"`, `2.0`, `null`, `"conference.send"`, `"echo"`, `"ech\u006f"`,
	`"conf\u00e9rence"`, "\"\xff\xfe\"", `""`, `1`, `-7`, `1e3`, `"x<y>&z"`, "\"\u2028\"", `[]`, `{}`,
	`{"text":"hi"}`, `{"text":"a \"q\" <b> é","conference":"ab"}`, `true`, `false`, `{"Text":"x"}`,
	`{"text":1}`, `{"text":"x","text":"y"}`, `{"conference":"c","text":"t","action":true,"limit":5}`,
	`{"conference":"c","text":"t","limit":null}`, `{"conference":null,"text":"t"}`, `{"nope":1}`,
	`{ "conference" : "c" ,  "text" : "t\n" }`, `{"TEXT":"x","conference":"c"}`, `{"te\u0078t":"x","conference":"c"}`,
	"{\"text\":\"\xc3\"}", `{"text":"a\\b","conference":"\/"}`, `[1,{"a":"]"}]`, `{"a":{"b":["}",{}]}}`,
}

var memberNames = []string{`"jsonrpc"`, `"id"`, `"method"`, `"params"`, `"ID"`, `"Method"`, `"JSONRPC"`,
	`"par\u0061ms"`, `"extra"`, `"ſd"`}

// randomRequest builds a request line of random members and values.
func randomRequest(r *rand.Rand) []byte {
	switch r.IntN(12) {
	case 0:
		return []byte(jsonSamples[r.IntN(len(jsonSamples))])
	case 1:
		return []byte(`{"jsonrpc":"2.0","id":1,"method":"echo","params":{"text":"hi"}` + []string{"", "}", " ", "x"}[r.IntN(4)])
	}
	var b strings.Builder
	b.WriteString([]string{"{", " { ", "{\n"}[r.IntN(3)])
	n := r.IntN(6)
	for i := range n {
		if i > 0 {
			b.WriteString([]string{",", " , ", ",\t"}[r.IntN(3)])
		}
		b.WriteString(memberNames[r.IntN(len(memberNames))])
		b.WriteString([]string{":", " : "}[r.IntN(2)])
		b.WriteString(jsonSamples[r.IntN(len(jsonSamples))])
	}
	b.WriteString("}")
	return []byte(b.String())
}

func sameResponse(t *testing.T, in []byte, a, b *response) {
	t.Helper()
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Fatalf("%q: response %s, want %s", in, jb, ja)
	}
}

func checkParse(t *testing.T, mux *Mux, in []byte) {
	t.Helper()
	c := NewConn(mux, strings.NewReader(""), &bytes.Buffer{})
	wantReq, wantH, wantResp := refParse(mux, in)
	gotReq, gotH, gotResp := c.parse(in)
	sameResponse(t, in, wantResp, gotResp)
	if (wantH == nil) != (gotH == nil) || (wantReq == nil) != (gotReq == nil) {
		t.Fatalf("%q: handler/request found %v/%v, want %v/%v", in, gotH != nil, gotReq != nil, wantH != nil, wantReq != nil)
	}
	if wantReq != nil && (wantReq.Method != gotReq.Method || wantReq.JSONRPC != gotReq.JSONRPC ||
		!bytes.Equal(wantReq.ID, gotReq.ID) || !bytes.Equal(wantReq.Params, gotReq.Params)) {
		t.Fatalf("%q: request %+v, want %+v", in, gotReq, wantReq)
	}
	if wantReq == nil {
		return
	}
	var pw, pg sendParams
	ew, eg := refDecodeParams(wantReq.Params, &pw), DecodeParams(gotReq.Params, &pg)
	if fmt.Sprint(ew) != fmt.Sprint(eg) {
		t.Fatalf("%q: DecodeParams error %v, want %v", in, eg, ew)
	}
	if ew == nil && fmt.Sprintf("%+v %v", pw, deref(pw.Limit)) != fmt.Sprintf("%+v %v", pg, deref(pg.Limit)) {
		t.Fatalf("%q: params %+v, want %+v", in, pg, pw)
	}
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestParseMatchesEncodingJSON(t *testing.T) {
	mux := testMux()
	mux.Handle("conference.send", func(context.Context, json.RawMessage) (any, error) { return nil, nil })
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		in := randomRequest(r)
		if bytes.Count(in, []byte(`"text"`)) > 1 || bytes.Contains(in, []byte(`"nope"`)) && bytes.Contains(in, []byte(`"text":1`)) {
			continue // several problems: the old map order chose which one is named
		}
		checkParse(t, mux, in)
	}
}

func FuzzParseMatchesEncodingJSON(f *testing.F) {
	for _, s := range jsonSamples {
		f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"echo","params":` + s + `}`))
	}
	mux := testMux()
	f.Fuzz(func(t *testing.T, in []byte) {
		var obj map[string]json.RawMessage
		if json.Unmarshal(in, &obj) == nil {
			var p map[string]json.RawMessage
			if json.Unmarshal(obj["params"], &p) == nil && len(p) > 1 {
				return // several members may each be a problem: the old order was random
			}
		}
		checkParse(t, mux, in)
	})
}

func TestAppendStringMatchesMarshal(t *testing.T) {
	var all []string
	for c := range 256 {
		all = append(all, string([]byte{byte(c)}), "a"+string([]byte{byte(c)})+"b")
	}
	all = append(all, "", "plain", "é", "日本", "\u2028\u2029", "\xe2\x80", "a\xffb", "\U0001F600", "<&>", `"\`)
	r := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		all = append(all, string(b))
	}
	for _, s := range all {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestAppendResponseMatchesMarshal(t *testing.T) {
	results := []any{sendResult{Number: 7, Cursor: 9, Time: "2026-12-02T01:02:03.456789Z"}, sendResult{},
		struct{}{}, map[string]int{"n": 1}, map[string]string{"t": "<é>"}}
	ids := []string{`1`, `-3`, `"x"`, `null`, `"a<b"`, `"é"`, "\"\u2028\"", `1.5e3`, `"sp ace"`}
	for _, id := range ids {
		for _, res := range results {
			r := &response{JSONRPC: "2.0", ID: json.RawMessage(id), Result: res}
			want, _ := json.Marshal(r)
			got, ok := appendResponse(nil, r)
			if !ok {
				if plainID(r.ID) {
					t.Errorf("id %s: not taken", id)
				}
				continue
			}
			if !bytes.Equal(got, want) {
				t.Errorf("appendResponse = %s, want %s", got, want)
			}
		}
	}
	if _, ok := appendResponse(nil, errResponse(json.RawMessage("1"), Errorf(1, "x"))); ok {
		t.Error("an error response took the fast path")
	}
}

func TestMessageNotificationMatchesWithAt(t *testing.T) {
	at := rfc3339(time.Date(2026, 12, 2, 1, 2, 3, 456789000, time.UTC))
	yes, no := true, false
	for _, m := range []messageJSON{
		{Conference: "ab", From: "k", Name: "node <1>", Text: "hi \"there\"\n\xff", Number: 3, Time: at, Cursor: 4},
		{From: "k", Text: "", Action: true},
		{From: "k", Text: "x", Pending: &yes},
		{Conference: "c", From: "k", Name: "é\u2028", Text: "t", Number: 1 << 31, Cursor: -1, Pending: &no},
	} {
		raw, err := withAt(m, time.Date(2026, 12, 2, 1, 2, 3, 456789000, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		var a, b syncBuffer
		if err := NewConn(NewMux(), strings.NewReader(""), &a).notifyObject("conference.message", raw); err != nil {
			t.Fatal(err)
		}
		if err := NewConn(NewMux(), strings.NewReader(""), &b).notifyMessage(&m, at); err != nil {
			t.Fatal(err)
		}
		if a.String() != b.String() {
			t.Fatalf("notifyMessage wrote %q, want %q", b.String(), a.String())
		}
	}
	if !utf8.ValidString(at) {
		t.Fatal("at")
	}
}
