package node

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"confchat/conference"
	"confchat/identity"
	"confchat/netlayer"
	"confchat/peers"
)

func mustKey(t *testing.T, h string) identity.PublicKey {
	t.Helper()
	var k identity.PublicKey
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != len(k) {
		t.Fatalf("bad test key %q", h)
	}
	copy(k[:], b)
	return k
}

// Defect 16: friend.add accepted low-order keys (retried forever) and
// bytes that are not a curve point (stored, never dialled).
func TestDefect16BadKeysRefused(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	n := openNode(t, filepath.Join(t.TempDir(), "p"), "x")
	defer closeNode(t, n)
	bad := map[string]identity.PublicKey{
		"identity point": mustKey(t, "0100000000000000000000000000000000000000000000000000000000000000"),
		"order 2":        mustKey(t, "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
		"order 4":        mustKey(t, "0000000000000000000000000000000000000000000000000000000000000000"),
		"order 8":        mustKey(t, "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
		"not a point":    mustKey(t, "0200000000000000000000000000000000000000000000000000000000000000"),
	}
	for name, key := range bad {
		err := n.AddFriend(ctx, identity.ID{Key: key}, "127.0.0.1:1", "")
		if err == nil || !strings.Contains(err.Error(), "not a valid public key") ||
			!errors.Is(err, identity.ErrInvalidPublicKey) {
			t.Errorf("%s: AddFriend err = %v, want a \"not a valid public key\" error", name, err)
		}
	}
	fs, err := n.Friends(ctx)
	if err != nil || len(fs) != 0 {
		t.Fatalf("friends after refused adds = %+v, %v", fs, err)
	}
}

// Defect 2: an Invite for a conference we are in, from a session that is
// neither a friend nor a member, gave the sender a live connection to the
// conference (the flood and history) without it ever being listed.
func TestDefect02InviteFromStrangerDropped(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	n := openNode(t, filepath.Join(t.TempDir(), "p"), "x")
	defer closeNode(t, n)
	sub := n.Subscribe()
	defer sub.Close()
	me, _ := n.Self(ctx)
	id, err := n.CreateConference(ctx, "secret")
	if err != nil {
		t.Fatal(err)
	}
	s := newStranger(t)
	defer s.close()
	inv := (&conference.InvitePacket{InviterGroup: 7, ID: id}).Encode()
	acc := (&conference.InviteAcceptPacket{JoinerGroup: 3, ID: id}).Encode() // our group is 0
	s.send(t, me, inv, acc, friendRequest(t, me, "barrier"))
	waitEvent(t, sub, 10*time.Second, func(ev Event) bool { _, ok := ev.(FriendRequestReceived); return ok })
	var linked, member bool
	err = n.do(ctx, func(time.Time) error {
		e := n.confs[id].engine
		linked, member = slices.Contains(e.ConnectedPeers(), s.key.Public()), e.Knows(s.key.Public())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if linked || member {
		t.Fatalf("a stranger's invite packets linked it to our conference (linked %v, member %v)", linked, member)
	}
}

// Defect 14: the send pump dropped frames past 4096 queued while send had
// reported success, and nothing healed a dropped frame promptly.
func TestDefect14DroppedFramesHealed(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	p := newPairFreezing(t, time.Minute) // pings (which also heal) every 20 s
	defer p.close(t)
	if _, err := p.a.Send(ctx, p.conf, "warm-up", false); err != nil {
		t.Fatal(err)
	}
	received(t, p.subB, "warm-up", 10*time.Second)

	// Fill alice's queue to bob (without waking its pump), so the next
	// message to bob finds no room.
	hello, err := peers.EncodeHello(peers.PacketAddresses, peers.Hello{Name: "alice", Addresses: p.meA.Addresses})
	if err != nil {
		t.Fatal(err)
	}
	var pu *pump
	err = p.a.do(ctx, func(time.Time) error {
		s := p.a.sessions[p.meB.Key]
		s.pump.stop()
		pu = newPump(s.sess, p.a.healWake) // not running yet: a reader that stalls
		// The first frames go straight to the session until its send
		// window is full; the rest fill the queue.
		for range 4 * pumpMaxFrames {
			if len(pu.queue) == pumpMaxFrames {
				break
			}
			pu.push(hello)
		}
		if len(pu.queue) != pumpMaxFrames {
			return fmt.Errorf("queue holds %d frames, want it full (%d)", len(pu.queue), pumpMaxFrames)
		}
		s.pump = pu
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.a.Send(ctx, p.conf, "squeezed out", false); err != nil {
		t.Fatal(err)
	}
	p.a.do(ctx, func(time.Time) error {
		pu.start(p.a.ctx, &p.a.wg, p.a.log)
		return nil
	})
	received(t, p.subB, "squeezed out", 10*time.Second)
	if c := p.a.Counters(); c.SendDropped == 0 || c.SendHealed == 0 {
		t.Fatalf("counters = %+v, want the drop and its heal counted", c)
	}
}

// Defect 3 (node side): a session closed for a "fatal" reason was never
// reopened, so one forged answer cut a wanted peer off for good.
func TestDefect03FatalCloseRetried(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	n := openNode(t, filepath.Join(t.TempDir(), "p"), "x")
	defer closeNode(t, n)
	friend := otherKey(t)
	if err := n.AddFriend(ctx, identity.ID{Key: friend}, "127.0.0.1:1", ""); err != nil {
		t.Fatal(err)
	}
	var at time.Time
	has := func(now time.Time) bool { _, ok := n.sessions[friend]; return ok }
	n.do(ctx, func(now time.Time) error {
		at = now
		n.handleNet(now, netlayer.SessionStateChanged{Peer: friend, From: netlayer.Connecting, To: netlayer.Closed,
			Reason: &netlayer.FatalError{Reason: netlayer.ReasonProtocol}})
		if has(now) {
			t.Error("session still listed after its close")
		}
		n.tick(now.Add(time.Second))
		if has(now) {
			t.Error("reopened at once: a fatal close must back off")
		}
		n.tick(now.Add(maxRedialBackoff))
		if !has(now) {
			t.Error("a wanted peer was never redialled after a fatal close")
		}
		return nil
	})
	// New addresses reset the backoff: a second fatal close, then an
	// address we did not have, redials at once.
	n.do(ctx, func(now time.Time) error {
		now = at.Add(maxRedialBackoff + time.Second)
		n.handleNet(now, netlayer.SessionStateChanged{Peer: friend, From: netlayer.Connecting, To: netlayer.Closed,
			Reason: &netlayer.FatalError{Reason: netlayer.ReasonProtocol}})
		n.openSession(friend, nil)
		if has(now) {
			t.Error("reopened during the backoff without new addresses")
		}
		n.openSession(friend, []string{"127.0.0.1:2"})
		if !has(now) {
			t.Error("new addresses did not reset the backoff")
		}
		return nil
	})
}
