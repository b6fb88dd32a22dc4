package storage

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// stmtCache holds a prepared statement per SQL text for the life of the
// database, so a query is parsed once, not on every call (the node runs
// a few fixed queries per message). The set of texts is fixed by the
// code, so the cache is bounded.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex // guards m
	m  map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: map[string]*sql.Stmt{}}
}

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.m[query] = st
	return st, nil
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for q, st := range c.m {
		errs = append(errs, st.Close())
		delete(c.m, q)
	}
	return errors.Join(errs...)
}

// queries holds the typed query methods shared by DB and Tx. Outside a
// transaction the cached statements run on the pool; inside one (w set)
// they run on the write connection, prepared there once.
type queries struct {
	stmts *stmtCache
	w     *writer
}

func (q queries) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if q.w != nil {
		return q.w.stmt(ctx, query)
	}
	return q.stmts.get(ctx, query)
}

// stmtCtx is the context a statement runs with. Inside a transaction
// the driver gets one that cannot be cancelled: modernc.org/sqlite
// starts a goroutine per statement to interrupt it on a cancellable
// context, which cost more than the statements of a loop turn. A
// transaction's statements are short; SQLite's busy timeout bounds its
// lock waits, and ctx is still checked before each statement.
func (q queries) stmtCtx(ctx context.Context) (context.Context, error) {
	if q.w == nil {
		return ctx, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return context.WithoutCancel(ctx), nil
}

func (q queries) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := q.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if ctx, err = q.stmtCtx(ctx); err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (q queries) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := q.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if ctx, err = q.stmtCtx(ctx); err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// queryRow runs a query for one row; a failure to prepare comes back
// from Scan, as database/sql's own QueryRow does.
func (q queries) queryRow(ctx context.Context, query string, args ...any) rowScanner {
	st, err := q.stmt(ctx, query)
	if err != nil {
		return errRow{err}
	}
	if ctx, err = q.stmtCtx(ctx); err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// notFound turns sql.ErrNoRows into ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// writer is the one connection write transactions run on, held for the
// life of the database with its own prepared statements: a transaction
// then costs no pool round trip, no per-transaction goroutine (as
// database/sql's Tx starts one) and no re-binding of statements to a
// connection. Its mutex makes Updates from several goroutines wait for
// each other here instead of on SQLite's busy timeout.
type writer struct {
	mu    sync.Mutex // held by the running Update; guards m
	conn  *sql.Conn
	m     map[string]*sql.Stmt
	begin *sql.Stmt
	end   *sql.Stmt
	undo  *sql.Stmt
}

func newWriter(ctx context.Context, db *sql.DB) (*writer, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	w := &writer{conn: conn, m: map[string]*sql.Stmt{}}
	// Checkpoints run on their own connection (checkpoint.go), not in
	// this connection's commits.
	if _, err := conn.ExecContext(ctx, "PRAGMA wal_autocheckpoint=0"); err != nil {
		_ = conn.Close()
		return nil, err
	}
	for _, s := range []struct {
		st  **sql.Stmt
		sql string
	}{{&w.begin, "BEGIN IMMEDIATE"}, {&w.end, "COMMIT"}, {&w.undo, "ROLLBACK"}} {
		if *s.st, err = conn.PrepareContext(ctx, s.sql); err != nil {
			_ = w.close()
			return nil, err
		}
	}
	return w, nil
}

// stmt returns query prepared on the write connection; the caller holds
// w.mu. The set of texts is fixed by the code, so the map is bounded.
func (w *writer) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := w.m[query]; ok {
		return st, nil
	}
	st, err := w.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	w.m[query] = st
	return st, nil
}

func (w *writer) close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var errs []error
	for _, st := range append([]*sql.Stmt{w.begin, w.end, w.undo}, mapValues(w.m)...) {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	clear(w.m)
	errs = append(errs, w.conn.Close())
	return errors.Join(errs...)
}

func mapValues(m map[string]*sql.Stmt) []*sql.Stmt {
	out := make([]*sql.Stmt, 0, len(m))
	for _, st := range m {
		out = append(out, st)
	}
	return out
}
