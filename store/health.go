package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"modernc.org/sqlite"
)

// Health: can the database commit?
//
// A ping proves only that a connection answers; a database on a full disk,
// a read-only file system or a failing device answers pings and refuses
// every edit. So Health commits a real write, through the same single
// writer connection the Appends use, and remembers how the committer's
// last batch ended: a batch that failed with a database error (the disk is
// full, an I/O error, the file is locked by someone else) keeps the store
// unhealthy until a probe shows that a write as large as that batch
// commits again, or a later batch commits.

const (
	// healthTimeout bounds one probe: waiting for the writer connection
	// (the committer may hold it), then the write and its fsync.
	healthTimeout = 2 * time.Second
	// probeRoom is how many bytes the probe checks the database can grow
	// by when no batch has failed.
	probeRoom = 64 << 10
)

// commitHealth is the committer's last failure. Its methods are safe for
// concurrent use.
type commitHealth struct {
	mu    sync.Mutex
	err   error // nil unless the last batch with a database error is unanswered
	bytes int   // the ops in that batch, in JSON bytes
	seq   int   // counts recorded failures, so a probe clears only the one it tested
}

// note records how a batch ended, before its callers hear of it: a caller
// that got a database error finds it in Health at once.
func (h *commitHealth) note(batch []*appendReq, errs []error) {
	var failed error
	bytes, written := 0, false
	for i, err := range errs {
		var se *sqlite.Error
		switch {
		case err == nil:
			written = true
		case errors.As(err, &se):
			// The database refused the write itself. A refused request
			// (a conflict, a missing document, a bad op) is not a failure
			// of the store: constraint errors are reported as ErrConflict
			// without the driver's error in the chain.
			if failed == nil {
				failed = err
			}
			bytes += batch[i].bytes
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case failed != nil:
		h.err, h.bytes = failed, min(bytes, maxBatchBytes)
		h.seq++
	case written:
		h.err, h.bytes = nil, 0
	}
}

func (h *commitHealth) last() (err error, bytes, seq int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err, h.bytes, h.seq
}

// clear forgets failure seq, unless a newer one came since.
func (h *commitHealth) clear(seq int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seq == seq {
		h.err, h.bytes = nil, 0
	}
}

// Health reports whether the database can commit, within a short bound
// (2 s, or ctx's deadline if sooner). It commits a probe: one row updated
// in a BEGIN IMMEDIATE transaction on the writer connection, and in the
// same transaction a scratch row inserted and deleted, so that the file
// must have room to grow by that much (64 KiB, or as much as the last
// failed batch of Appends). It also reads through the reader pool. If the
// committer's last batch failed with a database error, the error says so;
// a successful probe of that size ends the failure.
//
// Each call costs one small transaction and its fsync; it is meant for a
// health check every few seconds, not for every request.
func (db *DB) Health(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	failed, bytes, seq := db.health.last()
	if err := db.probe(ctx, max(probeRoom, bytes)); err != nil {
		if failed != nil {
			return fmt.Errorf("store: health: the last commit failed (%v), and so does a write probe: %w", failed, err)
		}
		return fmt.Errorf("store: health: write probe: %w", err)
	}
	if failed != nil {
		db.health.clear(seq)
	}
	var probes int
	if err := db.reader.QueryRowContext(ctx, `SELECT probes FROM health WHERE id = 1`).Scan(&probes); err != nil {
		return fmt.Errorf("store: health: read: %w", err)
	}
	return nil
}

// probe commits the health row's update and checks for room bytes of
// growth.
func (db *DB) probe(ctx context.Context, room int) error {
	tx, err := db.writer.BeginTx(ctx, nil) // BEGIN IMMEDIATE (see dsn)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE health SET probes = probes + 1, checked = ? WHERE id = 1`, db.now().UnixNano()); err != nil {
		return fmt.Errorf("update: %w", err)
	}
	// The insert allocates pages (from the free list, else by growing the
	// file, which fails with SQLITE_FULL when there is no room); the
	// delete puts them on the free list, where the next Append finds them.
	if _, err := tx.ExecContext(ctx, `INSERT INTO health_room (pad) VALUES (zeroblob(?))`, room); err != nil {
		return fmt.Errorf("room for %d bytes: %w", room, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM health_room`); err != nil {
		return fmt.Errorf("room for %d bytes: %w", room, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
