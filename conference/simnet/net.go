// Package simnet runs many conference engines over a simulated network with
// a fake clock: per-link latency, loss, duplication, reordering, partitions,
// and restarts from each engine's persisted rows. It is deterministic for a
// given seed.
package simnet

import (
	"container/heap"
	"math/rand/v2"
	"time"

	"confchat/conference"
	"confchat/identity"
)

// LinkConfig describes one direction of a link.
type LinkConfig struct {
	Latency time.Duration
	Jitter  time.Duration // extra random delay; with Reorder packets may overtake
	Loss    float64       // probability a packet is dropped
	Dup     float64       // probability a packet is delivered twice
	Reorder bool
}

// Net is the simulated network.
type Net struct {
	rng      *rand.Rand
	now      time.Time
	nodes    []*Node
	byKey    map[identity.PublicKey]*Node
	Default  LinkConfig
	links    map[pair]LinkConfig
	friends  map[pair]bool
	sessions map[pair]int // epoch of the up session, 0 = down
	epoch    int
	group    map[*Node]int // partition group; different groups cannot talk
	queue    packetQueue
	seq      uint64
	Stats    Stats
	// Config is the engine config template (Self, GroupNumber, Name, Rand
	// are set per node).
	Config   conference.Config
	hops     *hopTracker
	lastAt   map[[2]identity.PublicKey]time.Time
	deferred []func()
	blocked  map[pair]bool
	tap      Tap
}

// Stats counts traffic.
type Stats struct {
	Packets, Bytes, Dropped int
	MessagePackets          int
	MessageBytes            int
}

type pair struct{ a, b identity.PublicKey }

func mkpair(a, b identity.PublicKey) pair {
	if b.Less(a) {
		a, b = b, a
	}
	return pair{a, b}
}

// New returns an empty network whose clock starts at a fixed date.
func New(seed uint64) *Net {
	return &Net{
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		now:      time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		byKey:    map[identity.PublicKey]*Node{},
		links:    map[pair]LinkConfig{},
		friends:  map[pair]bool{},
		sessions: map[pair]int{},
		group:    map[*Node]int{},
		lastAt:   map[[2]identity.PublicKey]time.Time{},
		blocked:  map[pair]bool{},
		Default:  LinkConfig{Latency: 10 * time.Millisecond},
	}
}

// Now returns the simulated time.
func (n *Net) Now() time.Time { return n.now }

// Nodes returns all nodes in creation order.
func (n *Net) Nodes() []*Node { return n.nodes }

// SetLink overrides the config between a and b (both directions).
func (n *Net) SetLink(a, b *Node, c LinkConfig) { n.links[mkpair(a.Key(), b.Key())] = c }

// SetAllLinks sets the default link config and clears overrides.
func (n *Net) SetAllLinks(c LinkConfig) {
	n.Default = c
	n.links = map[pair]LinkConfig{}
}

func (n *Net) link(a, b identity.PublicKey) LinkConfig {
	if c, ok := n.links[mkpair(a, b)]; ok {
		return c
	}
	return n.Default
}

// MakeFriends makes a and b friends: their session is always wanted.
func (n *Net) MakeFriends(a, b *Node) {
	n.friends[mkpair(a.Key(), b.Key())] = true
	if a.Engine != nil {
		a.Engine.SetFriend(b.Key(), true)
	}
	if b.Engine != nil {
		b.Engine.SetFriend(a.Key(), true)
	}
	n.refreshPair(a, b)
	n.settle()
}

// Linear makes nodes[i] friends with nodes[i+1] (c-toxcore GRAPH_LINEAR).
func (n *Net) Linear(nodes []*Node) {
	for i := 0; i+1 < len(nodes); i++ {
		n.friends[mkpair(nodes[i].Key(), nodes[i+1].Key())] = true
	}
	n.refreshAll()
	n.settle()
}

// Partition puts each list of nodes in its own group; nodes in different
// groups cannot reach each other. Nodes not listed stay in group 0.
func (n *Net) Partition(groups ...[]*Node) {
	n.group = map[*Node]int{}
	for i, g := range groups {
		for _, x := range g {
			n.group[x] = i + 1
		}
	}
	n.refreshAll()
	n.settle()
}

// Heal removes all partitions.
func (n *Net) Heal() { n.Partition() }

func (n *Net) reachable(a, b *Node) bool {
	return a.alive && b.alive && n.group[a] == n.group[b] && !n.blocked[mkpair(a.Key(), b.Key())]
}

// Block makes a and b unable to reach each other directly (no route).
func (n *Net) Block(a, b *Node) {
	n.blocked[mkpair(a.Key(), b.Key())] = true
	n.refreshPair(a, b)
	n.settle()
}

// sessionWanted: a session comes up if the link is reachable and one side
// wants it (friend or engine wish) and the other accepts it (friend, wish
// or a known conference member).
func (n *Net) sessionWanted(a, b *Node) bool {
	if !n.reachable(a, b) {
		return false
	}
	if n.friends[mkpair(a.Key(), b.Key())] {
		return true
	}
	return (a.wants[b.Key()] && b.accepts(a)) || (b.wants[a.Key()] && a.accepts(b))
}

func (n *Net) refreshAll() {
	for i, a := range n.nodes {
		for _, b := range n.nodes[i+1:] {
			n.refreshPair(a, b)
		}
	}
}

// refreshPair brings the session between a and b up or down and tells both
// engines (lower key first, for determinism).
func (n *Net) refreshPair(a, b *Node) {
	p := mkpair(a.Key(), b.Key())
	want := n.sessionWanted(a, b)
	up := n.sessions[p] != 0
	if want == up {
		return
	}
	first, second := a, b
	if b.Key().Less(a.Key()) {
		first, second = b, a
	}
	if want {
		n.epoch++
		n.sessions[p] = n.epoch
		first.sessionUp(second)
		second.sessionUp(first)
	} else {
		delete(n.sessions, p)
		first.sessionDown(second)
		second.sessionDown(first)
	}
}

// Tap, if set, sees every packet handed to the network.
type Tap func(from, to *Node, data []byte)

// SetTap installs a tap (nil removes it).
func (n *Net) SetTap(t Tap) { n.tap = t }

// Inject sends raw bytes from one node to another over their session, as
// a malicious or buggy peer would.
func (n *Net) Inject(from, to *Node, data []byte) {
	n.send(from, to.Key(), data, 1)
	n.settle()
}

// send schedules delivery of data from a to b over the current session.
func (n *Net) send(from *Node, to identity.PublicKey, data []byte, hop int) {
	if n.tap != nil {
		n.tap(from, n.byKey[to], data)
	}
	p := mkpair(from.Key(), to)
	ep := n.sessions[p]
	if ep == 0 {
		n.Stats.Dropped++
		return
	}
	n.Stats.Packets++
	n.Stats.Bytes += len(data)
	if len(data) > 0 && data[0] == conference.PacketMessage {
		n.Stats.MessagePackets++
		n.Stats.MessageBytes += len(data)
		if n.hops != nil && len(data) >= 9 {
			var k [6]byte
			copy(k[:], data[3:9])
			n.hops.sent[k] += len(data)
		}
	}
	lc := n.link(from.Key(), to)
	if lc.Loss > 0 && n.rng.Float64() < lc.Loss {
		n.Stats.Dropped++
		return
	}
	copies := 1
	if lc.Dup > 0 && n.rng.Float64() < lc.Dup {
		copies = 2
	}
	for range copies {
		n.schedule(from.Key(), to, data, ep, hop, lc)
	}
}

func (n *Net) schedule(from, to identity.PublicKey, data []byte, ep, hop int, lc LinkConfig) {
	at := n.now.Add(lc.Latency)
	if lc.Jitter > 0 {
		at = at.Add(time.Duration(n.rng.Int64N(int64(lc.Jitter))))
	}
	if !lc.Reorder {
		k := [2]identity.PublicKey{from, to}
		if last := n.lastAt[k]; at.Before(last) {
			at = last
		}
		n.lastAt[k] = at
	}
	n.seq++
	heap.Push(&n.queue, &delivery{at: at, seq: n.seq, from: from, to: to, data: data, epoch: ep, hop: hop})
}

// NodeByKey returns the node with key k (nil if none).
func (n *Net) NodeByKey(k identity.PublicKey) *Node { return n.byKey[k] }
