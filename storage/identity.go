package storage

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"confchat/identity"
)

// Identity is the profile's key seed and current nospam.
type Identity struct {
	Seed      []byte
	Nospam    uint32
	CreatedAt time.Time
}

// Identity returns the stored identity, or ErrNotFound on a new profile.
func (q queries) Identity(ctx context.Context) (Identity, error) {
	var id Identity
	var created int64
	err := q.queryRow(ctx,
		"SELECT seed, nospam, created_at FROM identity WHERE id = 1").
		Scan(&id.Seed, &id.Nospam, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return id, ErrNotFound
	}
	if err != nil {
		return id, fmt.Errorf("read identity: %w", err)
	}
	id.CreatedAt = fromMillis(created)
	return id, nil
}

// CreateIdentity stores the identity of a new profile. It fails if one is
// already stored: a profile's key never changes.
func (q queries) CreateIdentity(ctx context.Context, id Identity) error {
	_, err := q.exec(ctx,
		"INSERT INTO identity (id, seed, nospam, created_at) VALUES (1, ?, ?, ?)",
		id.Seed, id.Nospam, millis(id.CreatedAt))
	if err != nil {
		return fmt.Errorf("create identity: %w", err)
	}
	return nil
}

// SetNospam changes the nospam; requests carrying the old one are ignored
// from then on.
func (q queries) SetNospam(ctx context.Context, nospam uint32) error {
	res, err := q.exec(ctx, "UPDATE identity SET nospam = ? WHERE id = 1", nospam)
	if err != nil {
		return fmt.Errorf("set nospam: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("set nospam: %w", ErrNotFound)
	}
	return nil
}

// Setting returns a stored setting; ok is false when it is unset.
func (q queries) Setting(ctx context.Context, key string) (value string, ok bool, err error) {
	err = q.queryRow(ctx, "SELECT value FROM settings WHERE key = ?", key).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read setting %s: %w", key, err)
	}
	return value, true, nil
}

// SetSetting stores a setting, replacing any earlier value.
func (q queries) SetSetting(ctx context.Context, key, value string) error {
	_, err := q.exec(ctx,
		"INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
		key, value)
	if err != nil {
		return fmt.Errorf("set setting %s: %w", key, err)
	}
	return nil
}

// LoadIdentity returns the profile's key pair and ID, making and storing a
// new key pair and a random nospam on a profile's first start.
func (db *DB) LoadIdentity(ctx context.Context, rand io.Reader) (*identity.KeyPair, identity.ID, error) {
	var kp *identity.KeyPair
	var nospam uint32
	err := db.Update(ctx, func(tx *Tx) error {
		stored, err := tx.Identity(ctx)
		if errors.Is(err, ErrNotFound) {
			if kp, err = identity.Generate(rand); err != nil {
				return err
			}
			var b [4]byte
			if _, err := io.ReadFull(rand, b[:]); err != nil {
				return fmt.Errorf("make nospam: %w", err)
			}
			nospam = binary.BigEndian.Uint32(b[:])
			return tx.CreateIdentity(ctx, Identity{Seed: kp.Seed(), Nospam: nospam, CreatedAt: time.Now()})
		}
		if err != nil {
			return err
		}
		if kp, err = identity.FromSeed(stored.Seed); err != nil {
			return fmt.Errorf("stored identity: %w", err)
		}
		nospam = stored.Nospam
		return nil
	})
	if err != nil {
		return nil, identity.ID{}, err
	}
	return kp, identity.ID{Key: kp.Public(), Nospam: nospam}, nil
}
