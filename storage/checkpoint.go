package storage

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
)

// Checkpoints. SQLite's automatic checkpoint runs inside the COMMIT that
// grows the log past wal_autocheckpoint pages (1000), on the committing
// connection: that commit copies the log into the database file and waits
// for two fsyncs, and the node's loop waits with it (on this project's
// test machine it cost about 60 µs per commit on average, half of a lone
// message's commit). The write connection therefore runs with
// wal_autocheckpoint=0 and a goroutine owned by the DB checkpoints on its
// own connection after every checkpointEvery commits, in PASSIVE mode, so
// it never blocks the writer (WAL lets one writer append while a
// checkpoint copies older frames). If it falls behind (a reader holds an
// old snapshot, the disk is slow), the writer checkpoints itself after
// checkpointForce commits, so the log stays bounded. Pool connections keep
// the automatic checkpoint as a last resort.
//
// Durability is unchanged: a transaction is durable against a process
// kill once COMMIT returns (it is in the log), and synchronous=NORMAL
// fsyncs at checkpoints, wherever they run.
const (
	checkpointEvery = 64
	checkpointForce = 1024
)

// checkpointer runs PASSIVE checkpoints on its own connection when kicked.
type checkpointer struct {
	conn   *sql.Conn
	kick   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
	// commits counts committed Updates; at is commits when the last
	// checkpoint started.
	commits atomic.Int64
	at      atomic.Int64
	mu      sync.Mutex // serialises checkpoints (the goroutine's and a forced one)
}

func startCheckpointer(ctx context.Context, db *sql.DB) (*checkpointer, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c := &checkpointer{conn: conn, kick: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	go c.run(ctx) // owner: the DB; stop ends it
	return c, nil
}

func (c *checkpointer) run(ctx context.Context) {
	defer close(c.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
		}
		// A failed checkpoint is retried after the next commits; the
		// log only grows meanwhile, and the writer bounds it.
		_ = c.checkpoint(ctx, c.conn)
	}
}

// committed counts a commit and kicks the goroutine every checkpointEvery
// commits; it reports whether the writer must checkpoint itself.
func (c *checkpointer) committed() (force bool) {
	since := c.commits.Add(1) - c.at.Load()
	if since >= checkpointForce {
		return true
	}
	if since >= checkpointEvery {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
	return false
}

// checkpoint copies the log into the database on conn.
func (c *checkpointer) checkpoint(ctx context.Context, conn *sql.Conn) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	start := c.commits.Load()
	var busy, log, done int
	if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &done); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	c.at.Store(start)
	return nil
}

// stop ends the goroutine and releases its connection.
func (c *checkpointer) stop() error {
	c.cancel()
	<-c.done
	return c.conn.Close()
}
