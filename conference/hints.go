package conference

import (
	"slices"

	"confchat/identity"
)

// A hint is a (key, number, addresses, name) claim about a key that has not
// signed anything we saw for this conference: a Peer Response entry about a
// third party, or a NEW_PEER from one member naming another. Hints are never
// members: they are not in Peers, the counts, the rows or the events, and
// they never take a number from a member. A hint becomes a member when a
// message it signed for this conference verifies (resolveOrigin).
type hint struct {
	key    identity.PublicKey
	number uint16
	addrs  []string
	name   string
}

// maxHints bounds the hint table of one conference (oldest dropped);
// maxHintTries bounds the signature checks one message from an unknown
// sender number costs.
const (
	maxHints     = 256
	maxHintTries = 4
)

// addHint remembers an unsigned claim about a key we do not know. A hint
// for a known member, for ourselves or for a number a member holds is
// ignored; a repeated hint for the same key replaces the old one.
func (e *Engine) addHint(key identity.PublicKey, number uint16, addrs []string, name string) {
	ours := number == e.selfNumber && e.status != statusJoining
	if key == e.self || ours || e.peers.byKey[key] != nil || e.peers.byNumber[number] != nil {
		return
	}
	t := e.peers
	if old, ok := e.dropHint(key); ok && name == "" {
		name = old.name
	}
	if len(t.hints) >= maxHints {
		t.hints = slices.Delete(t.hints, 0, len(t.hints)-maxHints+1)
	}
	t.hints = append(t.hints, hint{key: key, number: number, addrs: sanitizeAddresses(addrs), name: name})
}

// dropHint forgets the hint for key (it became a member, or left).
func (e *Engine) dropHint(key identity.PublicKey) (hint, bool) {
	t := e.peers
	i := slices.IndexFunc(t.hints, func(h hint) bool { return h.key == key })
	if i < 0 {
		return hint{}, false
	}
	h := t.hints[i]
	t.hints = slices.Delete(t.hints, i, i+1)
	return h, true
}

// promoteHint looks for a hint under m's sender number whose key signed m;
// if one does, it becomes a member (its signature vouches for it) and is
// returned.
func (e *Engine) promoteHint(m *MessagePacket) *peer {
	tries := 0
	for _, h := range slices.Clone(e.peers.hints) {
		if h.number != m.Sender {
			continue
		}
		if tries++; tries > maxHintTries {
			return nil
		}
		if !e.verifyMessage(h.key, m.Number, m.Kind, m.Body, m.Auth) {
			continue
		}
		return e.addPeer(h.key, h.number, h.addrs, true) // takes the hint's name
	}
	return nil
}

func (e *Engine) isHint(key identity.PublicKey) bool {
	return slices.ContainsFunc(e.peers.hints, func(h hint) bool { return h.key == key })
}

// HintCount is the number of unverified peer hints held (never members).
func (e *Engine) HintCount() int { return len(e.peers.hints) }
