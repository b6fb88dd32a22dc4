package simnet

// hopTracker records, for every flooded message, at how many hops each node
// first received it.
type hopTracker struct {
	first map[[6]byte]map[*Node]int
	sent  map[[6]byte]int // bytes of all copies sent
}

// TrackHops starts recording hop counts.
func (n *Net) TrackHops() {
	n.hops = &hopTracker{first: map[[6]byte]map[*Node]int{}, sent: map[[6]byte]int{}}
}

func (h *hopTracker) seen(key []byte, x *Node, hop int) {
	var k [6]byte
	copy(k[:], key)
	m := h.first[k]
	if m == nil {
		m = map[*Node]int{}
		h.first[k] = m
	}
	if _, ok := m[x]; !ok {
		m[x] = hop
	}
}

func msgKey6(sender uint16, number uint32) [6]byte {
	return [6]byte{byte(sender >> 8), byte(sender), byte(number >> 24), byte(number >> 16), byte(number >> 8), byte(number)}
}

// SentBytes returns the bytes of every copy of the flooded message
// (sender peer number, number) handed to the network.
func (n *Net) SentBytes(sender uint16, number uint32) int {
	if n.hops == nil {
		return 0
	}
	return n.hops.sent[msgKey6(sender, number)]
}

// Hops returns, for the flooded message (sender peer number, number), the
// first-arrival hop count of every node that received it.
func (n *Net) Hops(sender uint16, number uint32) map[*Node]int {
	if n.hops == nil {
		return nil
	}
	return n.hops.first[msgKey6(sender, number)]
}
