package storage

import (
	"reflect"
	"testing"
	"time"

	"confchat/identity"
)

// TestRouteSwitchStatus: a switch's phase, start and outcome round-trip,
// and AbandonSwitches ends every switch in progress (and only those), as
// the node does at start so none survives a restart.
func TestRouteSwitchStatus(t *testing.T) {
	db, _ := openTemp(t)
	running := Route{Key: identity.PublicKey{1}, Route: "relay", Switch: "switching",
		SwitchStarted: time.UnixMilli(1000), Address: "relay:x", UpdatedAt: time.UnixMilli(1001)}
	settled := Route{Key: identity.PublicKey{2}, Route: "direct", LastSwitch: "done",
		Address: "127.0.0.1:9", UpdatedAt: time.UnixMilli(2000)}
	for _, r := range []Route{running, settled} {
		if err := db.PutRoute(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.Routes(ctx)
	if err != nil || !reflect.DeepEqual(got, []Route{running, settled}) {
		t.Fatalf("Routes = %+v, %v", got, err)
	}
	n, err := db.AbandonSwitches(ctx, "restarted", time.UnixMilli(3000))
	if err != nil || n != 1 {
		t.Fatalf("AbandonSwitches = %d, %v; want 1", n, err)
	}
	got, _ = db.Routes(ctx)
	want0 := Route{Key: running.Key, LastSwitch: "failed: restarted", Address: "relay:x", UpdatedAt: time.UnixMilli(3000)}
	if !reflect.DeepEqual(got, []Route{want0, settled}) {
		t.Fatalf("after abandon: %+v", got)
	}
	if n, _ := db.AbandonSwitches(ctx, "restarted", time.UnixMilli(4000)); n != 0 {
		t.Fatalf("second AbandonSwitches ended %d switches", n)
	}
	// A new session's route (no switch of its own yet) keeps the outcome.
	if err := db.PutRoute(ctx, Route{Key: running.Key, Route: "direct", UpdatedAt: time.UnixMilli(5000)}); err != nil {
		t.Fatal(err)
	}
	if got, _ = db.Routes(ctx); got[0].LastSwitch != "failed: restarted" || got[0].Route != "direct" {
		t.Fatalf("after a new route: %+v", got[0])
	}
	if err := db.DeleteRoute(ctx, running.Key); err != nil {
		t.Fatal(err)
	}
	if got, _ = db.Routes(ctx); len(got) != 1 || got[0].Key != settled.Key {
		t.Fatalf("after delete: %+v", got)
	}
}
