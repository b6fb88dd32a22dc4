package node

import (
	"net"
	"strconv"
)

// maxInterfaceAddrs bounds how many of the machine's own addresses a node
// bound to every interface announces (before 127.0.0.1 and any relays).
const maxInterfaceAddrs = 3

// unspecifiedAddrs is what a node listening on every interface (0.0.0.0
// or [::], the default) announces: the machine's own unicast addresses
// that another machine could reach — IPv4 first, then IPv6, at most
// maxInterfaceAddrs — and 127.0.0.1 last, so peers on the same machine
// still reach it. Loopback, link-local and multicast addresses are left
// out (a link-local one needs a zone no peer knows); a node bound to
// 0.0.0.0 announces no IPv6 address.
func unspecifiedAddrs(bound *net.TCPAddr, ips []net.IP) []string {
	port := strconv.Itoa(bound.Port)
	v4only := bound.IP.To4() != nil
	var v4, v6 []string
	for _, ip := range ips {
		if ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsMulticast() || ip.IsUnspecified() ||
			ip.IsInterfaceLocalMulticast() {
			continue
		}
		if ip4 := ip.To4(); ip4 != nil {
			v4 = append(v4, net.JoinHostPort(ip4.String(), port))
		} else if !v4only {
			v6 = append(v6, net.JoinHostPort(ip.String(), port))
		}
	}
	out := append(v4, v6...)
	if len(out) > maxInterfaceAddrs {
		out = out[:maxInterfaceAddrs]
	}
	return append(out, net.JoinHostPort("127.0.0.1", port))
}

// interfaceIPs lists the addresses of the machine's interfaces that are
// up; nil when they cannot be read (then only 127.0.0.1 is announced).
func interfaceIPs() []net.IP {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var ips []net.IP
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				ips = append(ips, ipn.IP)
			}
		}
	}
	return ips
}
