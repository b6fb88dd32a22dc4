package peers

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Packet ids of the friend-level packets carried in session frames. The
// first byte of every frame says which family it belongs to; conference
// packets use Tox's ids (0x60 and up) and never collide with these.
const (
	PacketFriendRequest byte = 0x10 // nospam, name, message, addresses
	PacketFriendAccept  byte = 0x11 // name, addresses
	PacketFriendRemove  byte = 0x12 // no body
	PacketAddresses     byte = 0x13 // name, addresses: sent on every session start
)

// Limits on packet contents, in bytes.
const (
	MaxMessageLen   = 1016 // Tox's friend request message limit
	MaxNameLen      = 128
	MaxAddresses    = 8
	MaxAddressLen   = 255
	maxPacketLength = 1 + 4 + 2 + MaxNameLen + 2 + MaxMessageLen + 1 + MaxAddresses*(1+MaxAddressLen)
)

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("malformed friend packet")

// Request is a friend request: it must carry the recipient's current
// nospam, or it is ignored.
type Request struct {
	Nospam    uint32
	Name      string
	Message   string
	Addresses []string
}

// Hello is the body of FriendAccept and Addresses packets: who we are,
// where to reach us and, when HasNospam is set, the nospam of our current
// ID (so friends keep our full ID current after we change it; the DHT
// lookup needs it). Senders before the nospam field existed omit it.
type Hello struct {
	Name      string
	Addresses []string
	Nospam    uint32
	HasNospam bool
}

// EncodeRequest returns a PacketFriendRequest frame.
// Layout: id, nospam u32, name (u16 len), message (u16 len), addresses.
func EncodeRequest(r Request) ([]byte, error) {
	if err := checkText(r.Name, MaxNameLen, "name"); err != nil {
		return nil, err
	}
	if err := checkText(r.Message, MaxMessageLen, "message"); err != nil {
		return nil, err
	}
	b := []byte{PacketFriendRequest}
	b = binary.BigEndian.AppendUint32(b, r.Nospam)
	b = appendString16(b, r.Name)
	b = appendString16(b, r.Message)
	return appendAddrs(b, r.Addresses)
}

// DecodeRequest parses a PacketFriendRequest frame.
func DecodeRequest(b []byte) (Request, error) {
	var r Request
	d := decoder{b: b}
	d.expectID(PacketFriendRequest)
	r.Nospam = d.u32()
	r.Name = d.string16(MaxNameLen)
	r.Message = d.string16(MaxMessageLen)
	r.Addresses = d.addrs()
	return r, d.finish("friend request")
}

// EncodeHello returns a PacketFriendAccept or PacketAddresses frame.
// Layout: id, name (u16 len), addresses, then nospam u32 if HasNospam.
func EncodeHello(id byte, h Hello) ([]byte, error) {
	if id != PacketFriendAccept && id != PacketAddresses {
		return nil, fmt.Errorf("EncodeHello: packet id %#x is not a hello", id)
	}
	if err := checkText(h.Name, MaxNameLen, "name"); err != nil {
		return nil, err
	}
	b := appendString16([]byte{id}, h.Name)
	b, err := appendAddrs(b, h.Addresses)
	if err != nil || !h.HasNospam {
		return b, err
	}
	return binary.BigEndian.AppendUint32(b, h.Nospam), nil
}

// DecodeHello parses a PacketFriendAccept or PacketAddresses frame.
func DecodeHello(b []byte) (Hello, error) {
	var h Hello
	if len(b) == 0 || (b[0] != PacketFriendAccept && b[0] != PacketAddresses) {
		return h, fmt.Errorf("%w: not a hello packet", ErrMalformed)
	}
	d := decoder{b: b[1:]}
	h.Name = d.string16(MaxNameLen)
	h.Addresses = d.addrs()
	if d.err == nil && len(d.b) > 0 {
		h.Nospam, h.HasNospam = d.u32(), true
	}
	return h, d.finish("hello")
}

func checkText(s string, max int, what string) error {
	if len(s) > max {
		return fmt.Errorf("%s is %d bytes, the limit is %d", what, len(s), max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8", what)
	}
	return nil
}

func appendString16(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

func appendAddrs(b []byte, addrs []string) ([]byte, error) {
	if len(addrs) > MaxAddresses {
		return nil, fmt.Errorf("%d addresses, the limit is %d", len(addrs), MaxAddresses)
	}
	b = append(b, byte(len(addrs)))
	for _, a := range addrs {
		if len(a) == 0 || len(a) > MaxAddressLen {
			return nil, fmt.Errorf("address %q: length must be 1 to %d", a, MaxAddressLen)
		}
		b = append(b, byte(len(a)))
		b = append(b, a...)
	}
	return b, nil
}

// decoder reads fields and remembers the first error; every read after an
// error returns a zero value, so decoding code reads straight through.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, a ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, a...)...)
	}
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.fail("truncated: need %d bytes, have %d", n, len(d.b))
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) expectID(id byte) {
	if b := d.take(1); b != nil && b[0] != id {
		d.fail("packet id %#x, want %#x", b[0], id)
	}
}

func (d *decoder) u32() uint32 {
	if b := d.take(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) string16(max int) string {
	lb := d.take(2)
	if lb == nil {
		return ""
	}
	n := int(binary.BigEndian.Uint16(lb))
	if n > max {
		d.fail("text of %d bytes exceeds %d", n, max)
		return ""
	}
	s := d.take(n)
	if s != nil && !utf8.Valid(s) {
		d.fail("text is not valid UTF-8")
		return ""
	}
	return string(s)
}

func (d *decoder) addrs() []string {
	nb := d.take(1)
	if nb == nil {
		return nil
	}
	n := int(nb[0])
	if n > MaxAddresses {
		d.fail("%d addresses exceed %d", n, MaxAddresses)
		return nil
	}
	var out []string
	for range n {
		lb := d.take(1)
		if lb == nil {
			return nil
		}
		if lb[0] == 0 {
			d.fail("empty address")
			return nil
		}
		a := d.take(int(lb[0]))
		if a == nil {
			return nil
		}
		if !utf8.Valid(a) {
			d.fail("address is not valid UTF-8")
			return nil
		}
		out = append(out, string(a))
	}
	return out
}

func (d *decoder) finish(what string) error {
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes after %s", len(d.b), what)
	}
	return d.err
}
