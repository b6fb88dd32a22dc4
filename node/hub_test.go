package node

import (
	"context"
	"testing"
	"time"
)

type testEvent struct{ n int }

func (testEvent) event() {}

func TestHubFanOutInOrder(t *testing.T) {
	h := newHub()
	a, b := h.subscribe(), h.subscribe()
	for i := range 100 {
		h.publish(testEvent{i}, time.Unix(int64(i), 0))
	}
	h.close()
	for _, s := range []*Subscription{a, b} {
		for i := range 100 {
			ev, at, ok := s.NextAt(context.Background())
			if !ok || ev.(testEvent).n != i || at.Unix() != int64(i) {
				t.Fatalf("event %d: %v at %v, %v", i, ev, at, ok)
			}
		}
		if _, ok := s.Next(context.Background()); ok {
			t.Fatal("event after close")
		}
	}
	if s := h.subscribe(); !s.closed {
		t.Fatal("subscription to a closed hub is open")
	}
}

func TestHubSlowSubscriberLags(t *testing.T) {
	h := newHub()
	s := h.subscribe()
	for i := range maxQueued + 10 {
		h.publish(testEvent{i}, time.Unix(int64(i), 0))
	}
	ev, _ := s.Next(context.Background())
	if l, ok := ev.(Lagged); !ok || l.Missed != 10 {
		t.Fatalf("first event %#v, want Lagged{10}", ev)
	}
	ev, _ = s.Next(context.Background())
	if ev.(testEvent).n != 10 {
		t.Fatalf("after lag: %v", ev)
	}
}

func TestHubNextWaitsAndCancels(t *testing.T) {
	h := newHub()
	s := h.subscribe()
	go func() {
		time.Sleep(10 * time.Millisecond)
		h.publish(testEvent{7}, time.Unix(int64(7), 0))
	}()
	ev, ok := s.Next(context.Background())
	if !ok || ev.(testEvent).n != 7 {
		t.Fatalf("Next = %v %v", ev, ok)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, ok := s.Next(ctx); ok {
		t.Fatal("Next returned without an event")
	}
	s.Close()
	h.publish(testEvent{8}, time.Unix(int64(8), 0))
	if _, ok := s.Next(context.Background()); ok {
		t.Fatal("closed subscription got an event")
	}
}
