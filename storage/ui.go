package storage

import (
	"context"
	"fmt"
	"strings"

	"confchat/identity"
)

// Chat kinds (conference.KindMessage and KindAction): the stored messages a
// person reads. Kept here as numbers so storage does not import conference.
const (
	kindMessage = 0x40
	kindAction  = 0x41
)

// MaxInputHistory is how many input lines are kept per conference (and
// for the global history).
const MaxInputHistory = 200

// SetHidden marks a conference closed in the UI (it stays saved) or open.
func (q queries) SetHidden(ctx context.Context, id identity.ConferenceID, hidden bool) error {
	return q.updateConference(ctx, "set hidden", "UPDATE conferences SET hidden = ? WHERE id = ?", hidden, id[:])
}

// SetLastRead records the History position the user has read up to.
func (q queries) SetLastRead(ctx context.Context, id identity.ConferenceID, seq int64) error {
	return q.updateConference(ctx, "set last read", "UPDATE conferences SET last_read = ? WHERE id = ?", seq, id[:])
}

// RaiseDelivered records that another member holds our messages numbered
// up to n; it never lowers the stored value.
func (q queries) RaiseDelivered(ctx context.Context, id identity.ConferenceID, n uint32) error {
	return q.updateConference(ctx, "raise delivered",
		"UPDATE conferences SET delivered = max(delivered, ?) WHERE id = ?", n, id[:])
}

// RaiseNumbers raises our next message number and the delivered mark of a
// conference in one statement (neither is ever lowered): what a loop turn
// that only sent or had messages acknowledged writes to the row.
func (q queries) RaiseNumbers(ctx context.Context, id identity.ConferenceID, next, delivered uint32) error {
	return q.updateConference(ctx, "raise numbers",
		"UPDATE conferences SET next_number = max(next_number, ?), delivered = max(delivered, ?) WHERE id = ?",
		next, delivered, id[:])
}

func (q queries) updateConference(ctx context.Context, what, query string, args ...any) error {
	res, err := q.exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s: conference %w", what, ErrNotFound)
	}
	return nil
}

// UnreadCount counts the chat messages of others stored after seq.
func (q queries) UnreadCount(ctx context.Context, id identity.ConferenceID, self identity.PublicKey, after int64) (int, error) {
	var n int
	err := q.queryRow(ctx, `
		SELECT count(*) FROM messages
		WHERE conference = ? AND seq > ? AND origin != ? AND kind IN (?, ?)`,
		id[:], after, self[:], kindMessage, kindAction).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count unread: %w", err)
	}
	return n, nil
}

// UnreadCountUpTo is UnreadCount counting at most limit messages (cheap
// on a long history: the node's start-up uses it until the conference's
// restore counts exactly).
func (q queries) UnreadCountUpTo(ctx context.Context, id identity.ConferenceID, self identity.PublicKey, after int64, limit int) (int, error) {
	var n int
	err := q.queryRow(ctx, `
		SELECT count(*) FROM (SELECT 1 FROM messages
		WHERE conference = ? AND seq > ? AND origin != ? AND kind IN (?, ?) LIMIT ?)`,
		id[:], after, self[:], kindMessage, kindAction, limit).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count unread: %w", err)
	}
	return n, nil
}

// HasSeq reports whether seq is the History position of a message stored
// in conference id.
func (q queries) HasSeq(ctx context.Context, id identity.ConferenceID, seq int64) (bool, error) {
	var n int
	err := q.queryRow(ctx, "SELECT count(*) FROM messages WHERE seq = ? AND conference = ?", seq, id[:]).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("find history position %d: %w", seq, err)
	}
	return n > 0, nil
}

// MessageSeq returns the History position of a stored message, or
// ErrNotFound.
func (q queries) MessageSeq(ctx context.Context, id identity.ConferenceID, origin identity.PublicKey, number uint32) (int64, error) {
	var seq int64
	err := q.queryRow(ctx, "SELECT seq FROM messages WHERE conference = ? AND origin = ? AND number = ?",
		id[:], origin[:], number).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("find message %s/%d: %w", origin.Short(), number, notFound(err))
	}
	return seq, nil
}

// AddInputHistory appends a typed line to a conference's input history
// (a nil id: the global one) and drops all but the newest
// MaxInputHistory lines.
func (q queries) AddInputHistory(ctx context.Context, id *identity.ConferenceID, line string) error {
	conf := inputKey(id)
	if _, err := q.exec(ctx, "INSERT INTO input_history (conference, line) VALUES (?, ?)", conf, line); err != nil {
		return fmt.Errorf("add input history: %w", err)
	}
	_, err := q.exec(ctx, `
		DELETE FROM input_history WHERE conference = ? AND seq <= (
			SELECT seq FROM input_history WHERE conference = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`,
		conf, conf, MaxInputHistory)
	if err != nil {
		return fmt.Errorf("trim input history: %w", err)
	}
	return nil
}

// InputHistory returns a conference's input lines (nil id: the global
// ones), oldest first.
func (q queries) InputHistory(ctx context.Context, id *identity.ConferenceID) ([]string, error) {
	scan := func(s rowScanner) (string, error) {
		var line string
		err := s.Scan(&line)
		return line, err
	}
	return queryAll(ctx, q, "list input history", scan, `
		SELECT line FROM (
			SELECT seq, line FROM input_history WHERE conference = ? ORDER BY seq DESC LIMIT ?
		) ORDER BY seq`, inputKey(id), MaxInputHistory)
}

func inputKey(id *identity.ConferenceID) []byte {
	if id == nil {
		return []byte{}
	}
	return id[:]
}

// SearchMessages returns up to limit chat messages whose text contains
// text (ASCII case-insensitively), newest first; a nil conference searches
// every conference.
func (q queries) SearchMessages(ctx context.Context, conf *identity.ConferenceID, text string, limit int) ([]Message, error) {
	pattern := "%" + likeEscaper.Replace(text) + "%"
	where, args := "", []any{kindMessage, kindAction, pattern}
	if conf != nil {
		where, args = "conference = ? AND ", []any{conf[:], kindMessage, kindAction, pattern}
	}
	args = append(args, limit)
	return queryAll(ctx, q, "search messages", scanMessageAnyConference, `
		SELECT conference, `+messageCols+` FROM messages
		WHERE `+where+`kind IN (?, ?) AND CAST(substr(body, 5) AS TEXT) LIKE ? ESCAPE '\'
		ORDER BY seq DESC LIMIT ?`, args...)
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func scanMessageAnyConference(s rowScanner) (Message, error) {
	var m Message
	var conf, origin []byte
	var sent, recv int64
	if err := s.Scan(&conf, &m.Seq, &origin, &m.Number, &m.Prev, &m.Kind, &m.Body, &m.Signature, &sent, &recv, &m.Forked); err != nil {
		return m, err
	}
	var err error
	if m.Conference, err = scanConfID(conf); err != nil {
		return m, err
	}
	m.Origin, err = scanKey(origin, "message origin")
	m.SentAt, m.ReceivedAt = fromMillis(sent), fromMillis(recv)
	return m, err
}
