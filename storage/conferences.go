package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"confchat/identity"
)

// ConferenceState says where we stand in a conference.
type ConferenceState int

// The conference states, as stored.
const (
	ConferenceJoined  ConferenceState = 0 // a member
	ConferenceInvited ConferenceState = 1 // invited, not yet joined
	ConferenceLeft    ConferenceState = 2 // left; kept only until deleted
)

// Conference is a stored conference. NextNumber is our own next message
// number in it; it only ever grows (see RaiseNextNumber).
type Conference struct {
	ID         identity.ConferenceID
	Title      string
	TitleStamp uint64
	TitleBy    identity.PublicKey
	State      ConferenceState
	NextNumber uint32
	InvitedBy  identity.PublicKey
	CreatedAt  time.Time
	// Engine state (schema 2).
	SelfNumber   uint16
	Connected    bool   // false while joining
	MaxFrozen    int    // 0: the engine's default
	InviteCookie []byte // the join cookie while State is ConferenceInvited
	// Front-end state (schema 3). PutConference writes them only when it
	// inserts; SetHidden, SetLastRead and RaiseDelivered change them.
	Hidden    bool
	LastRead  int64  // a Message.Seq; 0 for none
	Delivered uint32 // another member holds our messages numbered up to this
}

func nullKey(k identity.PublicKey) any {
	if k.IsZero() {
		return nil
	}
	return k[:]
}

// PutConference inserts or updates a conference. An update never lowers
// next_number.
func (q queries) PutConference(ctx context.Context, c Conference) error {
	_, err := q.exec(ctx, `
		INSERT INTO conferences (id, title, title_stamp, title_by, state, next_number, invited_by, created_at,
			self_number, connected, max_frozen, invite_cookie, hidden, last_read, delivered)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET
			title = excluded.title, title_stamp = excluded.title_stamp, title_by = excluded.title_by,
			state = excluded.state, invited_by = excluded.invited_by,
			next_number = max(next_number, excluded.next_number),
			self_number = excluded.self_number, connected = excluded.connected,
			max_frozen = excluded.max_frozen, invite_cookie = excluded.invite_cookie`,
		c.ID[:], c.Title, int64(c.TitleStamp), nullKey(c.TitleBy), c.State, c.NextNumber,
		nullKey(c.InvitedBy), millis(c.CreatedAt), c.SelfNumber, c.Connected, c.MaxFrozen, c.InviteCookie,
		c.Hidden, c.LastRead, c.Delivered)
	if err != nil {
		return fmt.Errorf("put conference: %w", err)
	}
	return nil
}

// RaiseNextNumber sets our next message number in a conference to n unless
// it is already higher. A number once handed out is never handed out again.
func (q queries) RaiseNextNumber(ctx context.Context, id identity.ConferenceID, n uint32) error {
	res, err := q.exec(ctx,
		"UPDATE conferences SET next_number = max(next_number, ?) WHERE id = ?", n, id[:])
	if err != nil {
		return fmt.Errorf("raise next number: %w", err)
	}
	if rows, _ := res.RowsAffected(); rows == 0 {
		return fmt.Errorf("raise next number: conference %w", ErrNotFound)
	}
	return nil
}

const conferenceCols = "id, title, title_stamp, title_by, state, next_number, invited_by, created_at, " +
	"self_number, connected, max_frozen, invite_cookie, hidden, last_read, delivered"

func scanConference(s rowScanner) (Conference, error) {
	var c Conference
	var id, titleBy, invitedBy []byte
	var stamp, created int64
	if err := s.Scan(&id, &c.Title, &stamp, &titleBy, &c.State, &c.NextNumber, &invitedBy, &created,
		&c.SelfNumber, &c.Connected, &c.MaxFrozen, &c.InviteCookie, &c.Hidden, &c.LastRead, &c.Delivered); err != nil {
		return c, err
	}
	var err error
	if c.ID, err = scanConfID(id); err != nil {
		return c, err
	}
	if titleBy != nil {
		if c.TitleBy, err = scanKey(titleBy, "title setter"); err != nil {
			return c, err
		}
	}
	if invitedBy != nil {
		if c.InvitedBy, err = scanKey(invitedBy, "inviter"); err != nil {
			return c, err
		}
	}
	c.TitleStamp, c.CreatedAt = uint64(stamp), fromMillis(created)
	return c, nil
}

// Conference returns one conference, or ErrNotFound.
func (q queries) Conference(ctx context.Context, id identity.ConferenceID) (Conference, error) {
	c, err := scanConference(q.queryRow(ctx,
		"SELECT "+conferenceCols+" FROM conferences WHERE id = ?", id[:]))
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("read conference: %w", err)
	}
	return c, nil
}

// Conferences returns every stored conference, oldest first.
func (q queries) Conferences(ctx context.Context) ([]Conference, error) {
	return queryAll(ctx, q, "list conferences", scanConference,
		"SELECT "+conferenceCols+" FROM conferences ORDER BY created_at, id")
}

// DeleteConference removes a conference with its peers and messages.
func (q queries) DeleteConference(ctx context.Context, id identity.ConferenceID) error {
	if _, err := q.exec(ctx, "DELETE FROM conferences WHERE id = ?", id[:]); err != nil {
		return fmt.Errorf("delete conference: %w", err)
	}
	return nil
}

// Peer is a member of a stored conference, as last known.
type Peer struct {
	Conference identity.ConferenceID
	Key        identity.PublicKey
	Number     uint16
	Name       string
	Addresses  []string
	Frozen     bool
	LastActive time.Time
	// HighestSeen is the highest message number seen from this peer
	// (schema 2), so replays are refused after a restart.
	HighestSeen uint32
}

// PutPeer inserts or replaces a conference peer.
func (q queries) PutPeer(ctx context.Context, p Peer) error {
	_, err := q.exec(ctx, `
		INSERT INTO conference_peers (conference, public_key, peer_number, name, addresses, frozen, last_active,
			highest_seen)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (conference, public_key) DO UPDATE SET
			peer_number = excluded.peer_number, name = excluded.name, addresses = excluded.addresses,
			frozen = excluded.frozen, last_active = excluded.last_active,
			highest_seen = max(highest_seen, excluded.highest_seen)`,
		p.Conference[:], p.Key[:], p.Number, p.Name, encodeAddrs(p.Addresses), p.Frozen, millis(p.LastActive),
		p.HighestSeen)
	if err != nil {
		return fmt.Errorf("put peer %s: %w", p.Key.Short(), err)
	}
	return nil
}

// Peers returns a conference's stored peers ordered by peer number.
func (q queries) Peers(ctx context.Context, id identity.ConferenceID) ([]Peer, error) {
	scan := func(s rowScanner) (Peer, error) {
		p := Peer{Conference: id}
		var key []byte
		var addrs string
		var active int64
		if err := s.Scan(&key, &p.Number, &p.Name, &addrs, &p.Frozen, &active, &p.HighestSeen); err != nil {
			return p, err
		}
		var err error
		p.Key, p.Addresses, err = scanKeyAddrs(key, addrs, "peer key")
		p.LastActive = fromMillis(active)
		return p, err
	}
	return queryAll(ctx, q, "list peers", scan, `
		SELECT public_key, peer_number, name, addresses, frozen, last_active, highest_seen
		FROM conference_peers WHERE conference = ? ORDER BY peer_number, public_key`, id[:])
}

// DeletePeer removes a peer from a conference (it left).
func (q queries) DeletePeer(ctx context.Context, id identity.ConferenceID, key identity.PublicKey) error {
	_, err := q.exec(ctx,
		"DELETE FROM conference_peers WHERE conference = ? AND public_key = ?", id[:], key[:])
	if err != nil {
		return fmt.Errorf("delete peer %s: %w", key.Short(), err)
	}
	return nil
}
