package peers

import (
	"fmt"
	"net/netip"
)

// Prefix lengths that group request sources: one household, office or
// small hosting customer usually holds one IPv4 /24 or IPv6 /48, while an
// attacker can make free keys but not free prefixes.
const (
	sourceBitsV4 = 24
	sourceBitsV6 = 48
)

// Source is where a friend request came from, for fairness: the network
// prefix of the connection's remote address. The zero Source is "unknown"
// (a request whose address the node could not tell); all unknown requests
// share one source.
type Source struct{ p netip.Prefix }

// SourceOf returns the source of a connection from remote, a "host:port"
// (as net.Conn.RemoteAddr().String() gives it) or a bare IP. An address it
// cannot parse gives the unknown source.
func SourceOf(remote string) Source {
	var ip netip.Addr
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		ip = ap.Addr()
	} else if a, err := netip.ParseAddr(remote); err == nil {
		ip = a
	} else {
		return Source{}
	}
	ip = ip.Unmap().WithZone("")
	bits := sourceBitsV6
	if ip.Is4() {
		bits = sourceBitsV4
	}
	p, err := ip.Prefix(bits)
	if err != nil {
		return Source{}
	}
	return Source{p: p}
}

// ParseSource reads a Source back from its String form ("" is unknown).
func ParseSource(s string) (Source, error) {
	if s == "" {
		return Source{}, nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return Source{}, fmt.Errorf("request source: %w", err)
	}
	if p != p.Masked() || (p.Addr().Is4() && p.Bits() != sourceBitsV4) || (p.Addr().Is6() && p.Bits() != sourceBitsV6) {
		return Source{}, fmt.Errorf("request source %q: not a /%d or /%d network", s, sourceBitsV4, sourceBitsV6)
	}
	return Source{p: p}, nil
}

// String is the prefix ("192.0.2.0/24"), or "" for the unknown source.
func (s Source) String() string {
	if !s.p.IsValid() {
		return ""
	}
	return s.p.String()
}

// Known reports whether the source has an address.
func (s Source) Known() bool { return s.p.IsValid() }
