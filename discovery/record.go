package discovery

import (
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Record limits (docs/protocol.md part 5).
const (
	recordVersion  = 1
	MaxAddresses   = 16
	maxAddressLen  = 255
	relayPrefix    = "relay:"
	relayKeyHexLen = 64
)

// Record is what an item says: the addresses its owner can be reached at,
// each "host:port" or "relay:<64-hex relay key>@host:port".
type Record struct {
	Addresses []string
}

// Direct returns the host:port addresses of r.
func (r Record) Direct() []string { return filterAddrs(r.Addresses, false) }

// Relays returns the relay:<key>@host:port addresses of r.
func (r Record) Relays() []string { return filterAddrs(r.Addresses, true) }

func filterAddrs(addrs []string, relay bool) []string {
	var out []string
	for _, a := range addrs {
		if strings.HasPrefix(a, relayPrefix) == relay {
			out = append(out, a)
		}
	}
	return out
}

// ValidateAddress checks one address of a record.
func ValidateAddress(a string) error {
	if a == "" || len(a) > maxAddressLen {
		return fmt.Errorf("%w: address length %d", ErrMalformed, len(a))
	}
	hostPort := a
	if rest, ok := strings.CutPrefix(a, relayPrefix); ok {
		key, hp, ok := strings.Cut(rest, "@")
		if !ok || len(key) != relayKeyHexLen {
			return fmt.Errorf("%w: relay address %q", ErrMalformed, a)
		}
		if _, err := hex.DecodeString(key); err != nil {
			return fmt.Errorf("%w: relay key in %q", ErrMalformed, a)
		}
		hostPort = hp
	}
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil || host == "" {
		return fmt.Errorf("%w: address %q", ErrMalformed, a)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("%w: port in %q", ErrMalformed, a)
	}
	for _, c := range host {
		if c <= ' ' || c == 0x7f || c == '/' || c == '@' {
			return fmt.Errorf("%w: host in %q", ErrMalformed, a)
		}
	}
	return nil
}

// encode returns the plaintext of r: version, count, then each address
// as a length byte and its bytes.
func (r Record) encode() ([]byte, error) {
	if len(r.Addresses) > MaxAddresses {
		return nil, fmt.Errorf("%w: %d addresses, at most %d", ErrTooLarge, len(r.Addresses), MaxAddresses)
	}
	b := []byte{recordVersion, byte(len(r.Addresses))}
	for _, a := range r.Addresses {
		if err := ValidateAddress(a); err != nil {
			return nil, err
		}
		b = append(b, byte(len(a)))
		b = append(b, a...)
	}
	return b, nil
}

// decodeRecord parses a plaintext made by encode; anything else is
// ErrMalformed.
func decodeRecord(b []byte) (Record, error) {
	if len(b) < 2 {
		return Record{}, fmt.Errorf("%w: record of %d bytes", ErrMalformed, len(b))
	}
	if b[0] != recordVersion {
		return Record{}, fmt.Errorf("%w: record version %d", ErrMalformed, b[0])
	}
	n := int(b[1])
	if n > MaxAddresses {
		return Record{}, fmt.Errorf("%w: %d addresses", ErrMalformed, n)
	}
	b = b[2:]
	r := Record{Addresses: make([]string, 0, n)}
	for range n {
		if len(b) < 1 || len(b) < 1+int(b[0]) {
			return Record{}, fmt.Errorf("%w: truncated address", ErrMalformed)
		}
		a := string(b[1 : 1+int(b[0])])
		if err := ValidateAddress(a); err != nil {
			return Record{}, err
		}
		r.Addresses = append(r.Addresses, a)
		b = b[1+len(a):]
	}
	if len(b) != 0 {
		return Record{}, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(b))
	}
	return r, nil
}
