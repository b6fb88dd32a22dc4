package discovery

import (
	"fmt"

	"github.com/anacrolix/dht/v2/krpc"
)

// maxTableNodes bounds a loaded routing table (38 bytes a node).
const maxTableNodes = 1024

// encodeTable is the routing table as the caller stores it: BEP 5 compact
// node infos in their IPv6 form (20-byte node id, 16-byte IP, 2-byte port).
func encodeTable(nodes []krpc.NodeInfo) []byte {
	var keep []krpc.NodeInfo
	for _, n := range nodes {
		if n.ID != ([20]byte{}) && n.Addr.Port != 0 && len(keep) < maxTableNodes {
			keep = append(keep, n)
		}
	}
	b, err := krpc.CompactIPv6NodeInfo(keep).MarshalBinary()
	if err != nil {
		return nil
	}
	return b
}

// decodeTable parses what encodeTable made; nodes without an id are
// dropped (adding them would make the DHT library ping them unowned).
func decodeTable(b []byte) ([]krpc.NodeInfo, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if len(b) > maxTableNodes*38 {
		b = b[:maxTableNodes*38]
	}
	var c krpc.CompactIPv6NodeInfo
	if err := c.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("routing table: %w", err)
	}
	var out []krpc.NodeInfo
	for _, n := range c {
		if n.ID != ([20]byte{}) && n.Addr.Port != 0 {
			out = append(out, n)
		}
	}
	return out, nil
}
