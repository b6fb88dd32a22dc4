package conference

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"time"

	"confchat/identity"
)

// Config configures one engine.
type Config struct {
	Self        *identity.KeyPair // required
	GroupNumber uint16            // this conference's local number (node-assigned)
	Name        string            // our display name
	Addresses   []string          // where others can reach us (host:port)
	FreezeAfter time.Duration     // default 60 s; pings every FreezeAfter/3
	MaxFrozen   int               // frozen-list cap, default 128
	// JoinHistory is how many recent messages a joiner receives (default 100).
	JoinHistory int
	// Retention and RetentionCount bound the message store (30 days, 10,000).
	Retention      time.Duration
	RetentionCount int
	// HotWindow is how many of the newest stored messages keep their
	// bodies in memory (default DefaultHotWindow, at least JoinHistory).
	// Older chat messages keep a compact slot (number, link, fingerprint,
	// arrival); a neighbour's request for them becomes a Ready.Loads entry.
	HotWindow int
	// HistoryRate and HistoryBurst pace history sync per link (bytes/s, bytes).
	HistoryRate  int
	HistoryBurst int
	// SyncInterval is how often neighbours exchange summaries (default 3 min).
	SyncInterval time.Duration
	// LongLinks adds chords to Tox's ring (see docs); nil means on.
	LongLinks *bool
	// Rand supplies randomness (conference id, peer numbers, jitter). Nil
	// derives a deterministic source from the key and group number, which
	// is only fit for tests: production passes one seeded from crypto/rand.
	Rand *rand.Rand
}

func (c *Config) setDefaults() {
	if c.FreezeAfter <= 0 {
		c.FreezeAfter = DefaultFreezeAfter
	}
	if c.MaxFrozen <= 0 {
		c.MaxFrozen = defaultMaxFrozen
	}
	if c.JoinHistory <= 0 {
		c.JoinHistory = DefaultJoinHistory
	}
	if c.Retention <= 0 {
		c.Retention = DefaultRetention
	}
	if c.RetentionCount <= 0 {
		c.RetentionCount = DefaultRetentionCount
	}
	if c.HotWindow <= 0 {
		c.HotWindow = DefaultHotWindow
	}
	c.HotWindow = max(c.HotWindow, c.JoinHistory)
	if c.HistoryRate <= 0 {
		c.HistoryRate = DefaultHistoryRate
	}
	if c.HistoryBurst <= 0 {
		c.HistoryBurst = DefaultHistoryBurst
	}
	if c.SyncInterval <= 0 {
		c.SyncInterval = DefaultSyncInterval
	}
	if c.Rand == nil {
		k := c.Self.Public()
		c.Rand = rand.New(rand.NewPCG(binary.BigEndian.Uint64(k[:8])^uint64(c.GroupNumber), binary.BigEndian.Uint64(k[8:16])))
	}
	c.Addresses = sanitizeAddresses(c.Addresses)
}

func (c *Config) pingInterval() time.Duration { return c.FreezeAfter / 3 }

func (c *Config) longLinks() bool { return c.LongLinks == nil || *c.LongLinks }

// status of the conference (Tox: VALID = joining, CONNECTED).
type status uint8

const (
	statusJoining status = iota
	statusConnected
	statusLeft
)

// Engine is one conference. It is not safe for concurrent use: one owner
// goroutine calls it and drains Ready.
type Engine struct {
	cfg    Config
	id     ID
	self   identity.PublicKey
	status status

	selfNumber     uint16
	nextNumber     uint32 // next number we will sign
	lastStored     uint32 // our previous stored number (prev of the next one)
	name           string
	selfNameNumber uint32
	lastRenumber   time.Time // last renumbering forced by a collision

	peers     *peerTable
	conns     []*conn
	sessions  map[identity.PublicKey]bool
	friends   map[identity.PublicKey]bool
	closest   closestList
	ringDirty bool

	store *store
	title titleState
	sync  syncState

	selfSeen seenWindow

	sendName     bool
	announceSelf bool
	// announceListed: the pending self announcement is a joiner's first;
	// it is marked Listed if no hint is left unproven by then.
	announceListed bool
	// holdingDue: origins owed a HOLDING at the next Ready (noteHolding).
	holdingDue []identity.PublicKey
	lastPing   time.Time
	now        time.Time

	joinInviter identity.PublicKey
	joinCookie  *InvitePacket
	joinSent    time.Time

	wanted       map[identity.PublicKey]bool      // sessions we asked for
	wantScratch  map[identity.PublicKey]*peer     // wantedSessions' reused result
	signScratch  []byte                           // signed bytes of the message being checked or hashed
	held         map[msgRef]time.Time             // messages waiting for a predecessor
	linger       map[identity.PublicKey]time.Time // sessions kept a while after their connection
	forcedNumber *uint16                          // tests: the next peer number to hand out
	out          outbox
	stage        staging

	unsealed []unsealedMsg // own messages made since the last seal (send.go)
	signs    int           // signatures made (tests count them)
	auths    authCache     // verified batch roots (auth.go)

	delivered uint32            // others hold our messages up to this number
	echoes    map[uint32]uint32 // echoed own numbers above delivered -> their prev
}

// Create starts a new conference with us as its founder (peer number 0).
func Create(cfg Config, now time.Time) (*Engine, error) {
	if cfg.Self == nil {
		return nil, fmt.Errorf("conference: create: %w", ErrNotConnected)
	}
	var id ID
	id[0] = TypeText
	cfg.setDefaults()
	for i := 1; i < IDSize; i += 8 {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], cfg.Rand.Uint64())
		copy(id[i:], b[:])
	}
	e := newEngine(cfg, id, now)
	if err := e.setStatus(statusConnected); err != nil {
		return nil, err
	}
	e.persistMeta()
	e.sendName = e.name != "" // a signed NAME: members learn it from us, not from hints
	return e, nil
}

// Join starts joining the conference of cookie through inviter (a friend
// whose session is up): it sends the Invite accept and a Peer Query.
func Join(cfg Config, now time.Time, inviter identity.PublicKey, cookie []byte) (*Engine, error) {
	if cfg.Self == nil {
		return nil, fmt.Errorf("conference: join: %w", ErrNotConnected)
	}
	inv, err := DecodeCookie(cookie)
	if err != nil {
		return nil, fmt.Errorf("conference: join: %w", err)
	}
	if inv.ID.Type() != TypeText {
		return nil, fmt.Errorf("conference: join: %w", ErrWrongType)
	}
	cfg.setDefaults()
	e := newEngine(cfg, inv.ID, now)
	// newEngine starts joining (the zero status)
	e.joinInviter, e.joinCookie = inviter, inv
	e.sessions[inviter] = true
	c := e.addConn(inviter, reasonIntroducer)
	c.remoteGroup, c.online = inv.InviterGroup, true
	e.sendJoinRequest(now)
	return e, nil
}

func newEngine(cfg Config, id ID, now time.Time) *Engine {
	e := &Engine{
		cfg:        cfg,
		id:         id,
		self:       cfg.Self.Public(),
		nextNumber: 1,
		name:       truncName(cfg.Name),
		peers:      newPeerTable(),
		sessions:   map[identity.PublicKey]bool{},
		friends:    map[identity.PublicKey]bool{},
		wanted:     map[identity.PublicKey]bool{},
		held:       map[msgRef]time.Time{},
		linger:     map[identity.PublicKey]time.Time{},
		store:      newStore(cfg.HotWindow),
		echoes:     map[uint32]uint32{},
		now:        now,
	}
	e.sync.init()
	return e
}

func truncName(s string) string {
	if len(s) > MaxNameLength {
		return s[:MaxNameLength]
	}
	return s
}

// ID returns the conference id.
func (e *Engine) ID() ID { return e.id }

// Self returns our public key.
func (e *Engine) Self() identity.PublicKey { return e.self }

// SelfNumber returns our peer number (meaningful once connected).
func (e *Engine) SelfNumber() uint16 { return e.selfNumber }

// IsConnected reports whether we are a full member (not joining, not left).
func (e *Engine) IsConnected() bool { return e.status == statusConnected }

// NextNumber returns the next message number we will use.
func (e *Engine) NextNumber() uint32 { return e.nextNumber }

func (e *Engine) persistMeta() {
	e.persist(MetaRow{
		ID: e.id, SelfNumber: e.selfNumber, NextNumber: e.nextNumber,
		Connected: e.status != statusJoining, Left: e.status == statusLeft, MaxFrozen: e.cfg.MaxFrozen,
		Delivered: e.delivered,
	})
}

// HandlePacket processes one packet that arrived from the session to from.
// Malformed or unexpected packets are dropped; the error says why (for
// logs), and the engine state is unchanged by a malformed packet.
func (e *Engine) HandlePacket(now time.Time, from identity.PublicKey, data []byte) error {
	if e.out.full() {
		return fmt.Errorf("conference: handle packet: %w", ErrBackpressure)
	}
	e.now = now
	if e.status == statusLeft {
		return fmt.Errorf("conference: handle packet: %w", ErrLeft)
	}
	w, err := DecodePacket(data)
	if err != nil {
		return fmt.Errorf("conference: handle packet from %s: %w", from.Short(), err)
	}
	switch p := w.(type) {
	case *InvitePacket:
		return e.handleInvite(from, p)
	case *InviteAcceptPacket:
		return e.handleAccept(from, p)
	case *OnlinePacket:
		return e.handleOnline(from, p)
	case *RejoinPacket:
		return e.handleRejoin(from, p)
	case *MessagePacket:
		return e.handleMessage(from, p)
	case directPacket:
		return e.handleDirect(from, p)
	}
	return fmt.Errorf("conference: handle packet: %w", ErrUnknownPacket)
}

// SessionUp tells the engine the session to key is up.
func (e *Engine) SessionUp(now time.Time, key identity.PublicKey) {
	e.now = now
	if e.status == statusLeft || e.sessions[key] {
		return
	}
	e.sessions[key] = true
	if c := e.conn(key); c != nil {
		c.onlineTries = 0
	}
	if p := e.peers.byKey[key]; p != nil && p.frozen {
		e.trySendRejoin(p) // Rejoin, then Online on the INTRODUCER connection
	} else if c := e.conn(key); c != nil && !c.online && !c.pending {
		e.sendOnline(c)
	}
	if e.status == statusJoining && key == e.joinInviter {
		e.sendJoinRequest(now)
	}
}

// SessionDown tells the engine the session to key is down. If that leaves
// the conference without any online connection, every peer is frozen.
func (e *Engine) SessionDown(now time.Time, key identity.PublicKey) {
	e.now = now
	if !e.sessions[key] {
		return
	}
	delete(e.sessions, key)
	c := e.conn(key)
	if c == nil || !c.online || e.status != statusConnected {
		return
	}
	c.online = false
	e.sync.linkDown(key)
	if e.onlineCount() == 0 {
		e.freezeAll()
	}
}

// NextDeadline returns when Tick must be called next (zero: no timer).
func (e *Engine) NextDeadline() time.Time {
	if e.status == statusLeft {
		return time.Time{}
	}
	if e.status == statusJoining {
		return e.joinSent.Add(defaultHandshakeResend)
	}
	d := deadline{}
	if ((e.sendName || e.announceSelf) && !e.sync.selfSync) || e.ringDirty {
		d.add(e.now)
	}
	if e.onlineCount() > 0 && !e.sync.selfSync {
		d.add(e.lastPing.Add(e.cfg.pingInterval()))
	}
	for _, p := range e.peers.active {
		d.add(p.lastActive.Add(e.cfg.FreezeAfter))
	}
	for _, c := range e.conns {
		if !c.online && !c.pending && e.sessions[c.key] {
			d.add(e.nextOnlineResend(c))
		}
	}
	e.sync.deadlines(e, &d)
	e.heldDeadline(&d)
	for _, until := range e.linger {
		d.add(until)
	}
	return d.t
}

type deadline struct{ t time.Time }

func (d *deadline) add(t time.Time) {
	if t.IsZero() {
		return
	}
	if d.t.IsZero() || t.Before(d.t) {
		d.t = t
	}
}

// Tick runs the timers: closest ring, ping, freezing, connection cleanup,
// batched NAME, handshake resends, history sync.
func (e *Engine) Tick(now time.Time) {
	e.now = now
	switch e.status {
	case statusLeft:
		return
	case statusJoining:
		if !now.Before(e.joinSent.Add(defaultHandshakeResend)) {
			e.sendJoinRequest(now)
		}
		return
	}
	e.maintainRing()
	e.maybePing()
	e.freezeTimedOut()
	e.cleanConnections()
	e.flushNameAndAnnounce()
	e.resendOnlines()
	e.syncTick()
	e.releaseHeld()
	e.expireLinger()
	e.pruneByAge()
}
