package discovery

import (
	"net"
	"sync/atomic"
)

// countingConn counts the UDP packets the DHT node sends and receives,
// for Status and the benchmark.
type countingConn struct {
	net.PacketConn
	sent, received atomic.Int64
}

func (c *countingConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	n, err := c.PacketConn.WriteTo(b, addr)
	if err == nil {
		c.sent.Add(1)
	}
	return n, err
}

func (c *countingConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.PacketConn.ReadFrom(b)
	if err == nil {
		c.received.Add(1)
	}
	return n, addr, err
}
