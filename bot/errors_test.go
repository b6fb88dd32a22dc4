package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"confchat/conference"
	"confchat/identity"
	"confchat/node"
)

func TestErrorCodes(t *testing.T) {
	cases := []struct {
		err  error
		code int
	}{
		{fmt.Errorf("persist conference rows: %w", errors.New("sqlite: disk I/O error")), CodeInternalError},
		{io.ErrUnexpectedEOF, CodeInternalError},
		{fmt.Errorf("%w: title is 300 bytes", conference.ErrTooLong), CodeInvalidParams},
		{conference.ErrEmpty, CodeInvalidParams},
		{conference.ErrNotConnected, CodeNotMember},
		{fmt.Errorf("%w: a point of small order", identity.ErrInvalidPublicKey), CodeBadID},
		{node.ErrUnknownConference, CodeUnknownConference},
		{node.ErrClosed, CodeShuttingDown},
		{Errorf(1234, "custom"), 1234},
	}
	for _, c := range cases {
		var e *Error
		if !errors.As(toAppError(c.err), &e) || e.Code != c.code {
			t.Errorf("%v: got %v, want code %d", c.err, e, c.code)
		}
	}
	var e *Error
	errors.As(toAppError(fmt.Errorf("%w: a point of small order", identity.ErrInvalidPublicKey)), &e)
	if !strings.HasPrefix(e.Message, "bad ID: not a valid public key") {
		t.Errorf("bad key message %q", e.Message)
	}
}

// repeatedPrefix returns the first "word: " segment that occurs twice in
// msg, or "".
func repeatedPrefix(msg string) string {
	parts := strings.Split(msg, ": ")
	seen := map[string]bool{}
	for _, p := range parts[:len(parts)-1] {
		p = strings.ToLower(strings.ReplaceAll(p, "_", " "))
		if seen[p] {
			return p
		}
		seen[p] = true
	}
	return ""
}

// Bad requests against a real node get the documented codes and messages
// that name the problem once.
func TestErrorMessagesNameTheProblemOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := node.Open(ctx, node.Config{Profile: filepath.Join(t.TempDir(), "p"), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close(context.Background())
	srv := New(n, Options{})
	me, err := n.Self(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := n.CreateConference(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	lowOrder := identity.ID{Nospam: 1} // the all-zero key is a point of small order
	long := strings.Repeat("x", 5000)
	cases := []struct {
		method string
		params string
		code   int
	}{
		{"friend.accept", `{"public_key":"zz"}`, CodeInvalidParams},
		{"friend.accept", `{"public_key":"` + me.Key.String() + `"}`, CodeNoRequest},
		{"conference.join", `{"conference":"12"}`, CodeInvalidParams},
		{"conference.send", `{"conference":"` + conf.String() + `","text":"` + long + `"}`, CodeInvalidParams},
		{"conference.set_title", `{"conference":"` + conf.String() + `","title":"` + long + `"}`, CodeInvalidParams},
		{"self.set_name", `{"name":"` + long + `"}`, CodeInvalidParams},
		{"self.set_name", `{"name":1}`, CodeInvalidParams},
		{"friend.add", `{"id":"` + lowOrder.String() + `","address":"127.0.0.1:1"}`, CodeBadID},
		{"friend.add", `{"id":"` + me.ID.String() + `","address":"127.0.0.1:1","message":"` + long + `"}`, CodeInvalidParams},
		{"friend.add", `{"id":"00","address":"127.0.0.1:1"}`, CodeBadID},
		{"friend.add", `{"id":"` + me.ID.String() + `","address":"nowhere"}`, CodeBadAddress},
	}
	for _, c := range cases {
		h := srv.mux.handlers[c.method]
		_, err := h(ctx, json.RawMessage(c.params))
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s %s: err = %v", c.method, c.params[:min(40, len(c.params))], err)
			continue
		}
		if e.Code != c.code {
			t.Errorf("%s: code %d (%s), want %d", c.method, e.Code, e.Message, c.code)
		}
		t.Logf("%s -> %d %s", c.method, e.Code, e.Message)
		if p := repeatedPrefix(e.Message); p != "" {
			t.Errorf("%s: message %q repeats %q", c.method, e.Message, p)
		}
	}
}
