package node

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"confchat/conference"
	"confchat/identity"
	"confchat/storage"
)

// Limits of the front-end calls.
const (
	maxInputLine  = 16 << 10 // bytes of one input-history line
	defaultSearch = 50
	maxSearch     = 500
)

// ErrEmptySearch is returned by Search for an empty text.
var ErrEmptySearch = errors.New("search text is empty")

// MaxSearchText is the longest text Search takes, in bytes (SQLite refuses
// LIKE patterns over 50,000 bytes; nobody searches for a page of text).
const MaxSearchText = 1000

// ErrSearchTooLong is returned by Search for a text over MaxSearchText.
var ErrSearchTooLong = fmt.Errorf("search text is longer than %d bytes", MaxSearchText)

// ErrNotCursor is returned by MarkRead for a position that is neither 0 nor
// the History cursor of a message of that conference.
var ErrNotCursor = errors.New("cursor must be 0 or a history cursor of that conference")

// SetHidden closes (hidden) or reopens a conference in the UI. It stays
// saved and keeps running; activity from others reopens it.
func (n *Node) SetHidden(ctx context.Context, id ConferenceID, hidden bool) error {
	return n.do(ctx, func(time.Time) error {
		c, ok := n.confs[id]
		if !ok {
			return ErrUnknownConference
		}
		return n.setHidden(c, hidden)
	})
}

func (n *Node) setHidden(c *conf, hidden bool) error {
	if c.hidden == hidden {
		return nil
	}
	if err := n.db.SetHidden(n.qctx, c.id, hidden); err != nil {
		return err
	}
	c.hidden = hidden
	return nil
}

// MarkRead records that the user has read a conference up to History
// position seq (0: nothing); Unread counts others' messages after it.
func (n *Node) MarkRead(ctx context.Context, id ConferenceID, seq int64) error {
	if seq < 0 {
		return fmt.Errorf("mark read: position %d: %w", seq, ErrNotCursor)
	}
	return n.do(ctx, func(time.Time) error {
		c, ok := n.confs[id]
		if !ok {
			return ErrUnknownConference
		}
		if seq != 0 {
			ok, err := n.db.HasSeq(n.qctx, id, seq)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("mark read: position %d: %w", seq, ErrNotCursor)
			}
		}
		unread, err := n.db.UnreadCount(n.qctx, id, n.key.Public(), seq)
		if err != nil {
			return err
		}
		if err := n.db.SetLastRead(n.qctx, id, seq); err != nil {
			return err
		}
		c.lastRead, c.unread = seq, unread
		return nil
	})
}

// InputHistory returns the lines typed in a conference (the zero id: the
// global history), oldest first, at most storage.MaxInputHistory.
func (n *Node) InputHistory(ctx context.Context, id ConferenceID) ([]string, error) {
	var out []string
	err := n.do(ctx, func(time.Time) error {
		key, err := n.inputKey(id)
		if err != nil {
			return err
		}
		out, err = n.db.InputHistory(n.qctx, key)
		return err
	})
	return out, err
}

// AddInputHistory appends a typed line to a conference's input history
// (the zero id: the global one); the oldest lines past the limit go.
func (n *Node) AddInputHistory(ctx context.Context, id ConferenceID, line string) error {
	if line == "" {
		return nil
	}
	if len(line) > maxInputLine {
		return fmt.Errorf("input line is %d bytes, the limit is %d", len(line), maxInputLine)
	}
	return n.do(ctx, func(time.Time) error {
		key, err := n.inputKey(id)
		if err != nil {
			return err
		}
		return n.db.AddInputHistory(n.qctx, key, line)
	})
}

func (n *Node) inputKey(id ConferenceID) (*ConferenceID, error) {
	if id == (ConferenceID{}) {
		return nil, nil
	}
	if _, ok := n.confs[id]; !ok {
		return nil, ErrUnknownConference
	}
	return &id, nil
}

// SearchResult is one message Search found.
type SearchResult struct {
	Conference ConferenceID
	HistoryEntry
}

// Search finds chat messages containing text (ASCII letters match either
// case) in one conference, or in every conference when id is nil; newest
// first, at most limit (<= 0: 50; at most 500).
func (n *Node) Search(ctx context.Context, id *ConferenceID, text string, limit int) ([]SearchResult, error) {
	if text == "" {
		return nil, ErrEmptySearch
	}
	if len(text) > MaxSearchText {
		return nil, ErrSearchTooLong
	}
	if limit <= 0 {
		limit = defaultSearch
	}
	limit = min(limit, maxSearch)
	var out []SearchResult
	err := n.do(ctx, func(time.Time) error {
		if id != nil {
			if _, ok := n.confs[*id]; !ok {
				return ErrUnknownConference
			}
		}
		ms, err := n.db.SearchMessages(n.qctx, id, text, limit)
		if err != nil {
			return err
		}
		for _, m := range ms {
			c, ok := n.confs[m.Conference]
			if !ok {
				continue // an invite or a conference being deleted
			}
			mtext, action, ok := conference.MessageText(m.Kind, m.Body)
			if !ok {
				continue
			}
			out = append(out, SearchResult{Conference: m.Conference, HistoryEntry: n.historyEntry(c, m, mtext, action)})
		}
		return nil
	})
	return out, err
}

// historyEntry builds what History and Search return for a stored message.
func (n *Node) historyEntry(c *conf, m storage.Message, text string, action bool) HistoryEntry {
	self := m.Origin == n.key.Public()
	return HistoryEntry{
		Message: Message{Seq: m.Seq, From: m.Origin, Name: c.name(m.Origin), Text: text, Action: action,
			Number: m.Number, Time: m.ReceivedAt, Self: self},
		Pending: self && m.Number > c.delivered,
	}
}

// SetNospam changes the nospam of our ID (nil: a random one) and returns
// the new ID. Friend requests that carry the old nospam are ignored from
// now on; friends are not affected.
func (n *Node) SetNospam(ctx context.Context, nospam *uint32) (identity.ID, error) {
	var v uint32
	if nospam != nil {
		v = *nospam
	} else {
		var b [4]byte
		if _, err := crand.Read(b[:]); err != nil {
			return identity.ID{}, fmt.Errorf("make nospam: %w", err)
		}
		v = binary.BigEndian.Uint32(b[:])
	}
	var id identity.ID
	err := n.do(ctx, func(time.Time) error {
		if err := n.db.SetNospam(n.qctx, v); err != nil {
			return err
		}
		n.id.Nospam = v
		id = n.id
		n.helloFriends()
		n.dhtSetID()
		return nil
	})
	return id, err
}
