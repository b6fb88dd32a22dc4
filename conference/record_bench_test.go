package conference_test

import (
	"crypto/rand"
	"testing"

	"confchat/conference"
	"confchat/identity"
)

// BenchmarkRecordSealOpen is the per-message signature work of the flood
// path: seal (build the signed bytes and sign them, once per message at
// its origin) and open (decode a relayed packet and verify its
// signature, once per message at every receiver; duplicates are dropped
// before this step).
func BenchmarkRecordSealOpen(b *testing.B) {
	kp, err := identity.Generate(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	var id conference.ID
	id[0] = 1
	body := make([]byte, 64+4) // 64 bytes of text after the prev number
	origin := kp.Public()
	b.Run("seal", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			_ = kp.Sign(conference.SignedBytes(id, origin, uint32(i), conference.KindMessage, body))
		}
	})
	sig := kp.Sign(conference.SignedBytes(id, origin, 7, conference.KindMessage, body))
	wire := (&conference.MessagePacket{Group: 3, Sender: 9, Number: 7, Kind: conference.KindMessage,
		Body: append([]byte(nil), body...), Auth: sig}).Encode()
	b.Run("open", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			m, err := conference.DecodeMessage(wire)
			if err != nil {
				b.Fatal(err)
			}
			rec := conference.Record{Origin: origin, Number: m.Number, Kind: m.Kind, Body: m.Body, Signature: m.Auth}
			if !rec.Verify(id) {
				b.Fatal("signature did not verify")
			}
		}
	})
}
