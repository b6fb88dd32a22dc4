package e2e

import (
	"context"
	"net"
	"testing"
	"time"
)

// A flood of friend requests from sybil keys on one network (127.0.1.0/24)
// does not keep a genuine request from another network (127.0.3.1) out:
// the victim's budget is per source prefix, not shared (issue 9, defect
// 10, end to end; TestDefect10FriendRequestFloodFair in peers plays a
// whole day).
func TestFriendRequestThroughSybilFlood(t *testing.T) {
	t.Parallel()
	victim := startBot(t, "victim", "")
	h, err := newHostile(victim.id, victim.addresses[0], zeros(66))
	if err != nil {
		t.Fatal(err)
	}
	h.from = net.ParseIP("127.0.1.5")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h.sybilRequestsN(ctx, 40) // far past one source's burst of 5
	if h.sybils.Load() < 20 {
		t.Fatalf("only %d sybil requests went out", h.sybils.Load())
	}
	victim.waitNote("friend.request", 10*time.Second, nil) // the flood arrived

	genuine := startBot(t, "genuine", "", "--listen", "127.0.3.1:0")
	genuine.call("friend.add", map[string]any{"id": victim.id, "address": victim.addresses[0], "message": "it's me"}, nil)
	victim.waitNote("friend.request", 20*time.Second, hasKey(genuine.key))
	victim.call("friend.accept", map[string]any{"public_key": genuine.key}, nil)
	genuine.waitNote("friend.accepted", 10*time.Second, hasKey(victim.key))
}
