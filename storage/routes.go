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
	Key       identity.PublicKey
	Route     string // "", "direct" or "relay"
	Switch    string // "" when no switch runs, else the switch state
	Address   string // the address the session runs over
	UpdatedAt time.Time
}

// PutRoute inserts or replaces the route of a peer.
func (q queries) PutRoute(ctx context.Context, r Route) error {
	_, err := q.exec(ctx, `
		INSERT INTO routes (public_key, route, switch_state, address, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (public_key) DO UPDATE SET
			route = excluded.route, switch_state = excluded.switch_state,
			address = excluded.address, updated_at = excluded.updated_at`,
		r.Key[:], r.Route, r.Switch, r.Address, millis(r.UpdatedAt))
	if err != nil {
		return fmt.Errorf("put route %s: %w", r.Key.Short(), err)
	}
	return nil
}

// Routes returns every stored route.
func (q queries) Routes(ctx context.Context) ([]Route, error) {
	scan := func(s rowScanner) (Route, error) {
		var r Route
		var key []byte
		var at int64
		if err := s.Scan(&key, &r.Route, &r.Switch, &r.Address, &at); err != nil {
			return r, err
		}
		var err error
		r.Key, err = scanKey(key, "route key")
		r.UpdatedAt = fromMillis(at)
		return r, err
	}
	return queryAll(ctx, q, "list routes", scan,
		"SELECT public_key, route, switch_state, address, updated_at FROM routes ORDER BY public_key")
}
