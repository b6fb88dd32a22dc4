package storage

import (
	"context"
	"fmt"
	"time"

	"confchat/identity"
)

// Message is a stored, signed conference message. Number is the origin's
// message number; Prev is the number of the origin's previous stored
// message (0 for none). Seq is the local arrival order, set on insert.
type Message struct {
	Seq        int64
	Conference ConferenceID
	Origin     identity.PublicKey
	Number     uint32
	Prev       uint32
	Kind       uint8
	Body       []byte
	Signature  []byte
	SentAt     time.Time
	ReceivedAt time.Time
}

// InsertMessage stores m unless (conference, origin, number) is already
// stored. It reports whether m was new.
func (q queries) InsertMessage(ctx context.Context, m Message) (bool, error) {
	res, err := q.ex.ExecContext(ctx, `
		INSERT INTO messages (conference, origin, number, prev, kind, body, signature, sent_at, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (conference, origin, number) DO NOTHING`,
		m.Conference[:], m.Origin[:], m.Number, m.Prev, m.Kind, nonNil(m.Body), nonNil(m.Signature),
		millis(m.SentAt), millis(m.ReceivedAt))
	if err != nil {
		return false, fmt.Errorf("insert message %s/%d: %w", m.Origin.Short(), m.Number, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("insert message: %w", err)
	}
	return n == 1, nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

const messageCols = "seq, origin, number, prev, kind, body, signature, sent_at, received_at"

// Messages returns up to limit messages of a conference in arrival order,
// oldest first, taken from the newest end; with before > 0 only messages
// with Seq < before are considered (paging back through history).
func (q queries) Messages(ctx context.Context, id ConferenceID, limit int, before int64) ([]Message, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := q.ex.QueryContext(ctx, `
		SELECT * FROM (
			SELECT `+messageCols+` FROM messages
			WHERE conference = ? AND seq < ? ORDER BY seq DESC LIMIT ?
		) ORDER BY seq`, id[:], before, limit)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	return collectMessages(id, rows)
}

// MessagesFrom returns one origin's messages numbered in [from, to], in
// number order; history sync serves fetches from it.
func (q queries) MessagesFrom(ctx context.Context, id ConferenceID, origin identity.PublicKey, from, to uint32) ([]Message, error) {
	rows, err := q.ex.QueryContext(ctx, `
		SELECT `+messageCols+` FROM messages
		WHERE conference = ? AND origin = ? AND number BETWEEN ? AND ? ORDER BY number`,
		id[:], origin[:], from, to)
	if err != nil {
		return nil, fmt.Errorf("list messages from %s: %w", origin.Short(), err)
	}
	return collectMessages(id, rows)
}

type rows interface {
	rowScanner
	Next() bool
	Err() error
	Close() error
}

func collectMessages(id ConferenceID, rs rows) ([]Message, error) {
	defer rs.Close()
	var out []Message
	for rs.Next() {
		m := Message{Conference: id}
		var origin []byte
		var sent, recv int64
		if err := rs.Scan(&m.Seq, &origin, &m.Number, &m.Prev, &m.Kind, &m.Body, &m.Signature, &sent, &recv); err != nil {
			return nil, fmt.Errorf("scan message: %w", err)
		}
		var err error
		if m.Origin, err = scanKey(origin, "message origin"); err != nil {
			return nil, err
		}
		m.SentAt, m.ReceivedAt = fromMillis(sent), fromMillis(recv)
		out = append(out, m)
	}
	return out, rs.Err()
}

// PruneMessages applies retention to one conference: it deletes messages
// received before olderThan and all but the newest keep messages. It
// returns how many it deleted.
func (q queries) PruneMessages(ctx context.Context, id ConferenceID, olderThan time.Time, keep int) (int64, error) {
	res, err := q.ex.ExecContext(ctx, `
		DELETE FROM messages WHERE conference = ? AND (received_at < ? OR seq <= (
			SELECT seq FROM messages WHERE conference = ? ORDER BY seq DESC LIMIT 1 OFFSET ?))`,
		id[:], millis(olderThan), id[:], keep)
	if err != nil {
		return 0, fmt.Errorf("prune messages: %w", err)
	}
	return res.RowsAffected()
}
