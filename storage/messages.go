package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"confchat/identity"
)

// Message is a stored, signed conference message. Number is the origin's
// message number; Prev is the number of the origin's previous stored
// message (0 for none). Seq is the local arrival order, set on insert.
type Message struct {
	Seq        int64
	Conference identity.ConferenceID
	Origin     identity.PublicKey
	Number     uint32
	Prev       uint32
	Kind       uint8
	Body       []byte
	Signature  []byte
	SentAt     time.Time
	ReceivedAt time.Time
	// Forked marks an origin that signed two versions of this number; the
	// stored one is the canonical version (schema 2).
	Forked bool
	// Fingerprint is the first 8 bytes of the message's hash (schema 5;
	// 0: not stored, the reader computes it).
	Fingerprint uint64
}

// InsertMessage stores m unless (conference, origin, number) is already
// stored. It reports whether m was new.
func (q queries) InsertMessage(ctx context.Context, m Message) (bool, error) {
	seq, err := q.InsertMessageSeq(ctx, m)
	return seq > 0, err
}

// InsertMessageSeq stores m unless (conference, origin, number) is
// already stored, and returns its new Seq (0 when it was stored before).
func (q queries) InsertMessageSeq(ctx context.Context, m Message) (int64, error) {
	res, err := q.exec(ctx, `
		INSERT INTO messages (conference, origin, number, prev, kind, body, signature, sent_at, received_at, forked, fp)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (conference, origin, number) DO NOTHING`,
		m.Conference[:], m.Origin[:], m.Number, m.Prev, m.Kind, nonNil(m.Body), nonNil(m.Signature),
		millis(m.SentAt), millis(m.ReceivedAt), m.Forked, nullFingerprint(m.Fingerprint))
	if err != nil {
		return 0, fmt.Errorf("insert message %s/%d: %w", m.Origin.Short(), m.Number, err)
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return 0, err
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("insert message: %w", err)
	}
	return seq, nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

const messageCols = "seq, origin, number, prev, kind, body, signature, sent_at, received_at, forked"

// Messages returns up to limit messages of a conference in arrival order,
// oldest first, taken from the newest end; with before > 0 only messages
// with Seq < before are considered (paging back through history).
func (q queries) Messages(ctx context.Context, id identity.ConferenceID, limit int, before int64) ([]Message, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	return queryAll(ctx, q, "list messages", messageScanner(id), `
		SELECT * FROM (
			SELECT `+messageCols+` FROM messages
			WHERE conference = ? AND seq < ? ORDER BY seq DESC LIMIT ?
		) ORDER BY seq`, id[:], before, limit)
}

// MessagesFrom returns one origin's messages numbered in [from, to], in
// number order; history sync serves fetches from it.
func (q queries) MessagesFrom(ctx context.Context, id identity.ConferenceID, origin identity.PublicKey, from, to uint32) ([]Message, error) {
	return queryAll(ctx, q, "list messages from "+origin.Short(), messageScanner(id), `
		SELECT `+messageCols+` FROM messages
		WHERE conference = ? AND origin = ? AND number BETWEEN ? AND ? ORDER BY number`,
		id[:], origin[:], from, to)
}

// messageScanner returns a scan function for rows of messageCols.
func messageScanner(id identity.ConferenceID) func(rowScanner) (Message, error) {
	return func(s rowScanner) (Message, error) {
		m := Message{Conference: id}
		var origin []byte
		var sent, recv int64
		if err := s.Scan(&m.Seq, &origin, &m.Number, &m.Prev, &m.Kind, &m.Body, &m.Signature, &sent, &recv, &m.Forked); err != nil {
			return m, err
		}
		var err error
		m.Origin, err = scanKey(origin, "message origin")
		m.SentAt, m.ReceivedAt = fromMillis(sent), fromMillis(recv)
		return m, err
	}
}

// PruneMessages applies retention to one conference: it deletes messages
// received before olderThan and all but the newest keep messages. It
// returns how many it deleted.
func (q queries) PruneMessages(ctx context.Context, id identity.ConferenceID, olderThan time.Time, keep int) (int64, error) {
	res, err := q.exec(ctx, `
		DELETE FROM messages WHERE conference = ? AND (received_at < ? OR seq <= (
			SELECT seq FROM messages WHERE conference = ? ORDER BY seq DESC LIMIT 1 OFFSET ?))`,
		id[:], millis(olderThan), id[:], keep)
	if err != nil {
		return 0, fmt.Errorf("prune messages: %w", err)
	}
	return res.RowsAffected()
}

// ConferenceMessages returns every stored message of a conference in
// arrival order (what a restarting engine reloads).
func (q queries) ConferenceMessages(ctx context.Context, id identity.ConferenceID) ([]Message, error) {
	return queryAll(ctx, q, "load messages", messageScanner(id),
		"SELECT "+messageCols+" FROM messages WHERE conference = ? ORDER BY seq", id[:])
}

// DeleteMessage removes one stored message (pruned, or the losing side of
// a fork).
func (q queries) DeleteMessage(ctx context.Context, id identity.ConferenceID, origin identity.PublicKey, number uint32) error {
	_, err := q.exec(ctx,
		"DELETE FROM messages WHERE conference = ? AND origin = ? AND number = ?", id[:], origin[:], number)
	if err != nil {
		return fmt.Errorf("delete message %s/%d: %w", origin.Short(), number, err)
	}
	return nil
}

// Floor is the lowest message number of Origin a member keeps; a Fixed
// floor (set when joining) is never lowered by peers' summaries.
type Floor struct {
	Origin identity.PublicKey
	Floor  uint32
	Fixed  bool
}

// PutFloor inserts or replaces an origin's floor in a conference.
func (q queries) PutFloor(ctx context.Context, id identity.ConferenceID, f Floor) error {
	_, err := q.exec(ctx, `
		INSERT INTO floors (conference, origin, floor, fixed) VALUES (?, ?, ?, ?)
		ON CONFLICT (conference, origin) DO UPDATE SET floor = excluded.floor, fixed = excluded.fixed`,
		id[:], f.Origin[:], f.Floor, f.Fixed)
	if err != nil {
		return fmt.Errorf("put floor %s: %w", f.Origin.Short(), err)
	}
	return nil
}

// Floors returns a conference's floors.
func (q queries) Floors(ctx context.Context, id identity.ConferenceID) ([]Floor, error) {
	scan := func(s rowScanner) (Floor, error) {
		var f Floor
		var origin []byte
		if err := s.Scan(&origin, &f.Floor, &f.Fixed); err != nil {
			return f, err
		}
		var err error
		f.Origin, err = scanKey(origin, "floor origin")
		return f, err
	}
	return queryAll(ctx, q, "list floors", scan,
		"SELECT origin, floor, fixed FROM floors WHERE conference = ? ORDER BY origin", id[:])
}

// MessagesRange returns at most limit of one origin's messages numbered
// in [from, to], in number order: the bodies a history request needs that
// the engine keeps only on disk.
func (q queries) MessagesRange(ctx context.Context, id identity.ConferenceID, origin identity.PublicKey, from, to uint32, limit int) ([]Message, error) {
	return queryAll(ctx, q, "read messages of "+origin.Short(), messageScanner(id), `
		SELECT `+messageCols+` FROM messages
		WHERE conference = ? AND origin = ? AND number BETWEEN ? AND ? ORDER BY number LIMIT ?`,
		id[:], origin[:], from, to, limit)
}

func nullFingerprint(fp uint64) any {
	if fp == 0 {
		return nil
	}
	return int64(fp)
}

// EachMessageNewestFirst calls fn with every stored message of a
// conference, newest first, without holding them all in memory (a
// restoring engine reads its whole history once). Body and Signature are
// read only where the engine needs them: for the newest hotChat chat
// messages (MESSAGE, ACTION), for every other kind, and for rows without
// a stored Fingerprint; elsewhere they are nil. The Body and Signature fn
// sees are only valid until it returns: copy what you keep.
func (q queries) EachMessageNewestFirst(ctx context.Context, id identity.ConferenceID, hotChat int, fn func(m *Message) error) error {
	var threshold int64 // chat messages from this seq on keep their bodies
	err := q.queryRow(ctx, `SELECT seq FROM messages WHERE conference = ? AND kind IN (?, ?)
		ORDER BY seq DESC LIMIT 1 OFFSET ?`, id[:], kindMessage, kindAction, max(hotChat-1, 0)).Scan(&threshold)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read messages: %w", err)
	}
	rows, err := q.query(ctx, `
		SELECT seq, origin, number, prev, kind, sent_at, received_at, forked, fp,
			CASE WHEN fp IS NULL OR kind NOT IN (?, ?) OR seq >= ? THEN body END,
			CASE WHEN fp IS NULL OR kind NOT IN (?, ?) OR seq >= ? THEN signature END
		FROM messages WHERE conference = ? ORDER BY seq DESC`,
		kindMessage, kindAction, threshold, kindMessage, kindAction, threshold, id[:])
	if err != nil {
		return fmt.Errorf("read messages: %w", err)
	}
	defer rows.Close()
	m := Message{Conference: id}
	var origin, body, sig sql.RawBytes
	var sent, recv int64
	var fp sql.NullInt64
	for rows.Next() {
		if err := rows.Scan(&m.Seq, &origin, &m.Number, &m.Prev, &m.Kind, &sent, &recv, &m.Forked, &fp, &body, &sig); err != nil {
			return fmt.Errorf("read messages: %w", err)
		}
		if m.Origin, err = scanKey(origin, "message origin"); err != nil {
			return fmt.Errorf("read messages: %w", err)
		}
		m.Body, m.Signature = body, sig
		m.Fingerprint = uint64(fp.Int64) // 0 when NULL
		m.SentAt, m.ReceivedAt = fromMillis(sent), fromMillis(recv)
		if err := fn(&m); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read messages: %w", err)
	}
	return nil
}
