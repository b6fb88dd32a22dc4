package netlayer

import (
	"bytes"
	"testing"
)

// FuzzDecodeRecord: the transport record decoder never panics, and what
// it accepts re-encodes to the same bytes.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(encodeRecord(record{Type: recData, Seq: 3, Ack: 4, Payload: []byte("x")}))
	f.Add(encodeRecord(record{Type: recAck, Ack: 4}))
	f.Add(encodeRecord(record{Type: recClosing, Seq: 1}))
	f.Add([]byte{byte(recHello), 1, 2})
	f.Add(encodeRecord(record{Type: recMark, Seq: 7, Ack: 2}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			return
		}
		if again := encodeRecord(r); !bytes.Equal(again, b) {
			t.Fatalf("re-encoding %x gave %x", b, again)
		}
	})
}

// FuzzReadRecord: the length-prefixed reader never panics, never returns
// more than its limit, and never allocates past the limit.
func FuzzReadRecord(f *testing.F) {
	f.Add([]byte{0, 0, 0, 3, 'a', 'b', 'c'}, uint16(10))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, uint16(100))
	f.Add([]byte{0, 0, 0, 0}, uint16(0))
	f.Fuzz(func(t *testing.T, b []byte, limit uint16) {
		r := bytes.NewReader(b)
		for range 8 {
			got, err := readRecord(r, nil, int(limit), 0)
			if err != nil {
				return
			}
			if len(got) > int(limit) || cap(got) > max(int(limit), 0) {
				t.Fatalf("record of %d bytes (cap %d) over limit %d", len(got), cap(got), limit)
			}
		}
	})
}
