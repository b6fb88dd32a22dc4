package bot

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"confchat/identity"
	"confchat/node"
)

func openTestNode(t testing.TB) *node.Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := node.Open(ctx, node.Config{Profile: filepath.Join(t.TempDir(), "p"), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(context.Background()) })
	return n
}

func call(t *testing.T, srv *Server, method, params string, out any) error {
	t.Helper()
	res, err := srv.mux.handlers[method](context.Background(), json.RawMessage(params))
	if err != nil {
		return err
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatal(err)
		}
	}
	return nil
}

func TestSetNospam(t *testing.T) {
	srv := New(openTestNode(t), Options{})
	var got struct{ ID string }
	if err := call(t, srv, "self.set_nospam", `{"nospam":"deadBEEF"}`, &got); err != nil {
		t.Fatal(err)
	}
	id, err := identity.ParseID(got.ID)
	if err != nil || id.Nospam != 0xDEADBEEF {
		t.Fatalf("id %q (%v), nospam %#x", got.ID, err, id.Nospam)
	}
	var self struct{ ID, Nospam string }
	if err := call(t, srv, "self.get", `{}`, &self); err != nil || self.ID != got.ID || self.Nospam != "DEADBEEF" {
		t.Fatalf("self.get after set_nospam: %+v %v", self, err)
	}
	// Omitted: a random one (two in a row differ but for a 2^-32 chance).
	var r1, r2 struct{ ID string }
	if err := call(t, srv, "self.set_nospam", `{}`, &r1); err != nil {
		t.Fatal(err)
	}
	if err := call(t, srv, "self.set_nospam", `null`, &r2); err != nil {
		t.Fatal(err)
	}
	if r1.ID == got.ID || r1.ID == r2.ID || r1.ID[:64] != got.ID[:64] {
		t.Fatalf("random nospam: %s then %s (was %s)", r1.ID, r2.ID, got.ID)
	}
	for _, bad := range []string{`{"nospam":"abc"}`, `{"nospam":"GGGGGGGG"}`, `{"nospam":""}`, `{"nospam":12}`, `{"nospam":"deadbeef00"}`} {
		var e *Error
		if err := call(t, srv, "self.set_nospam", bad, nil); !errors.As(err, &e) || e.Code != CodeInvalidParams {
			t.Errorf("%s: err = %v", bad, err)
		} else if strings.Count(e.Message, "invalid params") != 1 {
			t.Errorf("%s: message %q", bad, e.Message)
		}
	}
	var after struct{ ID string }
	call(t, srv, "self.get", `{}`, &after)
	if after.ID != r2.ID {
		t.Fatal("a refused set_nospam changed the ID")
	}
}

func TestNotificationsForNewEvents(t *testing.T) {
	conf := identity.ConferenceID{1, 2}
	k := identity.PublicKey{9}
	cases := []struct {
		ev     node.Event
		method string
		json   string
	}{
		{node.MessageDelivered{Conference: conf, UpTo: 7}, "conference.delivered",
			`{"conference":"` + conf.String() + `","number":7}`},
		{node.ConferenceLeft{Conference: conf}, "conference.left", `{"conference":"` + conf.String() + `"}`},
		{node.FriendRemoved{Friend: k}, "friend.removed", `{"public_key":"` + k.String() + `"}`},
		{node.StorageFailed{Err: errors.New("disk full"), Retrying: true}, "storage.failed",
			`{"error":"disk full","retrying":true}`},
		{node.MessageReceived{Conference: conf, Message: node.Message{Seq: 5, From: k, Text: "hi", Number: 3}},
			"conference.message", `{"conference":"` + conf.String() + `","from":"` + k.String() +
				`","name":"","text":"hi","action":false,"number":3,"time":"","cursor":5}`},
	}
	for _, c := range cases {
		m, params := notificationFor(c.ev)
		b, _ := json.Marshal(params)
		if m != c.method || string(b) != c.json {
			t.Errorf("%T: %s %s, want %s %s", c.ev, m, b, c.method, c.json)
		}
	}
}
