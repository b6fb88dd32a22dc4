package bot

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"confchat/node"
)

// rpcErr calls method and returns its *Error (failing the test when the
// call succeeds or fails otherwise).
func rpcErr(t *testing.T, srv *Server, method, params string) *Error {
	t.Helper()
	err := call(t, srv, method, params, nil)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%s %s: err = %v, want an *Error", method, params, err)
	}
	return e
}

// checkMessage fails when an invalid-params message leaks Go's wording or
// names its problem more than once.
func checkMessage(t *testing.T, what, msg string) {
	t.Helper()
	for _, leak := range []string{"unmarshal", "Go value", "Go struct", "bot.", "json:"} {
		if strings.Contains(msg, leak) {
			t.Errorf("%s: message %q leaks %q", what, msg, leak)
		}
	}
	if strings.Count(msg, "invalid params") != 1 {
		t.Errorf("%s: message %q", what, msg)
	}
}

func TestAPIRequiredAndMistypedParams(t *testing.T) {
	srv := New(openTestNode(t), Options{})
	if err := call(t, srv, "self.set_name", `{"name":"alice"}`, nil); err != nil {
		t.Fatal(err)
	}
	var c struct{ Conference string }
	if err := call(t, srv, "conference.create", `{"title":"t"}`, &c); err != nil {
		t.Fatal(err)
	}
	conf := `"conference":"` + c.Conference + `"`
	cases := []struct {
		method, params, want string
	}{
		// Required fields (docs/bot-api.md: everything not marked "?").
		{"self.set_name", `{}`, "invalid params: name is missing"},
		{"self.set_name", `null`, "invalid params: name is missing"},
		{"self.set_name", `{"name":null}`, "invalid params: name: want a string"},
		{"conference.mark_read", `{` + conf + `}`, "invalid params: cursor is missing"},
		{"conference.mark_read", `{"cursor":0}`, "invalid params: conference is missing"},
		{"friend.add", `{"address":"127.0.0.1:1"}`, "invalid params: id is missing"},
		{"friend.accept", `{}`, "invalid params: public_key is missing"},
		{"friend.decline", `{}`, "invalid params: public_key is missing"},
		{"friend.remove", `{}`, "invalid params: public_key is missing"},
		{"conference.invite", `{` + conf + `}`, "invalid params: public_key is missing"},
		{"conference.join", `{}`, "invalid params: conference is missing"},
		{"conference.peers", `{}`, "invalid params: conference is missing"},
		{"conference.send", `{` + conf + `}`, "invalid params: text is missing"},
		{"conference.set_title", `{` + conf + `}`, "invalid params: title is missing"},
		{"conference.history", `{}`, "invalid params: conference is missing"},
		{"conference.search", `{}`, "invalid params: text is missing"},
		{"conference.leave", `{}`, "invalid params: conference is missing"},
		// Wrong types and shapes: the field and the type wanted, once.
		{"self.get", `[]`, "invalid params: want an object"},
		{"self.get", `5`, "invalid params: want an object"},
		{"self.get", `"x"`, "invalid params: want an object"},
		{"self.get", `{"x":1}`, `invalid params: unknown field "x"`},
		{"friend.add", `{"id":"x","address":5}`, "invalid params: address: want a string"},
		{"conference.history", `{` + conf + `,"limit":1.5}`, "invalid params: limit: want an integer"},
		{"conference.history", `{` + conf + `,"limit":"5"}`, "invalid params: limit: want an integer"},
		{"conference.send", `{` + conf + `,"text":"hi","action":"yes"}`, "invalid params: action: want true or false"},
		{"conference.mark_read", `{` + conf + `,"cursor":[1]}`, "invalid params: cursor: want an integer"},
		{"conference.search", `{"text":"a","conference":7}`, "invalid params: conference: want a string"},
		{"self.set_nospam", `{"nospam":12}`, "invalid params: nospam: want a string"},
	}
	for _, tc := range cases {
		e := rpcErr(t, srv, tc.method, tc.params)
		if e.Code != CodeInvalidParams || e.Message != tc.want {
			t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.params, e.Code, e.Message, CodeInvalidParams, tc.want)
		}
		checkMessage(t, tc.method+" "+tc.params, e.Message)
	}
	var me struct{ Name string }
	if err := call(t, srv, "self.get", `{}`, &me); err != nil || me.Name != "alice" {
		t.Fatalf("after refused set_name calls: name %q (%v), want alice", me.Name, err)
	}
	// Optional fields may still be omitted, and null is "not given".
	for _, ok := range []struct{ method, params string }{
		{"conference.history", `{` + conf + `}`},
		{"conference.history", `{` + conf + `,"limit":null}`},
		{"conference.search", `{"text":"a","conference":null}`},
		{"conference.mark_read", `{` + conf + `,"cursor":0}`},
		{"self.set_name", `{"name":"alice"}`},
	} {
		if err := call(t, srv, ok.method, ok.params, nil); err != nil {
			t.Errorf("%s %s: %v", ok.method, ok.params, err)
		}
	}
}

func TestAPIMarkReadRefusesNonCursor(t *testing.T) {
	srv := New(openTestNode(t), Options{})
	var a, b struct{ Conference string }
	if err := call(t, srv, "conference.create", `{"title":"a"}`, &a); err != nil {
		t.Fatal(err)
	}
	if err := call(t, srv, "conference.create", `{"title":"b"}`, &b); err != nil {
		t.Fatal(err)
	}
	var sent struct{ Cursor int64 }
	if err := call(t, srv, "conference.send", `{"conference":"`+a.Conference+`","text":"hi"}`, &sent); err != nil || sent.Cursor <= 0 {
		t.Fatalf("send: cursor %d, %v", sent.Cursor, err)
	}
	markA := func(cursor string) error {
		return call(t, srv, "conference.mark_read", `{"conference":"`+a.Conference+`","cursor":`+cursor+`}`, nil)
	}
	if err := markA(itoa(sent.Cursor)); err != nil {
		t.Fatalf("mark_read at the message's cursor: %v", err)
	}
	for _, bad := range []string{"1000000000000000", itoa(sent.Cursor + 1), "-1"} {
		e := rpcErr(t, srv, "conference.mark_read", `{"conference":"`+a.Conference+`","cursor":`+bad+`}`)
		if e.Code != CodeInvalidParams || !strings.Contains(e.Message, "history cursor") {
			t.Errorf("cursor %s: %d %q, want invalid params naming the history cursor", bad, e.Code, e.Message)
		}
		checkMessage(t, "cursor "+bad, e.Message)
	}
	// A cursor of another conference's message is not one of b's.
	e := rpcErr(t, srv, "conference.mark_read", `{"conference":"`+b.Conference+`","cursor":`+itoa(sent.Cursor)+`}`)
	if e.Code != CodeInvalidParams {
		t.Errorf("another conference's cursor: %d %q", e.Code, e.Message)
	}
	var list struct {
		Conferences []struct {
			Conference string
			LastRead   int64 `json:"last_read"`
		}
	}
	if err := call(t, srv, "conference.list", `{}`, &list); err != nil {
		t.Fatal(err)
	}
	for _, c := range list.Conferences {
		want := int64(0)
		if c.Conference == a.Conference {
			want = sent.Cursor
		}
		if c.LastRead != want {
			t.Errorf("%s: last_read %d after refused marks, want %d", c.Conference, c.LastRead, want)
		}
	}
	if err := markA("0"); err != nil {
		t.Fatalf("mark_read 0: %v", err)
	}
}

func itoa(v int64) string {
	return strconv.FormatInt(v, 10)
}

func TestAPISearchTextLimit(t *testing.T) {
	n := openTestNode(t)
	srv := New(n, Options{})
	long := strings.Repeat("a", 200_000)
	e := rpcErr(t, srv, "conference.search", `{"text":"`+long+`"}`)
	want := "invalid params: text is 200000 bytes, the limit is 1000"
	if e.Code != CodeInvalidParams || e.Message != want {
		t.Fatalf("200,000-byte search: %d %q, want %q", e.Code, e.Message, want)
	}
	var res struct{ Messages []any }
	if err := call(t, srv, "conference.search", `{"text":"`+long[:node.MaxSearchText]+`"}`, &res); err != nil {
		t.Fatalf("search at the limit: %v", err)
	}
	// The node refuses it too, so every front end gets the same clear error.
	if _, err := n.Search(context.Background(), nil, long, 10); !errors.Is(err, node.ErrSearchTooLong) {
		t.Fatalf("node.Search of 200,000 bytes: %v, want ErrSearchTooLong", err)
	}
	if ae := toAppError(node.ErrSearchTooLong).(*Error); ae.Code != CodeInvalidParams {
		t.Fatalf("ErrSearchTooLong maps to %d", ae.Code)
	}
}

func TestAPIInviteSelf(t *testing.T) {
	srv := New(openTestNode(t), Options{})
	var me struct {
		PublicKey string `json:"public_key"`
	}
	if err := call(t, srv, "self.get", `{}`, &me); err != nil {
		t.Fatal(err)
	}
	var c struct{ Conference string }
	if err := call(t, srv, "conference.create", `{}`, &c); err != nil {
		t.Fatal(err)
	}
	e := rpcErr(t, srv, "conference.invite", `{"conference":"`+c.Conference+`","public_key":"`+me.PublicKey+`"}`)
	if e.Code != CodeSelf || e.Message != "that is our own key" {
		t.Fatalf("invite ourselves: %d %q, want %d", e.Code, e.Message, CodeSelf)
	}
}
