package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Health: can the database commit?
//
// As in the SQLite store, a ping is not enough: Health commits a real
// write, and remembers the last Append that failed for a reason of the
// database's (not a refusal: a conflict, a missing document, a bad op),
// until a probe commits again or a later Append does. There is no room
// check: PostgreSQL's free space is the server's and its WAL's, which a
// scratch row written by a client does not measure.

// healthTimeout bounds one probe.
const healthTimeout = 2 * time.Second

// dbFailure marks an Append error that is the database's failure, not a
// refusal of the request. It adds nothing to the message.
type dbFailure struct{ err error }

func (f dbFailure) Error() string { return f.err.Error() }
func (f dbFailure) Unwrap() error { return f.err }

// appendHealth is the last failed Append. Its methods are safe for
// concurrent use.
type appendHealth struct {
	mu  sync.Mutex
	err error // nil unless the last Append with a database failure is unanswered
	seq int   // counts recorded failures, so a probe clears only the one it tested
}

// note records how an Append ended.
func (h *appendHealth) note(err error) {
	var f dbFailure
	failed := errors.As(err, &f) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case failed:
		h.err = err
		h.seq++
	case err == nil:
		h.err = nil
	}
}

func (h *appendHealth) last() (error, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err, h.seq
}

// clear forgets failure seq, unless a newer one came since.
func (h *appendHealth) clear(seq int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seq == seq {
		h.err = nil
	}
}

// Health reports whether the database can commit, within a short bound
// (2 s, or ctx's deadline if sooner): it commits an update of the health
// row. If the last Append failed for a reason of the database's, the error
// says so; a successful probe ends that failure.
func (db *DB) Health(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	failed, seq := db.health.last()
	_, err := db.pool.Exec(ctx, `UPDATE health SET probes = probes + 1, checked = $1 WHERE id = 1`, db.now().UnixNano())
	if err != nil {
		if failed != nil {
			return fmt.Errorf("store: health: the last commit failed (%v), and so does a write probe: %w", failed, err)
		}
		return fmt.Errorf("store: health: write probe: %w", err)
	}
	if failed != nil {
		db.health.clear(seq)
	}
	return nil
}
