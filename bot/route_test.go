package bot

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net"
	"path/filepath"
	"testing"
	"time"

	"confchat/identity"
	"confchat/netlayer"
	"confchat/node"
	"confchat/relay"
)

// TestRouteNotification: connection.route carries exactly public_key,
// route and switch.
func TestRouteNotification(t *testing.T) {
	k := identity.PublicKey{7}
	method, params := notificationFor(node.RouteChanged{Peer: k, Route: netlayer.RouteRelay, Switch: node.SwitchSwitching})
	b, err := json.Marshal(params)
	if err != nil || method != "connection.route" {
		t.Fatalf("%q, %v", method, err)
	}
	var got map[string]string
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"public_key": k.String(), "route": "relay", "switch": "switching"}
	if len(got) != len(want) {
		t.Fatalf("params %s, want %v", b, want)
	}
	for f, v := range want {
		if got[f] != v {
			t.Fatalf("params %s, want %v", b, want)
		}
	}
}

// TestStatusListsRelays: self.status lists our relays and whether we are
// registered (not, at a relay that does not answer), and friend.list
// entries carry switch.
func TestStatusListsRelays(t *testing.T) {
	kp, err := identity.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := relay.Addr{Key: kp.Public(), HostPort: ln.Addr().String()}
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := node.Open(ctx, node.Config{Profile: filepath.Join(t.TempDir(), "p"), Listen: "127.0.0.1:0",
		Relays: []relay.Addr{dead}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close(context.Background())
	srv := New(n, Options{})
	var st struct {
		Relays []relayJSON
	}
	if err := call(t, srv, "self.status", `{}`, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Relays) != 1 || st.Relays[0].Address != dead.Bare() || st.Relays[0].Registered {
		t.Fatalf("self.status relays = %+v", st.Relays)
	}
	var self struct{ Addresses []string }
	if err := call(t, srv, "self.get", `{}`, &self); err != nil || len(self.Addresses) != 2 || self.Addresses[1] != dead.String() {
		t.Fatalf("self.get addresses = %q, %v (want the relay announced after the direct one)", self.Addresses, err)
	}
	other, err := identity.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := identity.ID{Key: other.Public()}
	if err := n.AddFriend(ctx, id, "127.0.0.1:9", ""); err != nil {
		t.Fatal(err)
	}
	var fl struct {
		Friends []map[string]any
	}
	if err := call(t, srv, "friend.list", `{}`, &fl); err != nil {
		t.Fatal(err)
	}
	if len(fl.Friends) != 1 || fl.Friends[0]["switch"] != "" || fl.Friends[0]["route"] != "" {
		t.Fatalf("friend.list = %+v", fl.Friends)
	}
}
