package portmap

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/netip"
	"os"
	"strings"
)

// DefaultGateway returns the host's IPv4 default gateway, read from
// /proc/net/route (Linux); elsewhere, or without a default route, an
// error.
func DefaultGateway() (netip.Addr, error) {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return netip.Addr{}, err
	}
	defer f.Close()
	return parseRoutes(bufio.NewScanner(f))
}

// parseRoutes finds the default route in /proc/net/route's format:
// "Iface Destination Gateway Flags ..." with little-endian hex addresses.
func parseRoutes(sc *bufio.Scanner) (netip.Addr, error) {
	first := true
	for sc.Scan() {
		if first {
			first = false
			continue
		}
		f := strings.Fields(sc.Text())
		if len(f) < 4 || f[1] != "00000000" {
			continue
		}
		b, err := hex.DecodeString(f[2])
		if err != nil || len(b) != 4 {
			continue
		}
		var a [4]byte
		binary.LittleEndian.PutUint32(a[:], binary.BigEndian.Uint32(b))
		if ip := netip.AddrFrom4(a); !ip.IsUnspecified() {
			return ip, nil
		}
	}
	return netip.Addr{}, errors.New("no IPv4 default gateway")
}
