package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2"
	"github.com/anacrolix/dht/v2/bep44"
	alog "github.com/anacrolix/log"
	"golang.org/x/time/rate"

	"confchat/discovery/dhttest"
)

type dhtSelf struct {
	Addresses []string `json:"addresses"`
	DHT       struct {
		Enabled     bool     `json:"enabled"`
		Ready       bool     `json:"ready"`
		Listen      string   `json:"listen"`
		Nodes       int      `json:"nodes"`
		PublishSeq  int64    `json:"publish_seq"`
		Published   []string `json:"published"`
		Error       string   `json:"error"`
		PacketsSent int64    `json:"packets_sent"`
	} `json:"dht"`
}

func (b *bot) self() dhtSelf {
	var s dhtSelf
	b.call("self.get", nil, &s)
	return s
}

type publishedNote struct {
	Addresses []string `json:"addresses"`
	Seq       int64    `json:"seq"`
}

// waitPublished waits for a dht.published notification with a sequence
// number above minSeq.
func (b *bot) waitPublished(minSeq int64) publishedNote {
	b.t.Helper()
	var p publishedNote
	m := b.waitNote("dht.published", 30*time.Second, func(raw json.RawMessage) bool {
		var v publishedNote
		json.Unmarshal(raw, &v)
		return v.Seq > minSeq
	})
	if err := json.Unmarshal(m.Params, &p); err != nil {
		b.t.Fatal(err)
	}
	return p
}

// deadAddr is where nobody listens: a bot advertising only it can dial
// out but can never be dialled.
const deadAddr = "127.0.0.1:1"

// Two bots that know only each other's IDs become friends and chat in a
// conference; after one restarts on a new port the other finds it again
// through the DHT and the conference re-knits, no address typed. Alice
// advertises a dead address, so Bob can never dial her: every
// connection is Alice's, to addresses the DHT gave her.
func TestDHTFriendsByIDAndRefound(t *testing.T) {
	t.Parallel()
	net := dhttest.Start(t, 8)
	flags := []string{"--dht-bootstrap", net.Bootstrap(2), "--dht-lookup-interval", "500ms"}
	alice := startBot(t, "alice", "", append([]string{"--advertise", deadAddr}, flags...)...)
	bob := startBot(t, "bob", "", append([]string{"--accept-friends", "--auto-join"}, flags...)...)
	first := bob.waitPublished(0)
	if !sameStrings(first.Addresses, bob.addresses) {
		t.Fatalf("bob published %v, announces %v", first.Addresses, bob.addresses)
	}
	alice.waitPublished(0)

	alice.call("friend.add", map[string]any{"id": bob.id, "message": "found you on the DHT"}, nil)
	bob.waitNote("friend.request", 10*time.Second, hasKey(alice.key))
	alice.waitNote("friend.online", 10*time.Second, hasKey(bob.key))
	conf := conferenceOf(t, alice, "dht room", bob)
	waitActive(t, conf, 20*time.Second, alice, bob)
	alice.call("conference.send", map[string]any{"conference": conf, "text": "hello bob"}, nil)
	bob.waitNote("conference.message", 10*time.Second, hasText("hello bob"))
	bob.call("conference.send", map[string]any{"conference": conf, "text": "hello alice"}, nil)
	alice.waitNote("conference.message", 10*time.Second, hasText("hello alice"))

	st := bob.self()
	if !st.DHT.Enabled || !st.DHT.Ready || st.DHT.Nodes == 0 || st.DHT.PublishSeq != first.Seq ||
		!sameStrings(st.DHT.Published, bob.addresses) || st.DHT.Error != "" {
		t.Fatalf("bob's self.get dht: %+v", st.DHT)
	}

	// Bob moves to a new port.
	oldAddr := bob.addresses[0]
	onlineBefore := len(alice.notesOf("friend.online"))
	bob.stop()
	alice.waitNote("friend.offline", 20*time.Second, hasKey(bob.key))
	bob.start()
	if bob.addresses[0] == oldAddr {
		t.Fatalf("bob did not move (%s)", oldAddr)
	}
	second := bob.waitPublished(first.Seq)
	if !sameStrings(second.Addresses, bob.addresses) {
		t.Fatalf("bob republished %v, announces %v", second.Addresses, bob.addresses)
	}
	eventually(t, 60*time.Second, "alice finds bob at his new port", func() error {
		if n := len(alice.notesOf("friend.online")); n <= onlineBefore {
			return fmt.Errorf("%d friend.online notifications, none since the move", n)
		}
		return nil
	})
	waitActive(t, conf, 30*time.Second, alice, bob)
	alice.call("conference.send", map[string]any{"conference": conf, "text": "you moved"}, nil)
	bob.waitNote("conference.message", 20*time.Second, hasText("you moved"))
	bob.call("conference.send", map[string]any{"conference": conf, "text": "found me"}, nil)
	alice.waitNote("conference.message", 20*time.Second, hasText("found me"))

	var fl struct {
		Friends []struct {
			PublicKey string   `json:"public_key"`
			Addresses []string `json:"addresses"`
		} `json:"friends"`
	}
	alice.call("friend.list", nil, &fl)
	if len(fl.Friends) != 1 || len(fl.Friends[0].Addresses) == 0 || fl.Friends[0].Addresses[0] != bob.addresses[0] {
		t.Fatalf("alice's friend list %+v, want bob's new address %s first", fl.Friends, bob.addresses[0])
	}
	bob.call("friend.list", nil, &fl)
	if len(fl.Friends) != 1 || !sameStrings(fl.Friends[0].Addresses, []string{deadAddr}) {
		t.Fatalf("bob knows %+v for alice, want only the dead address", fl.Friends)
	}
}

func hasText(text string) func(json.RawMessage) bool {
	return func(p json.RawMessage) bool {
		var v struct {
			Text string `json:"text"`
		}
		json.Unmarshal(p, &v)
		return v.Text == text
	}
}

// countingDHTNode is a real DHT node whose socket counts what reaches it.
type countingDHTNode struct {
	srv  *dht.Server
	recv atomic.Int64
}

type countConn struct {
	net.PacketConn
	n *atomic.Int64
}

func (c countConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, a, err := c.PacketConn.ReadFrom(b)
	if err == nil {
		c.n.Add(1)
	}
	return n, a, err
}

func startCountingDHTNode(t *testing.T) *countingDHTNode {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &countingDHTNode{}
	quiet := alog.NewLogger("counting")
	quiet.SetHandlers(alog.DiscardHandler)
	c.srv, err = dht.NewServer(&dht.ServerConfig{Conn: countConn{pc, &c.recv}, NoSecurity: true,
		StartingNodes: func() ([]dht.Addr, error) { return nil, nil }, Store: bep44.NewMemory(),
		Exp: 2 * time.Hour, Logger: quiet, SendLimiter: rate.NewLimiter(rate.Inf, 0)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.srv.Close)
	return c
}

// udpSockets counts the UDP sockets process pid holds (Linux /proc).
func udpSockets(t *testing.T, pid int) int {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			if f := strings.Fields(line); len(f) > 9 {
				inodes["socket:["+f[9]+"]"] = true
			}
		}
	}
	fds, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "fd"))
	if err != nil {
		t.Fatalf("reading the bot's descriptors: %v", err)
	}
	n := 0
	for _, fd := range fds {
		if l, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "fd", fd.Name())); err == nil && inodes[l] {
			n++
		}
	}
	return n
}

// --no-dht sends no UDP packet at all, even with a saved routing table
// that names a DHT node; everything else works as before, and adding a
// friend without an address says the DHT is off.
func TestNoDHTSendsNoUDP(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("needs /proc to count the bot's UDP sockets")
	}
	sink := startCountingDHTNode(t)
	profile := filepath.Join(t.TempDir(), "quiet")
	// Control run with the DHT on: the node is reached and lands in the
	// saved routing table.
	on := startBot(t, "quiet", profile, "--dht-bootstrap", sink.srv.Addr().String())
	eventually(t, 20*time.Second, "the bot bootstraps from the counting node", func() error {
		if s := on.self(); !s.DHT.Ready || s.DHT.Nodes == 0 {
			return fmt.Errorf("dht %+v", s.DHT)
		}
		return nil
	})
	if udpSockets(t, on.cmd.Process.Pid) == 0 {
		t.Fatal("the DHT-on control run holds no UDP socket: the socket count proves nothing")
	}
	on.stop()
	if sink.recv.Load() == 0 {
		t.Fatal("the control run sent the counting node nothing")
	}

	before := sink.recv.Load()
	quiet := startBot(t, "quiet", profile, "--no-dht")
	peer := startBot(t, "peer", "", "--accept-friends", "--auto-join")
	if s := quiet.self(); s.DHT.Enabled || s.DHT.PacketsSent != 0 || s.DHT.Listen != "" {
		t.Fatalf("--no-dht self.get dht: %+v", s.DHT)
	}
	err := quiet.try("friend.add", map[string]any{"id": peer.id}, nil)
	if e, ok := err.(*rpcError); !ok || e.Code != 1021 {
		t.Fatalf("friend.add without an address under --no-dht: %v", err)
	}
	befriend(t, quiet, peer)
	conf := conferenceOf(t, quiet, "quiet room", peer)
	waitActive(t, conf, 20*time.Second, quiet, peer)
	quiet.call("conference.send", map[string]any{"conference": conf, "text": "no udp here"}, nil)
	peer.waitNote("conference.message", 10*time.Second, hasText("no udp here"))
	if n := udpSockets(t, quiet.cmd.Process.Pid); n != 0 {
		t.Fatalf("--no-dht bot holds %d UDP sockets", n)
	}
	time.Sleep(500 * time.Millisecond) // let any stray packet arrive
	if got := sink.recv.Load() - before; got != 0 {
		t.Fatalf("--no-dht bot sent %d UDP packets to the node in its saved routing table", got)
	}
}
