package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// applicationID marks a SQLite file as a confchat profile ("CCHT").
const applicationID = 0x43434854

// Errors returned by Open.
var (
	ErrSchemaTooNew = errors.New("database was written by a newer confchat")
	ErrNotConfchat  = errors.New("database is not a confchat profile")
	// ErrEmptyDatabase: the database file exists but holds nothing, so
	// the profile's key is lost; opening it would silently make a new
	// identity.
	ErrEmptyDatabase = errors.New("database file is empty")
)

// ErrNotFound is returned by lookups of a single row that does not exist.
var ErrNotFound = errors.New("not found")

// DB is an open profile database. Its methods are safe for concurrent use,
// though the node calls them from its one owner goroutine.
type DB struct {
	queries
	sql  *sql.DB
	w    *writer // the write connection Update runs on
	ckpt *checkpointer
	dir  string
	lock *profileLock
	// warnings are the problems Open found and fixed (loose file modes).
	warnings []string
}

// Warnings returns what Open found wrong with the profile and fixed, for
// the caller to log (e.g. a database other users could read).
func (db *DB) Warnings() []string { return append([]string(nil), db.warnings...) }

// Open locks the profile directory dir (creating it 0700 if needed), opens
// or creates its database and migrates it to the current schema.
func Open(ctx context.Context, dir string) (*DB, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open profile %s: %w", dir, err)
	}
	lock, err := lockProfile(abs)
	if err != nil {
		return nil, err
	}
	db, err := openLocked(ctx, abs)
	if err != nil {
		_ = lock.release()
		return nil, err
	}
	db.lock = lock
	return db, nil
}

func openLocked(ctx context.Context, dir string) (*DB, error) {
	path := filepath.Join(dir, DBFile)
	exists, err := checkNotEmpty(path)
	if err != nil {
		return nil, err
	}
	warnings, err := tightenModes(dir, path)
	if err != nil {
		return nil, err
	}
	if !exists {
		if err := createPrivate(path); err != nil {
			return nil, err
		}
	}
	sdb, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// The write and checkpoint connections are held for the life of the
	// database; the pool keeps the third idle so its prepared statements
	// are reused.
	sdb.SetMaxOpenConns(maxConns)
	sdb.SetMaxIdleConns(maxConns)
	db := &DB{queries: queries{stmts: newStmtCache(sdb)}, sql: sdb, dir: dir, warnings: warnings}
	if err := db.migrate(ctx); err != nil {
		_ = sdb.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if db.w, err = newWriter(ctx, sdb); err != nil {
		_ = sdb.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if db.ckpt, err = startCheckpointer(ctx, sdb); err != nil {
		_ = db.w.close()
		_ = sdb.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// tightenModes fixes loose modes on the profile directory and its
// database files, returning a warning for each fix.
func tightenModes(dir, path string) ([]string, error) {
	var warnings []string
	checks := []struct {
		path, what string
		mode       os.FileMode
	}{
		{dir, "profile directory", dirMode},
		{path, "database", fileMode},
		{path + "-wal", "database log", fileMode},
		{path + "-shm", "database index", fileMode},
	}
	for _, c := range checks {
		w, err := tightenMode(c.path, c.mode, c.what)
		if err != nil {
			return nil, err
		}
		if w != "" {
			warnings = append(warnings, w)
		}
	}
	return warnings, nil
}

// Memory per profile: many nodes may run on one machine (benchmarks run
// 32), so each connection's page cache is kept small; SQLite's default is
// 2 MiB per connection. The connections are the writer's, the
// checkpointer's (see checkpoint.go) and one pool connection for reads
// and writes outside Update.
const (
	maxConns = 3
	cacheKiB = 1024
)

// dsn builds the connection string. Every pooled connection gets foreign
// keys, a short busy timeout (only this process writes: the profile lock
// keeps others out, so waiting long would only stall the node's loop) and synchronous=NORMAL; write transactions begin
// IMMEDIATE so they never fail half way on a lock upgrade. journal_mode is
// set once by migrate, after the schema version has been checked.
func dsn(path string) string {
	q := url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "busy_timeout(1000)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "cache_size(-"+strconv.Itoa(cacheKiB)+")")
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// Dir returns the profile directory.
func (db *DB) Dir() string { return db.dir }

// Path returns the database file's path.
func (db *DB) Path() string { return filepath.Join(db.dir, DBFile) }

// Close closes the database and releases the profile lock.
func (db *DB) Close() error {
	err := errors.Join(db.ckpt.stop(), db.stmts.close(), db.w.close(), db.sql.Close())
	if db.lock != nil {
		if lerr := db.lock.release(); err == nil {
			err = lerr
		}
		db.lock = nil
	}
	return err
}

// Tx is a write transaction; it has every query method of DB.
type Tx struct{ queries }

// Update runs fn in one IMMEDIATE transaction on the write connection,
// committing when fn returns nil and rolling back otherwise. Updates run
// one at a time; the statements inside run to completion once started
// (see stmtCtx), ctx is checked before each.
func (db *DB) Update(ctx context.Context, fn func(*Tx) error) error {
	w := db.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	bg := context.WithoutCancel(ctx)
	if _, err := w.begin.ExecContext(bg); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(&Tx{queries{stmts: db.stmts, w: w}}); err != nil {
		_, _ = w.undo.ExecContext(bg)
		return err
	}
	if _, err := w.end.ExecContext(bg); err != nil {
		// A failed COMMIT may leave the transaction open (SQLITE_BUSY);
		// end it so the connection is clean for the next Update.
		_, _ = w.undo.ExecContext(bg)
		return fmt.Errorf("commit: %w", err)
	}
	if db.ckpt.committed() {
		// The checkpoint goroutine fell far behind: bound the log here.
		// The commit above stands whatever this returns.
		_ = db.ckpt.checkpoint(bg, w.conn)
	}
	return nil
}

// IntegrityCheck runs PRAGMA integrity_check and returns an error unless
// SQLite answers "ok".
func (db *DB) IntegrityCheck(ctx context.Context) error {
	var res string
	if err := db.sql.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if res != "ok" {
		return fmt.Errorf("integrity check: %s", res)
	}
	return nil
}
