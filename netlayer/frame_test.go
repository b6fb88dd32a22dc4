package netlayer

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestRecordRoundTrip(t *testing.T) {
	cases := []record{
		{Type: recData, Seq: 1, Ack: 2, Payload: []byte("hello")},
		{Type: recData, Seq: 1 << 63, Ack: 0, Payload: []byte{}},
		{Type: recClosing, Seq: 5, Ack: 9},
		{Type: recClosed, Seq: 6, Ack: 10},
		{Type: recAck, Ack: 42},
		{Type: recPing, Ack: 1},
		{Type: recPong, Ack: 2},
		{Type: recHello, Payload: encodeHello(hello{ID: SessionID{1}})},
		{Type: recReject, Payload: []byte{byte(rejectDuplicate)}},
	}
	for _, r := range cases {
		got, err := decodeRecord(encodeRecord(r))
		if err != nil {
			t.Fatalf("%v: %v", r.Type, err)
		}
		if got.Type != r.Type || got.Seq != r.Seq || got.Ack != r.Ack || !bytes.Equal(got.Payload, r.Payload) {
			t.Fatalf("%v: got %+v", r.Type, got)
		}
	}
}

func TestRecordMalformed(t *testing.T) {
	cases := map[string][]byte{
		"empty":            nil,
		"unknown type":     {0x42, 0, 0},
		"short data":       {byte(recData), 0, 0, 0},
		"closing payload":  append(encodeRecord(record{Type: recClosing}), 1),
		"long ack":         append(encodeRecord(record{Type: recAck}), 1),
		"short ping":       {byte(recPing), 1},
		"type zero":        {0},
		"type past reject": {10},
	}
	for name, b := range cases {
		if _, err := decodeRecord(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if recordType(99).String() != "type(99)" || recData.String() != "DATA" {
		t.Error("recordType.String")
	}
}

func TestReadRecordBounds(t *testing.T) {
	var buf bytes.Buffer
	_ = writeRecord(&buf, []byte("abc"))
	_ = writeRecord(&buf, make([]byte, 100))
	got, err := readRecord(&buf, nil, 50, 1)
	if err != nil || string(got) != "abc" {
		t.Fatalf("first: %q %v", got, err)
	}
	if _, err := readRecord(&buf, nil, 50, 1); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("over limit: %v", err)
	}
	buf.Reset()
	_ = writeRecord(&buf, []byte("a"))
	if _, err := readRecord(&buf, nil, 50, 17); !errors.Is(err, ErrShortFrame) {
		t.Fatalf("under minimum: %v", err)
	}
	if _, err := readRecord(bytes.NewReader([]byte{0, 0, 0, 9, 1}), nil, 50, 0); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated body: %v", err)
	}
	if _, err := readRecord(bytes.NewReader([]byte{0, 0}), nil, 50, 0); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated length: %v", err)
	}
}

func TestRouteText(t *testing.T) {
	for _, r := range []Route{RouteNone, RouteDirect, RouteRelay} {
		b, err := r.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Route
		if err := back.UnmarshalText(b); err != nil || back != r {
			t.Errorf("%v: text %q parsed back as %v, %v", r, b, back, err)
		}
	}
	if b, _ := RouteNone.MarshalText(); len(b) != 0 {
		t.Errorf("RouteNone text = %q, want empty", b)
	}
	var r Route
	if err := r.UnmarshalText([]byte("carrier pigeon")); err == nil {
		t.Error("unknown route text accepted")
	}
	if _, err := Route(9).MarshalText(); err == nil {
		t.Error("unknown route marshalled")
	}
}
