package e2e

import (
	"bufio"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

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

// SIGTERM and the shutdown method both stop the bot cleanly (exit 0).
func TestCleanExits(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"sigterm", "method"} {
		b := startBot(t, "exit-"+how, "")
		switch how {
		case "sigterm":
			b.signal(syscall.SIGTERM)
		case "method":
			b.call("shutdown", nil, nil)
		}
		done := make(chan error, 1)
		go func() { done <- b.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: exit: %v\n%s", how, err, tail(b.stderr.String()))
			}
		case <-time.After(20 * time.Second):
			t.Errorf("%s: bot did not exit", how)
		}
		b.cmd = nil // already reaped
	}
}

// --socket serves the API to several clients at once, each with its own
// ready notification and responses.
func TestUnixSocketClients(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "bot.sock")
	b := startBot(t, "sock", "", "--socket", sock)
	var conns []net.Conn
	eventually(t, 10*time.Second, "socket listening", func() error {
		c, err := net.Dial("unix", sock)
		if err == nil {
			conns = append(conns, c)
		}
		return err
	})
	c2, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	conns = append(conns, c2)
	for i, c := range conns {
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(c)
		line, err := r.ReadString('\n')
		if err != nil || !strings.Contains(line, `"method":"ready"`) {
			t.Fatalf("client %d: first line %q, %v", i, line, err)
		}
		fmt.Fprintf(c, `{"jsonrpc":"2.0","id":%d,"method":"self.get"}`+"\n", 7+i)
		line, err = r.ReadString('\n')
		if err != nil || !strings.Contains(line, fmt.Sprintf(`"id":%d`, 7+i)) || !strings.Contains(line, b.key) {
			t.Fatalf("client %d: self.get answer %q, %v", i, line, err)
		}
	}
	b.stop()
}
