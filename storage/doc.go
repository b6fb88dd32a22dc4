// Package storage owns a profile's SQLite database: its schema, its
// migrations and every query the node needs.
//
// A profile is a directory holding confchat.db (modernc.org/sqlite, no cgo)
// and confchat.lock. Open takes an exclusive lock on the profile, so a
// second process gets ErrProfileLocked instead of a shared database, then
// applies the embedded, numbered migrations in migrations/ in one
// transaction (PRAGMA user_version is the schema version). A database
// written by a newer confchat is refused with ErrSchemaTooNew before
// anything in it is changed.
//
// The database runs in WAL mode with foreign keys on, a busy timeout and
// synchronous=NORMAL: a committed transaction survives the process being
// killed at any moment (only a power loss can roll back the last commits).
// Update runs on one write connection held for the life of the database,
// with its statements prepared there once; checkpoints run on a goroutine
// of their own (checkpoint.go), not inside the commit that crosses the
// autocheckpoint threshold, which changes when the log is copied into the
// database, not what a commit guarantees.
//
// SQL stays inside this package: callers use the typed methods of DB and
// Tx. storage knows nothing of sockets, sessions or conference rules; it
// stores what the node hands it and reads it back.
package storage
