package peers

import (
	"net"
	"strconv"
	"strings"

	"confchat/relay"
)

// ValidAddress reports whether a is an address a peer can be dialled at:
// host:port with a host and a port from 1 to 65535, or a relay address
// (relay:KEY@host:port) that relay.ParseAddr accepts. Addresses peers
// announce are filtered with it before they are kept or dialled, so a
// malformed one costs nothing.
func ValidAddress(a string) bool {
	if len(a) == 0 || len(a) > MaxAddressLen {
		return false
	}
	if relay.IsAddr(a) {
		_, err := relay.ParseAddr(a)
		return err == nil
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil || host == "" || strings.ContainsAny(host, " /@") {
		return false
	}
	p, err := strconv.ParseUint(port, 10, 16)
	return err == nil && p != 0
}

// IsRelayAddress reports whether a is written as a relay address.
func IsRelayAddress(a string) bool { return relay.IsAddr(a) }

// ValidAddresses returns the valid addresses of addrs, in order, without
// duplicates, at most MaxAddresses.
func ValidAddresses(addrs []string) []string { return mergeAddrs(addrs, nil) }
