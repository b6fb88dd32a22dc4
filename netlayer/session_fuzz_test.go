package netlayer

import (
	"testing"
	"time"
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
	s.link = &link{out: newRecordQueue(1 << 12), done: make(chan struct{}), onKill: func() {},
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
	f.Add(uint8(2), append([]byte{byte(seqHeader)}, encodeRecord(record{Type: recMark, Seq: 0, Ack: 1})...))
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

// FuzzCutOverRecords: any sequence of authenticated records arriving on
// the old path of a cut-over (each one decoded from the input, length-
// prefixed by one byte) never panics or blocks, delivers frames only in
// sequence, and either completes the cut-over (only on a MARK naming
// exactly the next frame we expect) or abandons it for a reconnect; a
// cut-over never stays half done with its old path gone.
func FuzzCutOverRecords(f *testing.F) {
	rec := func(r record) []byte { b := encodeRecord(r); return append([]byte{byte(len(b))}, b...) }
	f.Add(uint8(3), append(rec(record{Type: recData, Seq: 0, Ack: 1, Payload: []byte("x")}), rec(record{Type: recMark, Seq: 1, Ack: 3})...))
	f.Add(uint8(0), rec(record{Type: recMark, Seq: 5}))
	f.Add(uint8(1), append(rec(record{Type: recPing, Ack: 1}), rec(record{Type: recClosing, Seq: 0})...))
	f.Fuzz(func(t *testing.T, unacked uint8, in []byte) {
		s, ep := fuzzSession(t, int(unacked%32))
		defer ep.terminate()
		// The cut-over's state as startCut leaves it, without goroutines.
		old := s.link
		old.gen = 1
		s.cut = &cutState{old: old, timer: s.ep.cfg.Clock.NewTimer(time.Hour)}
		s.link = &link{gen: 2, out: newRecordQueue(1 << 12), done: make(chan struct{}), hold: make(chan struct{}),
			onKill: func() {}, sc: &secureConn{conn: &scriptConn{}, dialed: true}}
		delivered := uint64(0)
		for n := 0; len(in) > 0 && n < 64 && s.cut != nil && !s.finished; n++ {
			l := min(int(in[0]), len(in)-1)
			r, err := decodeRecord(in[1 : 1+l])
			in = in[1+l:]
			if err != nil {
				continue
			}
			before, wasMark := s.ack, r.Type == recMark && r.Seq == s.ack
			s.handleOldPath(linkEvent{gen: old.gen, rec: r})
			switch {
			case s.ack == before+1:
				delivered++
			case s.ack > before+1:
				t.Fatalf("ack jumped from %d to %d", before, s.ack)
			case s.ack < before:
				delivered = s.ack
			}
			if s.cut == nil && s.link != nil && !wasMark {
				t.Fatalf("cut-over completed on %v without the MARK", r.Type)
			}
		}
		if delivered != s.ack {
			t.Fatalf("delivered %d, ack %d", delivered, s.ack)
		}
		if s.cut != nil && s.cut.old != old {
			t.Fatal("a different old path")
		}
		s.endCut()
		s.stopCloseTimer()
		stopTimer(&s.backoffT)
		stopTimer(&s.graceT)
		s.stopProbing()
		s.hb.stop()
	})
}
