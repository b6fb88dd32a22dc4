package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// The nodes' bytes on the wire come from the kernel's own count for
// each of their TCP sockets (tcp_info's bytes_acked, read with a
// NETLINK_SOCK_DIAG dump), so no proxy has to sit between the nodes to
// count them. A socket is a node's when the node's process holds it
// (/proc/PID/fd) and it is bound to the node's own 127.0.0.x address:
// that leaves out the --pprof listener and anything of other processes.

// Netlink and inet_diag constants (linux/sock_diag.h, linux/inet_diag.h).
const (
	netlinkSockDiag  = 4  // NETLINK_SOCK_DIAG
	sockDiagByFamily = 20 // SOCK_DIAG_BY_FAMILY
	inetDiagInfo     = 2  // INET_DIAG_INFO: the tcp_info attribute
	inetDiagMsgLen   = 72 // sizeof(struct inet_diag_msg)
	// Offsets in struct tcp_info (linux/tcp.h); both counters are there
	// since Linux 4.1.
	tcpInfoBytesAcked    = 120
	tcpInfoBytesReceived = 128
)

// sockCount is one TCP socket's totals.
type sockCount struct {
	local    netip.AddrPort
	acked    uint64 // bytes sent and acknowledged by the other side
	received uint64
}

// tcpSockets dumps every IPv4 TCP socket of this network namespace with
// its byte counts, keyed by inode.
func tcpSockets() (map[uint64]sockCount, error) {
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, netlinkSockDiag)
	if err != nil {
		return nil, fmt.Errorf("sock_diag: %w", err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("sock_diag: %w", err)
	}
	// nlmsghdr (16) + inet_diag_req_v2 (56).
	req := make([]byte, 16+56)
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], sockDiagByFamily)
	ne.PutUint16(req[6:], syscall.NLM_F_REQUEST|syscall.NLM_F_DUMP)
	ne.PutUint32(req[8:], 1) // seq
	req[16] = syscall.AF_INET
	req[17] = syscall.IPPROTO_TCP
	req[18] = 1 << (inetDiagInfo - 1)  // idiag_ext: ask for tcp_info
	ne.PutUint32(req[20:], 0xffffffff) // idiag_states: all
	if err := syscall.Sendto(fd, req, 0, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("sock_diag: %w", err)
	}
	out := map[uint64]sockCount{}
	buf := make([]byte, 64<<10)
	for range 1 << 16 { // bounded: a dump ends with NLMSG_DONE
		n, _, err := syscall.Recvfrom(fd, buf, 0)
		if err != nil {
			return nil, fmt.Errorf("sock_diag: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return nil, fmt.Errorf("sock_diag: %w", err)
		}
		for _, m := range msgs {
			switch m.Header.Type {
			case syscall.NLMSG_DONE:
				return out, nil
			case syscall.NLMSG_ERROR:
				return nil, errors.New("sock_diag: the kernel refused the dump")
			}
			if ino, c, ok := parseDiagMsg(m.Data); ok {
				out[ino] = c
			}
		}
	}
	return nil, errors.New("sock_diag: the dump did not end")
}

// parseDiagMsg reads one inet_diag_msg and its tcp_info attribute.
func parseDiagMsg(b []byte) (inode uint64, c sockCount, ok bool) {
	if len(b) < inetDiagMsgLen {
		return 0, c, false
	}
	// idiag_family, state, timer, retrans; then inet_diag_sockid: sport
	// and dport (big endian), src[16], dst[16], if, cookie[2]; then
	// expires, rqueue, wqueue, uid, inode.
	port := binary.BigEndian.Uint16(b[4:6])
	src := netip.AddrFrom4([4]byte(b[8:12]))
	c.local = netip.AddrPortFrom(src, port)
	inode = uint64(binary.NativeEndian.Uint32(b[68:72]))
	for attrs := b[inetDiagMsgLen:]; len(attrs) >= 4; {
		l := int(binary.NativeEndian.Uint16(attrs[0:2]))
		typ := binary.NativeEndian.Uint16(attrs[2:4])
		if l < 4 || l > len(attrs) {
			break
		}
		if data := attrs[4:l]; typ == inetDiagInfo && len(data) >= tcpInfoBytesReceived+8 {
			c.acked = binary.NativeEndian.Uint64(data[tcpInfoBytesAcked:])
			c.received = binary.NativeEndian.Uint64(data[tcpInfoBytesReceived:])
		}
		attrs = attrs[min(len(attrs), (l+3)&^3):]
	}
	return inode, c, true
}

// socketInodes lists the socket inodes a process holds open.
func socketInodes(pid int) (map[uint64]bool, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[uint64]bool{}
	for _, e := range ents {
		l, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		if s, ok := strings.CutPrefix(l, "socket:["); ok {
			if ino, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64); err == nil {
				out[ino] = true
			}
		}
	}
	return out, nil
}

// wireSnapshot is the bytes each node socket had sent, by inode.
type wireSnapshot map[uint64]uint64

// nodeWire reads the sent bytes of every TCP socket the running nodes
// hold on their own addresses.
func (c *cluster) nodeWire() (wireSnapshot, error) {
	all, err := tcpSockets()
	if err != nil {
		return nil, err
	}
	snap := wireSnapshot{}
	for _, p := range c.procs {
		pid := p.livePID()
		if pid == 0 {
			continue
		}
		inodes, err := socketInodes(pid)
		if err != nil {
			continue // it just exited
		}
		ip := netip.MustParseAddr(nodeIP(p.idx))
		for ino := range inodes {
			if s, ok := all[ino]; ok && s.local.Addr() == ip {
				snap[ino] = s.acked
			}
		}
	}
	return snap, nil
}

// sentSince is the bytes sent from before to now on the sockets open
// now; a socket that closed in between is not counted (in the lat and
// burst phases the nodes' connections stay up).
func (now wireSnapshot) sentSince(before wireSnapshot) int64 {
	var n int64
	for ino, v := range now {
		if v >= before[ino] {
			n += int64(v - before[ino])
		}
	}
	return n
}
