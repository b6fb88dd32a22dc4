package relay

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"confchat/identity"
)

// AddrPrefix starts a relay address among a peer's addresses.
const AddrPrefix = "relay:"

// ErrBadAddr is wrapped by every ParseAddr failure.
var ErrBadAddr = errors.New("not a relay address")

// Addr is a relay's address: its key and the TCP address it listens on.
type Addr struct {
	Key      identity.PublicKey
	HostPort string // host:port, the host a name or an IP (IPv6 in brackets)
}

// String formats a as a peer address: relay:KEY@host:port.
func (a Addr) String() string { return AddrPrefix + a.Bare() }

// Bare formats a as the relay prints it at start: KEY@host:port.
func (a Addr) Bare() string { return a.Key.String() + "@" + a.HostPort }

// IsAddr reports whether s is written as a relay address (relay:...), so
// a dialler knows to go through a relay; it does not validate the rest.
func IsAddr(s string) bool { return strings.HasPrefix(s, AddrPrefix) }

// ParseAddr parses relay:KEY@host:port or KEY@host:port. KEY is 64 hex
// characters and must be a valid public key; the port must be 1 to 65535
// and the host not empty.
func ParseAddr(s string) (Addr, error) {
	rest := strings.TrimPrefix(s, AddrPrefix)
	keyHex, hostPort, ok := strings.Cut(rest, "@")
	if !ok {
		return Addr{}, fmt.Errorf("%q: want KEY@host:port: %w", s, ErrBadAddr)
	}
	key, err := identity.ParsePublicKey(keyHex)
	if err != nil {
		return Addr{}, fmt.Errorf("%q: %w: %w", s, ErrBadAddr, err)
	}
	if err := identity.ValidatePublicKey(key); err != nil {
		return Addr{}, fmt.Errorf("%q: %w: %w", s, ErrBadAddr, err)
	}
	if err := checkHostPort(hostPort); err != nil {
		return Addr{}, fmt.Errorf("%q: %w: %w", s, ErrBadAddr, err)
	}
	return Addr{Key: key, HostPort: hostPort}, nil
}

func checkHostPort(hp string) error {
	host, port, err := net.SplitHostPort(hp)
	if err != nil {
		return fmt.Errorf("%q is not host:port", hp)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	if host == "" || strings.ContainsAny(host, " /@") {
		return fmt.Errorf("bad host %q", host)
	}
	return nil
}
