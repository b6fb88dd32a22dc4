package tui

import (
	"time"

	"confchat/identity"
	"confchat/node"
)

// entryKind says how a chat line is drawn.
type entryKind int

const (
	kindMessage entryKind = iota
	kindAction            // "* name does"
	kindSystem            // joins, leaves, freezes, titles, command output
	kindError             // a failed command or bad input
	kindHint              // help and first-run hints
)

// sendState tracks one of our own messages.
type sendState int

const (
	stateDone    sendState = iota // another member holds it (or not ours)
	stateSending                  // the node call is in flight
	statePending                  // stored, no other member holds it yet
)

// entry is one line (before wrapping) of a chat buffer.
type entry struct {
	kind    entryKind
	time    time.Time
	from    identity.PublicKey
	name    string
	text    string
	self    bool
	number  uint32
	seq     int64
	state   sendState
	token   int  // matches a sendResult to the entry it came from
	mention bool // the text names us

	// render cache, valid while width matches
	width int
	lines []string
	day   int32 // days since 1970 in the render location, +1 (0: not yet known)
}

// maxLiveEntries bounds a buffer's lines in memory; older ones are
// dropped (a conference's are paged back in from the node on scroll).
const maxLiveEntries = 20000

// buffer is what one conference (or the home buffer) shows.
type buffer struct {
	id   node.ConferenceID // zero for the home buffer
	home bool
	info node.ConferenceInfo
	// inviter names who invited us (pending invites): an invite carries
	// no title (as in Tox), so the invite is named after its sender.
	inviter string

	entries  []entry
	readUpTo int // entries the user has seen; the marker is drawn before this index
	// settled: every entry before this index is stateDone, so what
	// counts or clears pending marks starts there (a frame with a long
	// history must not walk all of it).
	settled   int
	oldestSeq int64 // the oldest loaded message's Seq (History's before)
	allLoaded bool  // no older history
	loading   bool  // a History call is in flight
	loaded    bool  // the first page arrived

	scroll   int // lines scrolled up from the bottom; 0 follows new lines
	newBelow int // messages that arrived while scrolled up

	peers       []node.PeerInfo
	peersLoaded bool
	mention     bool // our name was mentioned in an unread message
	unread      int

	inputHist   []string
	histLoaded  bool
	draft       string // the input line, kept while another buffer is shown
	pendingRoll []rollItem
}

// rollItem is a join or unfreeze waiting to be summarised (noise control).
type rollItem struct {
	name   string
	joined bool
}

// title is how the buffer is named in lists.
func (b *buffer) title() string {
	switch {
	case b.home:
		return "confchat"
	case b.info.Title != "":
		return b.info.Title
	case b.info.Invited && b.inviter != "":
		return "invite from " + b.inviter
	case b.info.Invited:
		return "invite " + b.id.Short()
	}
	return "conference " + b.id.Short()
}

// add appends an entry; it returns the entry's index.
func (b *buffer) add(e entry) int {
	b.entries = append(b.entries, e)
	if b.scroll > 0 && (e.kind == kindMessage || e.kind == kindAction) {
		b.newBelow++
	}
	if over := len(b.entries) - maxLiveEntries; over > 0 {
		b.entries = append([]entry(nil), b.entries[over:]...)
		b.readUpTo = max(0, b.readUpTo-over)
		b.settled = max(0, b.settled-over)
		b.allLoaded = false
		for _, e := range b.entries {
			if e.seq > 0 {
				b.oldestSeq = e.seq
				break
			}
		}
	}
	return len(b.entries) - 1
}

// prepend puts older history in front.
func (b *buffer) prepend(es []entry) {
	if len(es) == 0 {
		return
	}
	b.entries = append(es, b.entries...)
	b.readUpTo += len(es)
	b.settled += len(es)
	for i := range es {
		if es[i].state != stateDone {
			b.settled = i
			break
		}
	}
}

// lastSeq is the newest stored message's position.
func (b *buffer) lastSeq() int64 {
	for i := len(b.entries) - 1; i >= 0; i-- {
		if b.entries[i].seq > 0 {
			return b.entries[i].seq
		}
	}
	return 0
}

// pendingCount counts our messages no other member holds yet.
func (b *buffer) pendingCount() int {
	n := 0
	for i := b.unsettled(); i < len(b.entries); i++ {
		if b.entries[i].state != stateDone {
			n++
		}
	}
	return n
}

// unsettled moves settled past the entries that are done and returns
// it: the first index that may hold one of our unsettled messages.
func (b *buffer) unsettled() int {
	b.settled = min(b.settled, len(b.entries))
	for b.settled < len(b.entries) && b.entries[b.settled].state == stateDone {
		b.settled++
	}
	return b.settled
}

// activePeers and frozenPeers split the member list (ourselves excluded).
func (b *buffer) peerCounts() (active, frozen int) {
	for _, p := range b.peers {
		switch {
		case p.Self:
		case p.Frozen:
			frozen++
		default:
			active++
		}
	}
	return active, frozen
}

// entryFromHistory turns a stored message into a chat line.
func entryFromHistory(h node.HistoryEntry) entry {
	e := entryFromMessage(h.Message)
	if h.Self && h.Pending {
		e.state = statePending
	}
	return e
}

func entryFromMessage(m node.Message) entry {
	k := kindMessage
	if m.Action {
		k = kindAction
	}
	return entry{kind: k, time: m.Time, from: m.From, name: clean(m.Name, false), text: clean(m.Text, true),
		self: m.Self, number: m.Number, seq: m.Seq}
}
