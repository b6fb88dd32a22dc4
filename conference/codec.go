package conference

import (
	"encoding/binary"

	"confchat/identity"
)

// reader consumes big-endian fields; the first short read sets ok=false and
// every later read returns zero values, so decoders check ok once.
type reader struct {
	b  []byte
	ok bool
}

func newReader(b []byte) *reader { return &reader{b: b, ok: true} }

func (r *reader) take(n int) []byte {
	if !r.ok || n < 0 || len(r.b) < n {
		r.ok = false
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u8() byte {
	b := r.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (r *reader) u16() uint16 {
	b := r.take(2)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint16(b)
}

func (r *reader) u32() uint32 {
	b := r.take(4)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

func (r *reader) u64() uint64 {
	b := r.take(8)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func (r *reader) key() identity.PublicKey {
	var k identity.PublicKey
	copy(k[:], r.take(identity.KeySize))
	return k
}

func (r *reader) id() ID {
	var id ID
	copy(id[:], r.take(IDSize))
	return id
}

func (r *reader) rest() []byte {
	if !r.ok {
		return nil
	}
	out := r.b
	r.b = nil
	return out
}

func (r *reader) done() bool { return r.ok && len(r.b) == 0 }

// addresses reads count(1) then count × (len(1) bytes).
func (r *reader) addresses() []string {
	n := int(r.u8())
	if n > MaxAddresses {
		r.ok = false
		return nil
	}
	var out []string
	for range n {
		l := int(r.u8())
		b := r.take(l)
		if !r.ok {
			return nil
		}
		out = append(out, string(b))
	}
	return out
}

func putU16(b []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(b, v) }
func putU32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }
func putU64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

// putAddresses appends the address list, silently capping count and length
// so the encoding always decodes.
func putAddresses(b []byte, addrs []string) []byte {
	addrs = sanitizeAddresses(addrs)
	b = append(b, byte(len(addrs)))
	for _, a := range addrs {
		b = append(b, byte(len(a)))
		b = append(b, a...)
	}
	return b
}

func sanitizeAddresses(addrs []string) []string {
	var out []string
	for _, a := range addrs {
		if len(a) == 0 || len(a) > MaxAddressLength {
			continue
		}
		out = append(out, a)
		if len(out) == MaxAddresses {
			break
		}
	}
	return out
}
