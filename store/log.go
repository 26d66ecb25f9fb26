package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/tandem-editor/tandem/oplog"
)

// Snapshot returns the latest snapshot of the document.
func (db *DB) Snapshot(ctx context.Context, doc string) (int, string, error) {
	tx, err := db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, "", fmt.Errorf("store: snapshot of doc %s: %w", doc, err)
	}
	defer tx.Rollback()
	// A document in the trash is not opened.
	var cur int
	err = tx.QueryRowContext(ctx, `SELECT rev FROM documents WHERE id = ? AND deleted IS NULL`, doc).Scan(&cur)
	if errors.Is(err, sql.ErrNoRows) {
		err = oplog.ErrNotFound
	}
	if err != nil {
		return 0, "", fmt.Errorf("store: snapshot of doc %s: %w", doc, err)
	}
	rev, text, err := snapshotAt(ctx, tx, doc, cur)
	if err != nil {
		return 0, "", fmt.Errorf("store: snapshot of doc %s: %w", doc, err)
	}
	return rev, text, nil
}

// SaveSnapshot records the text at revision rev, replacing any snapshot
// already there. Every snapshot is kept, so TextAt of an old revision
// replays only from the nearest one. rev must not be above the document's
// current revision.
func (db *DB) SaveSnapshot(ctx context.Context, doc string, rev int, text string) error {
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: save snapshot of doc %s at rev %d: %w", doc, rev, err)
	}
	defer tx.Rollback()
	cur, err := docRev(ctx, tx, doc)
	if err != nil {
		return fmt.Errorf("store: save snapshot of doc %s at rev %d: %w", doc, rev, err)
	}
	if rev < 0 || rev > cur {
		return fmt.Errorf("store: save snapshot of doc %s at rev %d: outside the log (current rev %d)", doc, rev, cur)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO snapshots (doc, rev, text) VALUES (?, ?, ?)
		ON CONFLICT (doc, rev) DO UPDATE SET text = excluded.text`, doc, rev, text); err != nil {
		return fmt.Errorf("store: save snapshot of doc %s at rev %d: %w", doc, rev, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: save snapshot of doc %s at rev %d: commit: %w", doc, rev, err)
	}
	return nil
}

// Append adds entries in one transaction. Entries must be consecutive and
// start at the current revision + 1, else the error wraps
// oplog.ErrConflict and nothing is written; so does a (client, seq)
// already in the log. Each op must span the text it follows (its base
// length equals the previous length): the log records every op's resulting
// length, which keeps Doc.Size exact without replaying. A zero Entry.Time
// is stored as the current time.
//
// The transaction is shared with concurrent Appends (see commit.go); when
// Append returns nil, the entries are on disk. If ctx is done before the
// committer takes the request, Append returns ctx's error and writes
// nothing; once taken, the request completes regardless of ctx. After
// Close, Append fails.
func (db *DB) Append(ctx context.Context, doc string, entries []oplog.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	first := entries[0].Rev
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: append doc %s rev %d: %w", doc, first, err)
	}
	r := newAppendReq(ctx, doc, entries)
	if err := db.c.enqueue(r); err != nil {
		return fmt.Errorf("store: append doc %s rev %d: %w", doc, first, err)
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		if db.c.remove(r) {
			return fmt.Errorf("store: append doc %s rev %d: %w", doc, first, ctx.Err())
		}
		// Taken: it completes, and the answer is coming.
		return <-r.done
	}
}

// Entries returns the log entries with from <= Rev <= to, in order: one
// page without a byte bound.
func (db *DB) Entries(ctx context.Context, doc string, from, to int) ([]oplog.Entry, error) {
	return db.EntriesPage(ctx, doc, from, to, math.MaxInt)
}

func readEntries(ctx context.Context, q queryer, doc string, from, to int) ([]oplog.Entry, error) {
	if from < 1 {
		from = 1
	}
	if to < from {
		return nil, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT rev, op, client, seq, time, author, insert_authors FROM ops
		WHERE doc = ? AND rev BETWEEN ? AND ? ORDER BY rev`, doc, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var es []oplog.Entry
	if n := to - from + 1; n <= 1024 {
		es = make([]oplog.Entry, 0, n)
	}
	for rows.Next() {
		var e oplog.Entry
		var opJSON string
		var t int64
		var ins sql.NullString
		if err := rows.Scan(&e.Rev, &opJSON, &e.Client, &e.Seq, &t, &e.Author, &ins); err != nil {
			return nil, err
		}
		if e.Inserts, err = decodeInsertAuthors(ins); err != nil {
			return nil, fmt.Errorf("decode the authors of rev %d: %w", e.Rev, err)
		}
		if err := json.Unmarshal([]byte(opJSON), &e.Op); err != nil {
			return nil, fmt.Errorf("decode op at rev %d: %w", e.Rev, err)
		}
		e.Time = fromNanos(t)
		es = append(es, e)
	}
	return es, rows.Err()
}

// Seqs returns the highest seq applied per client of the document, read in
// one query from the (doc, client, seq) index; an error wrapping
// oplog.ErrNotFound if the document does not exist.
func (db *DB) Seqs(ctx context.Context, doc string) (map[string]int, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT client, seq FROM client_seqs WHERE doc = ?`, doc)
	if err != nil {
		return nil, fmt.Errorf("store: seqs of doc %s: %w", doc, err)
	}
	defer rows.Close()
	seqs := make(map[string]int)
	for rows.Next() {
		var client string
		var seq int
		if err := rows.Scan(&client, &seq); err != nil {
			return nil, fmt.Errorf("store: seqs of doc %s: %w", doc, err)
		}
		seqs[client] = seq
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: seqs of doc %s: %w", doc, err)
	}
	if len(seqs) == 0 {
		if _, err := docRev(ctx, db.reader, doc); err != nil {
			return nil, fmt.Errorf("store: seqs of doc %s: %w", doc, err)
		}
	}
	return seqs, nil
}

// PruneSnapshots keeps the oldest of the document's snapshots with from
// <= rev < to and deletes the others in that range. The snapshot at
// revision 0 is never deleted, so every revision keeps a snapshot at or
// before it to replay from.
func (db *DB) PruneSnapshots(ctx context.Context, doc string, from, to int) error {
	if _, err := db.writer.ExecContext(ctx, `DELETE FROM snapshots WHERE doc = ? AND rev > 0 AND rev < ?
		AND rev > (SELECT min(rev) FROM snapshots WHERE doc = ? AND rev >= ?)`,
		doc, to, doc, from); err != nil {
		return fmt.Errorf("store: prune snapshots of doc %s from %d to %d: %w", doc, from, to, err)
	}
	return nil
}

// EntriesPage is RawPage with the ops decoded: the entries with from <=
// Rev <= to, stopping before the entry that would take the page's op JSON
// over maxBytes (always at least one entry when the range has any). A
// caller wanting the rest continues from the last Rev + 1.
func (db *DB) EntriesPage(ctx context.Context, doc string, from, to, maxBytes int) ([]oplog.Entry, error) {
	raw, err := db.RawPage(ctx, doc, from, to, maxBytes)
	if err != nil {
		return nil, err
	}
	es := make([]oplog.Entry, len(raw))
	for i, r := range raw {
		es[i] = oplog.Entry{Rev: r.Rev, Client: r.Client, Seq: r.Seq, Time: r.Time}
		if err := json.Unmarshal(r.Op, &es[i].Op); err != nil {
			return nil, fmt.Errorf("store: entries of doc %s: decode op at rev %d: %w", doc, r.Rev, err)
		}
	}
	return es, nil
}
