package bot

import (
	"errors"
	"fmt"
	"testing"
)

func TestStatusSearchAndMarkRead(t *testing.T) {
	srv := New(openTestNode(t), Options{})
	var st struct {
		ID        string
		Listen    string
		Connected int
		Routes    []routeJSON
	}
	if err := call(t, srv, "self.status", `{}`, &st); err != nil || st.Listen == "" || st.ID == "" || st.Routes == nil {
		t.Fatalf("self.status: %+v %v", st, err)
	}
	var c struct{ Conference string }
	if err := call(t, srv, "conference.create", `{"title":"s"}`, &c); err != nil {
		t.Fatal(err)
	}
	var last struct{ Cursor int64 }
	for i, text := range []string{"hello World", "nothing", "world peace"} {
		if err := call(t, srv, "conference.send", fmt.Sprintf(`{"conference":%q,"text":%q}`, c.Conference, text), &last); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	var found struct{ Messages []messageJSON }
	if err := call(t, srv, "conference.search", `{"text":"world"}`, &found); err != nil {
		t.Fatal(err)
	}
	if len(found.Messages) != 2 || found.Messages[0].Text != "world peace" || found.Messages[0].Conference != c.Conference {
		t.Fatalf("search: %+v", found.Messages)
	}
	if err := call(t, srv, "conference.search", fmt.Sprintf(`{"conference":%q,"text":"peace","limit":1}`, c.Conference), &found); err != nil || len(found.Messages) != 1 {
		t.Fatalf("search in one conference: %+v %v", found.Messages, err)
	}
	if err := call(t, srv, "conference.mark_read", fmt.Sprintf(`{"conference":%q,"cursor":%d}`, c.Conference, last.Cursor), nil); err != nil {
		t.Fatal(err)
	}
	var list struct{ Conferences []confJSON }
	call(t, srv, "conference.list", `{}`, &list)
	if len(list.Conferences) != 1 || list.Conferences[0].LastRead != last.Cursor {
		t.Fatalf("after mark_read: %+v", list.Conferences)
	}
	for _, bad := range []struct{ method, params string }{
		{"conference.search", `{"text":""}`},
		{"conference.search", `{"text":"x","limit":0}`},
		{"conference.search", `{"text":"x","conference":"12"}`},
		{"conference.mark_read", fmt.Sprintf(`{"conference":%q,"cursor":-1}`, c.Conference)},
	} {
		var e *Error
		if err := call(t, srv, bad.method, bad.params, nil); !errors.As(err, &e) || e.Code != CodeInvalidParams {
			t.Errorf("%s %s: %v", bad.method, bad.params, err)
		}
	}
}
