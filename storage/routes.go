package storage

import (
	"context"
	"fmt"
	"time"

	"confchat/identity"
)

// Route is the last known path of the session to a peer and the state of
// any switch between paths, kept so the UI can show it after a restart.
type Route struct {
	Key   identity.PublicKey
	Route string // "", "direct" or "relay"
	// Switch is the phase of a switch in progress ("" when none runs);
	// SwitchStarted is when it began (zero when none runs).
	Switch        string
	SwitchStarted time.Time
	// LastSwitch is how the last finished switch ended: "done", or
	// "failed: reason" ("" when there was none).
	LastSwitch string
	Address    string // the address the session runs over
	UpdatedAt  time.Time
}

// PutRoute inserts or replaces the route of a peer. An empty LastSwitch
// keeps the one stored (a new session has not switched yet, and the
// outcome of the last switch stays visible).
func (q queries) PutRoute(ctx context.Context, r Route) error {
	_, err := q.exec(ctx, `
		INSERT INTO routes (public_key, route, switch_state, switch_started_at, last_switch, address, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (public_key) DO UPDATE SET
			route = excluded.route, switch_state = excluded.switch_state,
			switch_started_at = excluded.switch_started_at,
			last_switch = CASE excluded.last_switch WHEN '' THEN routes.last_switch ELSE excluded.last_switch END,
			address = excluded.address, updated_at = excluded.updated_at`,
		r.Key[:], r.Route, r.Switch, millis(r.SwitchStarted), r.LastSwitch, r.Address, millis(r.UpdatedAt))
	if err != nil {
		return fmt.Errorf("put route %s: %w", r.Key.Short(), err)
	}
	return nil
}

// DeleteRoute forgets the route of a peer.
func (q queries) DeleteRoute(ctx context.Context, key identity.PublicKey) error {
	if _, err := q.exec(ctx, "DELETE FROM routes WHERE public_key = ?", key[:]); err != nil {
		return fmt.Errorf("delete route %s: %w", key.Short(), err)
	}
	return nil
}

// AbandonSwitches ends every switch the database still shows in progress
// (the node starts with it: no switch survives a restart). Each becomes
// LastSwitch "failed: " + reason, and the route is cleared, since no
// session runs yet. It returns how many were abandoned.
func (q queries) AbandonSwitches(ctx context.Context, reason string, now time.Time) (int, error) {
	res, err := q.exec(ctx, `
		UPDATE routes SET switch_state = '', switch_started_at = 0, last_switch = ?, route = '', updated_at = ?
		WHERE switch_state <> ''`, "failed: "+reason, millis(now))
	if err != nil {
		return 0, fmt.Errorf("abandon switches: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// Routes returns every stored route.
func (q queries) Routes(ctx context.Context) ([]Route, error) {
	scan := func(s rowScanner) (Route, error) {
		var r Route
		var key []byte
		var at, started int64
		if err := s.Scan(&key, &r.Route, &r.Switch, &started, &r.LastSwitch, &r.Address, &at); err != nil {
			return r, err
		}
		var err error
		r.Key, err = scanKey(key, "route key")
		r.UpdatedAt, r.SwitchStarted = fromMillis(at), fromMillis(started)
		return r, err
	}
	return queryAll(ctx, q, "list routes", scan,
		`SELECT public_key, route, switch_state, switch_started_at, last_switch, address, updated_at
		FROM routes ORDER BY public_key`)
}
