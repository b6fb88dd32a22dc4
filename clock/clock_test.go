package clock

import (
	"testing"
	"time"
)

func TestSystemTimers(t *testing.T) {
	var c System
	tm := c.NewTimer(time.Millisecond)
	select {
	case <-tm.C():
	case <-time.After(5 * time.Second):
		t.Fatal("NewTimer never fired")
	}
	done := make(chan struct{})
	af := c.AfterFunc(time.Millisecond, func() { close(done) })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("AfterFunc never ran")
	}
	if af.Stop() {
		t.Error("Stop of a fired AfterFunc timer reported it stopped")
	}
	if c.Now().IsZero() {
		t.Error("Now is zero")
	}
}
