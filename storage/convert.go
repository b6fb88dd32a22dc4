package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"confchat/identity"
)

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

func encodeAddrs(a []string) string {
	if len(a) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(a) // a []string always marshals
	return string(b)
}

func decodeAddrs(s string) ([]string, error) {
	var a []string
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		return nil, fmt.Errorf("bad address list %q: %w", s, err)
	}
	return a, nil
}

func scanKey(b []byte, what string) (identity.PublicKey, error) {
	var k identity.PublicKey
	if len(b) != len(k) {
		return k, fmt.Errorf("bad %s: %d bytes", what, len(b))
	}
	copy(k[:], b)
	return k, nil
}

func scanConfID(b []byte) (identity.ConferenceID, error) {
	var id identity.ConferenceID
	if len(b) != len(id) {
		return id, fmt.Errorf("bad conference id: %d bytes", len(b))
	}
	copy(id[:], b)
	return id, nil
}

// scanKeyAddrs decodes the key and address-list columns most rows share.
func scanKeyAddrs(key []byte, addrs, what string) (identity.PublicKey, []string, error) {
	k, err := scanKey(key, what)
	if err != nil {
		return k, nil, err
	}
	a, err := decodeAddrs(addrs)
	return k, a, err
}

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// queryAll runs a query and scans every row with scan. what names the
// query in errors.
func queryAll[T any](ctx context.Context, q queries, what string, scan func(rowScanner) (T, error),
	query string, args ...any) ([]T, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}
