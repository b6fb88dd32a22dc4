package node

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"confchat/relay"
)

// checkDialAddr accepts host:port with a host and a non-zero port, or a
// relay address (relay:KEY@host:port) the peer is registered at.
func checkDialAddr(addr string) error {
	if relay.IsAddr(addr) {
		if _, err := relay.ParseAddr(addr); err != nil {
			return fmt.Errorf("%w: %w", ErrBadAddress, err)
		}
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w: %q is not host:port", ErrBadAddress, addr)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 || host == "" {
		return fmt.Errorf("%w: %q needs a host and a port from 1 to 65535", ErrBadAddress, addr)
	}
	return nil
}

func sortConferences(cs []ConferenceInfo) {
	slices.SortFunc(cs, func(a, b ConferenceInfo) int {
		if c := strings.Compare(a.Title, b.Title); c != 0 {
			return c
		}
		return slices.Compare(a.ID[:], b.ID[:])
	})
}
