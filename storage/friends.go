package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"confchat/identity"
)

// Friend is a stored friend. Confirmed is false while our own friend
// request is unanswered.
type Friend struct {
	Key       identity.PublicKey
	Name      string
	Addresses []string
	Nospam    uint32
	Confirmed bool
	AddedAt   time.Time
	LastSeen  time.Time
}

// PutFriend inserts or replaces a friend.
func (q queries) PutFriend(ctx context.Context, f Friend) error {
	_, err := q.exec(ctx, `
		INSERT INTO friends (public_key, name, addresses, nospam, confirmed, added_at, last_seen)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (public_key) DO UPDATE SET
			name = excluded.name, addresses = excluded.addresses, nospam = excluded.nospam,
			confirmed = excluded.confirmed, last_seen = excluded.last_seen`,
		f.Key[:], f.Name, encodeAddrs(f.Addresses), f.Nospam, f.Confirmed,
		millis(f.AddedAt), millis(f.LastSeen))
	if err != nil {
		return fmt.Errorf("put friend %s: %w", f.Key.Short(), err)
	}
	return nil
}

const friendCols = "public_key, name, addresses, nospam, confirmed, added_at, last_seen"

func scanFriend(s rowScanner) (Friend, error) {
	var f Friend
	var key []byte
	var addrs string
	var added, seen int64
	if err := s.Scan(&key, &f.Name, &addrs, &f.Nospam, &f.Confirmed, &added, &seen); err != nil {
		return f, err
	}
	var err error
	f.Key, f.Addresses, err = scanKeyAddrs(key, addrs, "friend key")
	f.AddedAt, f.LastSeen = fromMillis(added), fromMillis(seen)
	return f, err
}

// Friend returns one friend, or ErrNotFound.
func (q queries) Friend(ctx context.Context, key identity.PublicKey) (Friend, error) {
	f, err := scanFriend(q.queryRow(ctx,
		"SELECT "+friendCols+" FROM friends WHERE public_key = ?", key[:]))
	if errors.Is(err, sql.ErrNoRows) {
		return f, ErrNotFound
	}
	if err != nil {
		return f, fmt.Errorf("read friend %s: %w", key.Short(), err)
	}
	return f, nil
}

// Friends returns every friend, in the order they were added.
func (q queries) Friends(ctx context.Context) ([]Friend, error) {
	return queryAll(ctx, q, "list friends", scanFriend,
		"SELECT "+friendCols+" FROM friends ORDER BY added_at, public_key")
}

// DeleteFriend removes a friend; removing an unknown key is not an error.
func (q queries) DeleteFriend(ctx context.Context, key identity.PublicKey) error {
	if _, err := q.exec(ctx, "DELETE FROM friends WHERE public_key = ?", key[:]); err != nil {
		return fmt.Errorf("delete friend %s: %w", key.Short(), err)
	}
	return nil
}

// FriendRequest is a request we received and have not answered.
type FriendRequest struct {
	Key        identity.PublicKey
	Message    string
	Addresses  []string
	ReceivedAt time.Time
}

// PutFriendRequest stores a request; a repeated request replaces the
// earlier one from the same key.
func (q queries) PutFriendRequest(ctx context.Context, r FriendRequest) error {
	_, err := q.exec(ctx, `
		INSERT INTO friend_requests (public_key, message, addresses, received_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (public_key) DO UPDATE SET
			message = excluded.message, addresses = excluded.addresses, received_at = excluded.received_at`,
		r.Key[:], r.Message, encodeAddrs(r.Addresses), millis(r.ReceivedAt))
	if err != nil {
		return fmt.Errorf("put friend request %s: %w", r.Key.Short(), err)
	}
	return nil
}

// FriendRequests returns the pending requests, oldest first.
func (q queries) FriendRequests(ctx context.Context) ([]FriendRequest, error) {
	return queryAll(ctx, q, "list friend requests", scanFriendRequest,
		"SELECT public_key, message, addresses, received_at FROM friend_requests ORDER BY received_at, public_key")
}

func scanFriendRequest(s rowScanner) (FriendRequest, error) {
	var r FriendRequest
	var key []byte
	var addrs string
	var at int64
	if err := s.Scan(&key, &r.Message, &addrs, &at); err != nil {
		return r, err
	}
	var err error
	r.Key, r.Addresses, err = scanKeyAddrs(key, addrs, "request key")
	r.ReceivedAt = fromMillis(at)
	return r, err
}

// DeleteFriendRequest removes a pending request (accepted or declined).
func (q queries) DeleteFriendRequest(ctx context.Context, key identity.PublicKey) error {
	if _, err := q.exec(ctx, "DELETE FROM friend_requests WHERE public_key = ?", key[:]); err != nil {
		return fmt.Errorf("delete friend request %s: %w", key.Short(), err)
	}
	return nil
}
