package netlayer

import (
	"testing"
)

// fuzzSession is a session in Connected state over a dummy link, with no
// goroutines: records are applied by calling handleRecord directly, as
// the owner goroutine does.
func fuzzSession(t *testing.T, unacked int) (*Session, *Endpoint) {
	cfg := testConfig(newKey(t))
	cfg.EventBuffer = 1 << 12
	ep, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := newSession(ep, newKey(t).Public(), nil, false)
	s.phase, s.established = Connected, true
	s.link = &link{out: make(chan record, 1<<12), done: make(chan struct{}), onKill: func() {},
		sc: &secureConn{conn: &scriptConn{}}}
	for i := range unacked {
		s.credits <- struct{}{}
		s.pushFrame(recData, []byte{byte(i)}, nil)
	}
	return s, ep
}

// FuzzSessionRecords: any sequence of authenticated records (each one
// decoded from the input, length-prefixed by one byte) applied to a
// connected session holding unacknowledged frames never panics or
// blocks, delivers frames only in sequence, and never acknowledges more
// than was sent.
func FuzzSessionRecords(f *testing.F) {
	f.Add(uint8(3), append([]byte{byte(seqHeader + 1)}, encodeRecord(record{Type: recData, Seq: 0, Ack: 2, Payload: []byte("x")})...))
	f.Add(uint8(0), append([]byte{byte(seqHeader)}, encodeRecord(record{Type: recClosing, Seq: 0})...))
	f.Add(uint8(1), append([]byte{byte(ackHeader)}, encodeRecord(record{Type: recPing, Ack: 1})...))
	f.Fuzz(func(t *testing.T, unacked uint8, in []byte) {
		s, ep := fuzzSession(t, int(unacked%32))
		defer ep.terminate()
		sent := s.seq
		delivered := uint64(0)
		for n := 0; len(in) > 0 && n < 64; n++ {
			l := int(in[0])
			in = in[1:]
			if l > len(in) {
				l = len(in)
			}
			r, err := decodeRecord(in[:l])
			in = in[l:]
			if err != nil {
				continue
			}
			before := s.ack
			err = s.handleRecord(r)
			if s.ack > before+1 {
				t.Fatalf("ack jumped from %d to %d", before, s.ack)
			}
			switch {
			case s.ack == before+1:
				delivered++
			case s.ack < before: // repeated gaps reset the session
				delivered = s.ack
			}
			if err != nil || s.finished {
				break
			}
		}
		if len(s.buf) > 0 && s.buf[0].seq > sent {
			t.Fatalf("buffer starts at %d, only %d sent", s.buf[0].seq, sent)
		}
		if delivered != s.ack {
			t.Fatalf("delivered %d, ack %d", delivered, s.ack)
		}
		s.stopCloseTimer()
		stopTimer(&s.backoffT)
		s.hb.stop()
	})
}
