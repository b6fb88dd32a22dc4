package e2e

import "testing"

// Garbage, unknown methods and bad params each get a JSON-RPC error and
// the bot keeps serving.
func TestBadInputKeepsServing(t *testing.T) {
	t.Parallel()
	a := startBot(t, "alice", "")
	cases := []struct {
		line string
		id   int
		code int
	}{
		{"this is not json", 0, -32700},
		{`{"jsonrpc":"2.0","id":1,"method":"no.such"}`, 1, -32601},
		{`{"jsonrpc":"2.0","id":2,"method":"conference.send","params":{"conference":"zz","text":"x"}}`, 2, -32602},
		{`{"jsonrpc":"2.0","id":3,"method":"friend.add","params":{"id":"0000","address":"127.0.0.1:1"}}`, 3, 1003},
		{`{"jsonrpc":"2.0","id":4,"method":"conference.peers","params":{"conference":"` + zeros(66) + `"}}`, 4, 1001},
		{`{"jsonrpc":"2.0","id":5,"method":"self.set_name","params":{"nam":"x"}}`, 5, -32602},
		{`{"jsonrpc":"2.0","id":6}`, 6, -32600},
	}
	for _, c := range cases {
		if c.id == 0 {
			// A parse error answers with id null.
			err := a.raw(c.line, -1, nil)
			if e, ok := err.(*rpcError); !ok || e.Code != c.code {
				t.Errorf("%s: got %v, want code %d", c.line, err, c.code)
			}
			continue
		}
		err := a.raw(c.line, c.id, nil)
		e, ok := err.(*rpcError)
		if !ok || e.Code != c.code {
			t.Errorf("%s: got %v, want code %d", c.line, err, c.code)
		}
	}
	a.mu.Lock()
	a.nextID = 100
	a.mu.Unlock()
	var self struct {
		ID string `json:"id"`
	}
	a.call("self.get", nil, &self)
	if self.ID != a.id {
		t.Fatalf("self.get after garbage: %q", self.ID)
	}
	a.stop()
}

func zeros(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '0'
	}
	return string(b)
}
