package conference

import (
	"slices"
	"sort"
	"time"

	"confchat/identity"
)

// peer is one other member, active or frozen.
type peer struct {
	key          identity.PublicKey
	number       uint16
	addrs        []string
	addrsUpdated bool // addresses set since the last thaw (Tox "DHT pk updated")
	name         string
	nameNumber   uint32 // number of the signed NAME applied; 0 = hint only
	lastActive   time.Time
	frozen       bool
	seen         seenWindow
	lastSigned   *MessagePacket // highest-numbered signed message seen
	lastHint     time.Time
	answeredAt   time.Time // when its listed announcement last named us missing and we answered
}

// peerTable holds active and frozen peers in list order (Tox semantics
// depend on it) with key and number indexes.
type peerTable struct {
	active   []*peer
	frozen   []*peer
	byKey    map[identity.PublicKey]*peer
	byNumber map[uint16]*peer
	hints    []hint // unverified claims, never members (hints.go)
}

func newPeerTable() *peerTable {
	return &peerTable{byKey: map[identity.PublicKey]*peer{}, byNumber: map[uint16]*peer{}}
}

func (t *peerTable) remove(p *peer) {
	if p.frozen {
		t.frozen = slices.DeleteFunc(t.frozen, func(q *peer) bool { return q == p })
	} else {
		t.active = slices.DeleteFunc(t.active, func(q *peer) bool { return q == p })
	}
	delete(t.byKey, p.key)
	if t.byNumber[p.number] == p {
		delete(t.byNumber, p.number)
	}
}

func (t *peerTable) insert(p *peer) {
	if p.frozen {
		t.frozen = append(t.frozen, p)
	} else {
		t.active = append(t.active, p)
	}
	t.byKey[p.key] = p
	t.byNumber[p.number] = p
}

// numberInUse reports whether n is ours or any known peer's.
func (e *Engine) numberInUse(n uint16) bool {
	return n == e.selfNumber || e.peers.byNumber[n] != nil
}

// addPeer adds or refreshes (key, number). fresh follows Tox §5.2: fresh
// information (accept, NEW_PEER, Rejoin) thaws and always sets addresses; a
// Peer Response entry (not fresh) never thaws. It reports the peer, or nil
// if the claim conflicts with what we know.
func (e *Engine) addPeer(key identity.PublicKey, number uint16, addrs []string, fresh bool) *peer {
	return e.addPeerFrom(key, number, addrs, fresh, false)
}

// addPeerFrom is addPeer; signed says the claim on number is signed by key
// itself (its own NEW_PEER). Only such a claim may make us renumber, and
// at most once per renumberCooldown; other claims on our number lose
// (first claim wins locally). The table holds at most maxPeers members.
func (e *Engine) addPeerFrom(key identity.PublicKey, number uint16, addrs []string, fresh, signed bool) *peer {
	if key == e.self {
		return nil
	}
	if number == e.selfNumber && e.status != statusJoining && !(signed && e.resolveSelfCollision(key)) {
		return nil
	}
	if p := e.peers.byNumber[number]; p != nil {
		return e.refreshPeer(p, key, addrs, fresh)
	}
	if e.peers.byKey[key] == nil && len(e.peers.byKey) >= maxPeers {
		return nil
	}
	return e.createPeer(key, number, addrs)
}

// maxPeers bounds the members (active and frozen) one conference holds;
// renumberCooldown spaces out renumberings forced by collisions.
const (
	maxPeers         = 1024
	renumberCooldown = time.Minute
)

func (e *Engine) refreshPeer(p *peer, key identity.PublicKey, addrs []string, fresh bool) *peer {
	if p.key != key {
		return nil // number held by another key: first claim wins locally
	}
	if fresh {
		e.noteActive(p)
		e.setAddresses(p, addrs)
		return p
	}
	if p.frozen {
		e.setAddresses(p, addrs)
		return nil
	}
	if !p.addrsUpdated {
		e.setAddresses(p, addrs)
	}
	return p
}

func (e *Engine) createPeer(key identity.PublicKey, number uint16, addrs []string) *peer {
	var old *peer
	if prev := e.peers.byKey[key]; prev != nil {
		old = prev // re-joined under a new number: replace the record
		e.dropPeer(prev)
	}
	p := &peer{key: key, number: number, lastActive: e.now}
	if h, ok := e.dropHint(key); ok {
		p.name = h.name // a display hint until a signed NAME is known (§5.1)
	}
	if old != nil {
		p.name, p.nameNumber, p.seen = old.name, old.nameNumber, old.seen
	}
	e.nameFromStore(p)
	e.peers.insert(p)
	e.setAddresses(p, addrs)
	p.addrsUpdated = true
	e.closest.add(e.self, p)
	e.ringDirty = true
	e.persistPeer(p)
	if old == nil {
		e.emit(PeerJoined{Key: key, Number: number, Name: p.name})
	}
	return p
}

// resolveSelfCollision handles another key claiming our peer number. The
// smaller key keeps the number; if that is the other key we renumber and
// announce ourselves. It reports whether the other key may take the number.
func (e *Engine) resolveSelfCollision(other identity.PublicKey) bool {
	if !other.Less(e.self) {
		return false
	}
	if !e.lastRenumber.IsZero() && e.now.Before(e.lastRenumber.Add(renumberCooldown)) {
		return false
	}
	e.lastRenumber = e.now
	old := e.selfNumber
	for range peerNumberDraws * 4 {
		n := uint16(e.cfg.Rand.UintN(1 << 16))
		if !e.numberInUse(n) {
			e.selfNumber = n
			break
		}
	}
	if e.selfNumber == old {
		return false
	}
	e.persistMeta()
	e.emit(Renumbered{Old: old, New: e.selfNumber})
	e.floodSelfAnnouncement()
	return true
}

func (e *Engine) setAddresses(p *peer, addrs []string) {
	addrs = sanitizeAddresses(addrs)
	if len(addrs) == 0 || slices.Equal(addrs, p.addrs) {
		return
	}
	p.addrs = addrs
	p.addrsUpdated = true
	e.emit(PeerAddressesLearned{Key: p.key, Addresses: slices.Clone(addrs)})
	e.persistPeer(p)
}

func (e *Engine) persistPeer(p *peer) {
	e.persist(PeerRow{
		Key: p.key, Number: p.number, Addresses: slices.Clone(p.addrs), Name: p.name,
		LastActive: p.lastActive, HighestSeen: p.seen.highest,
	})
}

// noteActive records activity from p and thaws it if frozen (Tox §5.3).
func (e *Engine) noteActive(p *peer) {
	p.lastActive = e.now
	if p.frozen {
		e.thaw(p)
	}
}

func (e *Engine) thaw(p *peer) {
	e.peers.remove(p)
	p.frozen = false
	p.addrsUpdated = false
	e.peers.insert(p)
	e.closest.add(e.self, p)
	e.ringDirty = true
	e.sendName = true
	e.emit(PeerUnfrozen{Key: p.key})
}

// freeze moves p to the frozen list, frees its connection and tries a
// Rejoin if a session to it is up (Tox §5.4).
func (e *Engine) freeze(p *peer) {
	if p.frozen {
		return
	}
	e.peers.remove(p)
	p.frozen = true
	e.peers.insert(p)
	e.closest.remove(p.key)
	e.ringDirty = true
	e.removeConn(p.key)
	e.persistPeer(p)
	e.emit(PeerFrozen{Key: p.key})
	e.trySendRejoin(p)
	e.pruneFrozen()
}

// dropPeer deletes p entirely (KILL, or replaced by a new record).
func (e *Engine) dropPeer(p *peer) {
	e.peers.remove(p)
	e.closest.remove(p.key)
	e.ringDirty = true
	e.removeConn(p.key)
}

func (e *Engine) freezeAll() {
	for _, p := range slices.Clone(e.peers.active) {
		e.freeze(p)
	}
}

func (e *Engine) freezeTimedOut() {
	for _, p := range slices.Clone(e.peers.active) {
		if !e.now.Before(p.lastActive.Add(e.cfg.FreezeAfter)) {
			e.freeze(p)
		}
	}
}

// SetFriend tells the engine whether key is a friend of the profile;
// friends are kept first when the frozen list is pruned (Tox is_friend).
func (e *Engine) SetFriend(key identity.PublicKey, friend bool) {
	if friend {
		e.friends[key] = true
	} else {
		delete(e.friends, key)
	}
}

// pruneFrozen keeps at most MaxFrozen frozen peers: friends first, then the
// most recently active.
func (e *Engine) pruneFrozen() {
	if e.cfg.MaxFrozen <= 0 || len(e.peers.frozen) <= e.cfg.MaxFrozen {
		return
	}
	fr := slices.Clone(e.peers.frozen)
	sort.SliceStable(fr, func(i, j int) bool {
		fi, fj := e.friends[fr[i].key], e.friends[fr[j].key]
		if fi != fj {
			return fi
		}
		return fr[i].lastActive.After(fr[j].lastActive)
	})
	for _, p := range fr[e.cfg.MaxFrozen:] {
		e.peers.remove(p)
		e.persist(PeerDeletedRow{Key: p.key})
	}
}

// PeerInfo describes one member for front ends.
type PeerInfo struct {
	Key       identity.PublicKey
	Number    uint16
	Name      string
	Addresses []string
	Frozen    bool
	Self      bool
}

// Peers returns all members: ourselves, then active, then frozen peers.
func (e *Engine) Peers() []PeerInfo {
	out := []PeerInfo{{Key: e.self, Number: e.selfNumber, Name: e.name, Addresses: e.cfg.Addresses, Self: true}}
	for _, list := range [][]*peer{e.peers.active, e.peers.frozen} {
		for _, p := range list {
			out = append(out, PeerInfo{Key: p.key, Number: p.number, Name: p.name,
				Addresses: slices.Clone(p.addrs), Frozen: p.frozen})
		}
	}
	return out
}

// ActiveCount is the number of active members including ourselves (Tox
// tox_conference_peer_count).
func (e *Engine) ActiveCount() int { return len(e.peers.active) + 1 }

// FrozenCount is the number of frozen members.
func (e *Engine) FrozenCount() int { return len(e.peers.frozen) }

// Knows reports whether key is a known member (the node may accept sessions
// from known members).
func (e *Engine) Knows(key identity.PublicKey) bool {
	return key == e.self || e.peers.byKey[key] != nil
}

// Name returns the name of key ("" if unknown).
func (e *Engine) Name(key identity.PublicKey) string {
	if key == e.self {
		return e.name
	}
	if p := e.peers.byKey[key]; p != nil {
		return p.name
	}
	return ""
}

// Title returns the current title.
func (e *Engine) Title() string { return e.title.text }

// SetMaxFrozen sets the frozen-list cap and prunes at once (Tox
// tox_conference_set_max_offline).
func (e *Engine) SetMaxFrozen(n int) {
	e.cfg.MaxFrozen = max(n, 0)
	if n == 0 {
		for _, p := range slices.Clone(e.peers.frozen) {
			e.peers.remove(p)
			e.persist(PeerDeletedRow{Key: p.key})
		}
		return
	}
	e.pruneFrozen()
	e.persistMeta()
}
