package simnet

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"time"

	"confchat/conference"
	"confchat/identity"
)

// Node is one simulated profile holding (at most) one conference.
type Node struct {
	net    *Net
	Label  string
	kp     *identity.KeyPair
	index  int
	Engine *conference.Engine
	DB     *DB
	alive  bool
	dirty  bool
	paused bool
	// deadline caches Engine.NextDeadline; it only changes after inputs,
	// and every input is followed by drain.
	deadline time.Time
	wants    map[identity.PublicKey]bool
	cfg      conference.Config

	Events   []conference.Event
	Received []conference.MessageReceived
	Invites  []conference.Invited
	// AutoJoin joins on the first invite; OnConnected runs once the
	// conference is joined (the c-toxcore tests invite the next friend).
	AutoJoin    bool
	OnConnected func(*Node)
	// FailWrites makes every persist fail: drain calls Abort instead of
	// applying the batch (a failing disk). Aborts counts those drains.
	FailWrites bool
	Aborts     int
	// Loads counts the Ready.Loads answered from the DB.
	Loads   int
	stalled bool // the last drain aborted; wait for new input
}

// Add creates a node with a deterministic key.
func (n *Net) Add(label string) *Node {
	seed := make([]byte, identity.SeedSize)
	binary.BigEndian.PutUint64(seed, n.rng.Uint64())
	binary.BigEndian.PutUint64(seed[8:], n.rng.Uint64())
	kp, err := identity.FromSeed(seed)
	if err != nil {
		panic(err) // seed length is fixed; cannot happen
	}
	x := &Node{net: n, Label: label, kp: kp, index: len(n.nodes), DB: NewDB(), alive: true,
		wants: map[identity.PublicKey]bool{}}
	x.cfg = n.Config
	x.cfg.Self = kp
	x.cfg.GroupNumber = uint16(100 + 3*x.index)
	x.cfg.Name = label
	x.cfg.Addresses = []string{fmt.Sprintf("10.0.%d.%d:33445", x.index/256, x.index%256)}
	n.nodes = append(n.nodes, x)
	n.byKey[kp.Public()] = x
	return x
}

// AddN creates count nodes labelled prefix0, prefix1, ...
func (n *Net) AddN(prefix string, count int) []*Node {
	out := make([]*Node, count)
	for i := range out {
		out[i] = n.Add(fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

// Key returns the node's public key.
func (x *Node) Key() identity.PublicKey { return x.kp.Public() }

// Alive reports whether the node runs.
func (x *Node) Alive() bool { return x.alive }

func (x *Node) rand() *rand.Rand {
	return rand.New(rand.NewPCG(uint64(x.index)+1, x.net.rng.Uint64()))
}

func (x *Node) accepts(from *Node) bool {
	return x.wants[from.Key()] || (x.Engine != nil && x.Engine.Knows(from.Key()))
}

func (x *Node) sessionUp(peer *Node) {
	if x.Engine != nil {
		x.Engine.SessionUp(x.net.now, peer.Key())
		x.dirty = true
	}
}

func (x *Node) sessionDown(peer *Node) {
	if x.Engine != nil {
		x.Engine.SessionDown(x.net.now, peer.Key())
		x.dirty = true
	}
}

// drain applies the engine's Ready batch: rows to the DB, then packets,
// then session wishes, then events.
func (x *Node) drain(hop int) {
	x.dirty = false
	if x.Engine == nil || !x.alive {
		return
	}
	r := x.Engine.Ready()
	if x.FailWrites && len(r.Rows) > 0 {
		x.Engine.Abort()
		x.Aborts++
		x.stalled = true
		x.deadline = x.Engine.NextDeadline()
		return
	}
	x.stalled = false
	for _, row := range r.Rows {
		x.DB.Apply(row)
	}
	for _, p := range r.Packets {
		x.net.send(x, p.To, p.Data, hop)
	}
	for _, w := range r.Sessions {
		x.wants[w.Peer] = w.Want
		if !w.Want {
			delete(x.wants, w.Peer)
		}
		if y := x.net.byKey[w.Peer]; y != nil {
			x.net.refreshPair(x, y)
		}
	}
	for _, ev := range r.Events {
		x.record(ev)
	}
	x.Engine.Advance()
	for _, ld := range r.Loads {
		x.Engine.Loaded(x.net.now, ld, x.DB.Range(ld.Origin, ld.From, ld.To, ld.Max))
		x.Loads++
		x.dirty = true
	}
	x.deadline = x.Engine.NextDeadline()
}

func (x *Node) record(ev conference.Event) {
	x.Events = append(x.Events, ev)
	switch ev := ev.(type) {
	case conference.MessageReceived:
		x.Received = append(x.Received, ev)
	case conference.Connected:
		if x.OnConnected != nil {
			x.net.deferred = append(x.net.deferred, func() { x.OnConnected(x) })
		}
	}
}

// deliver hands one packet to the node.
func (x *Node) deliver(d *delivery) {
	if x.Engine == nil {
		x.handleInviteOnly(d)
		return
	}
	if len(d.data) >= 9 && (d.data[0] == conference.PacketMessage || d.data[0] == conference.PacketMessageBatch) && x.net.hops != nil {
		x.net.hops.seen(d.data[3:9], x, d.hop)
	}
	_ = x.Engine.HandlePacket(x.net.now, d.from, d.data)
	x.drain(d.hop + 1)
}

func (x *Node) handleInviteOnly(d *delivery) {
	inv, err := conference.InvitedFrom(d.from, d.data)
	if err != nil {
		return
	}
	x.Invites = append(x.Invites, inv)
	x.Events = append(x.Events, inv)
	if x.AutoJoin {
		x.net.deferred = append(x.net.deferred, func() { _ = x.Join(inv) })
	}
}

// Create founds a conference on this node.
func (x *Node) Create() *Node {
	cfg := x.cfg
	cfg.Rand = x.rand()
	e, err := conference.Create(cfg, x.net.now)
	if err != nil {
		panic(err)
	}
	x.Engine = e
	x.net.announceSessions(x)
	x.drain(1)
	x.net.settle()
	return x
}

// Join accepts an invite.
func (x *Node) Join(inv conference.Invited) error {
	if x.Engine != nil {
		return conference.ErrAlreadyJoining
	}
	cfg := x.cfg
	cfg.Rand = x.rand()
	e, err := conference.Join(cfg, x.net.now, inv.From, inv.Cookie)
	if err != nil {
		return err
	}
	x.Engine = e
	x.net.announceSessions(x)
	x.drain(1)
	return nil
}

// Invite invites friend (their session must be up).
func (x *Node) Invite(friend *Node) error {
	err := x.Engine.Invite(x.net.now, friend.Key())
	x.drain(1)
	x.net.settle()
	return err
}

// Send sends a message.
func (x *Node) Send(text string) error {
	return x.act(func(now time.Time) error { return x.Engine.SendMessage(now, text) })
}

// SendBurst sends several messages in one step (one Ready for all of
// them, as the node does for pipelined sends): the engine seals them
// with one signature per run. It stops at the first error.
func (x *Node) SendBurst(texts ...string) error {
	return x.act(func(now time.Time) error {
		for _, t := range texts {
			if err := x.Engine.SendMessage(now, t); err != nil {
				return err
			}
		}
		return nil
	})
}

// SetTitle sets the title.
func (x *Node) SetTitle(t string) error {
	return x.act(func(now time.Time) error { return x.Engine.SetTitle(now, t) })
}

// SetName sets the name.
func (x *Node) SetName(name string) error {
	x.cfg.Name = name
	if x.Engine == nil {
		return nil
	}
	return x.act(func(now time.Time) error { return x.Engine.SetName(now, name) })
}

func (x *Node) act(f func(time.Time) error) error {
	if x.Engine == nil || !x.alive {
		return conference.ErrNotConnected
	}
	err := f(x.net.now)
	x.drain(1)
	x.net.settle()
	return err
}

// gracefulClose is how long Leave and Shutdown let sessions flush before
// closing them (netlayer's two-phase close delivers what was accepted).
const gracefulClose = time.Second

// Leave leaves the conference for good (KILL) and drops the engine. It
// takes gracefulClose of simulated time.
func (x *Node) Leave() {
	x.Engine.Leave(x.net.now)
	x.drain(1)
	x.paused = true
	x.net.Run(gracefulClose)
	x.paused = false
	x.Engine = nil
	x.wants = map[identity.PublicKey]bool{}
	x.net.refreshNode(x)
	x.net.settle()
}

// Shutdown closes the profile gracefully (FREEZE) and stops the node. It
// takes gracefulClose of simulated time.
func (x *Node) Shutdown() {
	x.Engine.Shutdown(x.net.now)
	x.drain(1)
	x.paused = true
	x.net.Run(gracefulClose)
	x.paused = false
	x.Kill()
}

// Kill stops the node abruptly; its DB survives.
func (x *Node) Kill() {
	x.alive = false
	x.Engine = nil
	x.wants = map[identity.PublicKey]bool{}
	x.net.refreshNode(x)
	x.net.settle()
}

// Wipe loses the node's database (the key is kept): it can only come back
// by joining again.
func (x *Node) Wipe() {
	x.DB = NewDB()
	x.alive = true
	x.Engine = nil
	x.net.refreshNode(x)
	x.net.settle()
}

// Restart brings a killed node back from its persisted rows only.
func (x *Node) Restart() error { return x.RestartFrom(x.DB.State()) }

// RestartIndexed restarts a killed node the way the node's lazy restore
// does: every message as an index row, bodies for only the newest hot
// chat messages.
func (x *Node) RestartIndexed(hot int) error { return x.RestartFrom(x.DB.IndexedState(hot)) }

// Snapshot copies the node's persisted state (a "save" in c-toxcore terms).
func (x *Node) Snapshot() conference.State { return x.DB.State() }

// RestartFrom brings a killed node back from an older snapshot; its DB is
// replaced by that snapshot (the later rows are lost).
func (x *Node) RestartFrom(st conference.State) error {
	old := x.DB
	x.DB = NewDB()
	x.DB.Apply(st.Meta)
	for _, r := range st.Peers {
		x.DB.Apply(r)
	}
	if st.Index == nil {
		for _, r := range st.Messages {
			x.DB.Apply(r)
		}
	} else {
		x.DB = old // an indexed state leaves the bodies on disk
	}
	for _, r := range st.Floors {
		x.DB.Apply(r)
	}
	cfg := x.cfg
	cfg.Rand = x.rand()
	e, err := conference.Restore(cfg, x.net.now, st)
	if err != nil {
		return err
	}
	x.alive = true
	x.Engine = e
	x.net.refreshNode(x)
	x.net.announceSessions(x)
	x.drain(1)
	x.net.settle()
	return nil
}

// ActiveCount is the number of active peers including itself (0 if none).
func (x *Node) ActiveCount() int {
	if x.Engine == nil {
		return 0
	}
	return x.Engine.ActiveCount()
}

// Texts returns the texts of received messages in order.
func (x *Node) Texts() []string {
	var out []string
	for _, m := range x.Received {
		out = append(out, m.Text)
	}
	return out
}

// Pause stops running the node without closing its sessions (c-toxcore
// tests that stop iterating one instance): packets to it are lost and its
// timers do not run.
func (x *Node) Pause() { x.paused = true }

// Resume undoes Pause.
func (x *Node) Resume() { x.paused = false }

// GroupNumber is the node's local conference number (receivers address
// 0x62/0x63 packets with it).
func (x *Node) GroupNumber() uint16 { return x.cfg.GroupNumber }

// KeyPair returns the node's key pair (tests forge with it).
func (x *Node) KeyPair() *identity.KeyPair { return x.kp }

// SetAddresses changes the addresses the node announces.
func (x *Node) SetAddresses(addrs []string) {
	x.cfg.Addresses = addrs
	if x.Engine == nil {
		return
	}
	x.Engine.SetAddresses(x.net.now, addrs)
	x.drain(1)
	x.net.settle()
}

// Addresses returns the addresses the node announces.
func (x *Node) Addresses() []string { return x.cfg.Addresses }

// Net returns the network the node belongs to.
func (x *Node) Net() *Net { return x.net }

// Drain applies the engine's pending outputs (after a test drove the
// engine directly) and lets the network settle.
func (x *Node) Drain() {
	x.drain(1)
	x.net.settle()
}
