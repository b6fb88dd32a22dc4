package conference_test

import (
	"strings"
	"testing"
	"time"

	"confchat/conference"
)

// The status moves only joining -> connected -> left; anything else is an
// error and changes nothing.
func TestStatusTransitions(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e, err := conference.Create(conference.Config{Self: mustKey(t, 1)}, now)
	if err != nil {
		t.Fatal(err)
	}
	const joining, connected, left = 0, 1, 2
	if err := e.SetStatusForTest(joining); err == nil || !e.IsConnected() {
		t.Fatalf("connected -> joining: %v (connected %v)", err, e.IsConnected())
	}
	if err := e.SetStatusForTest(left); err != nil {
		t.Fatal(err)
	}
	for _, to := range []uint8{joining, connected} {
		if err := e.SetStatusForTest(to); err == nil || !strings.Contains(err.Error(), "left to") {
			t.Fatalf("left -> %d: %v", to, err)
		}
	}
}

// Error strings name their prefix once.
func TestErrorsDoNotRepeatPrefix(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cookie := (&conference.InvitePacket{ID: conference.ID{7}}).Cookie()
	_, errJoin := conference.Join(conference.Config{Self: mustKey(t, 1)}, now, mustKey(t, 2).Public(), cookie)
	e, _ := conference.Create(conference.Config{Self: mustKey(t, 1)}, now)
	errSend := e.SendMessage(now, "")
	errPacket := e.HandlePacket(now, mustKey(t, 2).Public(), []byte{0x63, 1})
	e.Leave(now)
	errLeft := e.HandlePacket(now, mustKey(t, 2).Public(), []byte{0x63})
	for _, err := range []error{errJoin, errSend, errPacket, errLeft} {
		if err == nil || strings.Count(err.Error(), "conference:") != 1 {
			t.Errorf("error %q: want exactly one \"conference:\" prefix", err)
		}
	}
}
