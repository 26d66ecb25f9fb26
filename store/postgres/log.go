package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/store"
)

// Snapshot returns the latest snapshot of the document; a document in the
// trash is not opened (oplog.ErrNotFound).
func (db *DB) Snapshot(ctx context.Context, doc string) (int, string, error) {
	var rev int
	var text string
	err := readTx(ctx, db.pool, func(tx pgx.Tx) error {
		var cur int
		err := tx.QueryRow(ctx, `SELECT rev FROM documents WHERE id = $1 AND deleted IS NULL`, doc).Scan(&cur)
		if errors.Is(err, pgx.ErrNoRows) {
			return oplog.ErrNotFound
		}
		if err != nil {
			return err
		}
		rev, text, err = snapshotAt(ctx, tx, doc, cur)
		return err
	})
	if err != nil {
		return 0, "", fmt.Errorf("store: snapshot of doc %s: %w", doc, err)
	}
	return rev, text, nil
}

// SaveSnapshot records the text at revision rev, replacing any snapshot
// already there. rev must not be above the document's current revision.
func (db *DB) SaveSnapshot(ctx context.Context, doc string, rev int, text string) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		// FOR SHARE: the revision cannot move back, nor the document go,
		// before the snapshot is in.
		var cur int
		err := tx.QueryRow(ctx, `SELECT rev FROM documents WHERE id = $1 FOR SHARE`, doc).Scan(&cur)
		if errors.Is(err, pgx.ErrNoRows) {
			return oplog.ErrNotFound
		}
		if err != nil {
			return err
		}
		if rev < 0 || rev > cur {
			return fmt.Errorf("outside the log (current rev %d)", cur)
		}
		_, err = tx.Exec(ctx, `INSERT INTO snapshots (doc, rev, text) VALUES ($1, $2, $3)
			ON CONFLICT (doc, rev) DO UPDATE SET text = excluded.text`, doc, rev, []byte(text))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: save snapshot of doc %s at rev %d: %w", doc, rev, err)
	}
	return nil
}

// Append adds entries in one transaction. Entries must be consecutive and
// start at the current revision + 1, else the error wraps
// oplog.ErrConflict and nothing is written; so does a (client, seq)
// already in the log, and a revision another writer took first. Each op
// must span the text it follows (ot.ErrBaseLength otherwise). A zero
// Entry.Time is stored as the current time. A document missing or in the
// trash wraps oplog.ErrNotFound. When Append returns nil, the transaction
// has committed.
func (db *DB) Append(ctx context.Context, doc string, entries []oplog.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	first := entries[0].Rev
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: append doc %s rev %d: %w", doc, first, err)
	}
	ops := make([]string, len(entries))
	for i, e := range entries {
		b, err := json.Marshal(e.Op)
		if err != nil {
			return fmt.Errorf("store: append doc %s rev %d: encode op: %w", doc, e.Rev, err)
		}
		ops[i] = string(b)
	}
	err := db.appendTx(ctx, doc, entries, ops)
	db.health.note(err)
	return err
}

func (db *DB) appendTx(ctx context.Context, doc string, entries []oplog.Entry, ops []string) error {
	first := entries[0].Rev
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("store: append doc %s rev %d: begin: %w", doc, first, dbFailure{err})
	}
	defer tx.Rollback(ctx)
	// The row lock queues Appends to this document behind each other,
	// whichever process makes them: the revision read here stays current
	// until COMMIT.
	var cur, size int
	err = tx.QueryRow(ctx, `SELECT rev, size FROM documents WHERE id = $1 AND deleted IS NULL FOR UPDATE`, doc).Scan(&cur, &size)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("store: append doc %s rev %d: %w", doc, first, oplog.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: append doc %s rev %d: %w", doc, first, dbFailure{err})
	}
	sizes, err := store.CheckAppend(doc, entries, cur, size)
	if err != nil {
		return err
	}
	size = sizes[len(sizes)-1]
	now := db.now()
	// One round trip for the whole group: the inserts, the document's new
	// revision and the clients' seqs.
	var b pgx.Batch
	for i, e := range entries {
		t := e.Time
		if t.IsZero() {
			t = now
		}
		b.Queue(`INSERT INTO ops (doc, rev, op, client, seq, time, len_after, author, insert_authors)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			doc, e.Rev, ops[i], e.Client, e.Seq, t.UnixNano(), sizes[i], e.Author, insertAuthors(e.Inserts))
	}
	last := entries[len(entries)-1].Rev
	b.Queue(`UPDATE documents SET rev = $1, size = $2, updated = $3 WHERE id = $4`, last, size, now.UnixNano(), doc)
	for client, seq := range store.HighestSeqs(entries) {
		b.Queue(upsertSeq, doc, client, seq)
	}
	br := tx.SendBatch(ctx, &b)
	for i := range b.Len() {
		if _, err := br.Exec(); err != nil {
			br.Close()
			switch {
			case i < len(entries) && isConstraint(err):
				e := entries[i]
				return fmt.Errorf("store: append doc %s rev %d (client %s seq %d): %v: %w",
					doc, e.Rev, e.Client, e.Seq, err, oplog.ErrConflict)
			case i < len(entries):
				return fmt.Errorf("store: append doc %s rev %d: %w", doc, entries[i].Rev, dbFailure{err})
			case i == len(entries):
				return fmt.Errorf("store: append doc %s rev %d: update document: %w", doc, first, dbFailure{err})
			default:
				return fmt.Errorf("store: append doc %s rev %d: client seqs: %w", doc, first, dbFailure{err})
			}
		}
	}
	if err := br.Close(); err != nil {
		return fmt.Errorf("store: append doc %s rev %d: %w", doc, first, dbFailure{err})
	}
	if err := tx.Commit(ctx); err != nil {
		// A deferred constraint or a serialization failure would surface
		// here; none of ours is deferred, so this is the database failing.
		return fmt.Errorf("store: append doc %s rev %d: commit: %w", doc, first, dbFailure{err})
	}
	return nil
}

// upsertSeq records a client's highest seq in a document.
const upsertSeq = `INSERT INTO client_seqs (doc, client, seq) VALUES ($1, $2, $3)
	ON CONFLICT (doc, client) DO UPDATE SET seq = greatest(client_seqs.seq, excluded.seq)`

// insertAuthors is store.EncodeInsertAuthors as a column value (nil: NULL).
func insertAuthors(spans []oplog.Span) *string {
	if col, ok := store.EncodeInsertAuthors(spans); ok {
		return &col
	}
	return nil
}

// decodeInsertAuthors reads the insert_authors column.
func decodeInsertAuthors(v *string) ([]oplog.Span, error) {
	if v == nil {
		return nil, nil
	}
	return store.DecodeInsertAuthors(*v)
}

// Entries returns the log entries with from <= Rev <= to, in order: one
// page without a byte bound.
func (db *DB) Entries(ctx context.Context, doc string, from, to int) ([]oplog.Entry, error) {
	return db.EntriesPage(ctx, doc, from, to, math.MaxInt)
}

// EntriesPage is RawPage with the ops decoded. As the SQLite store's, its
// entries carry Rev, Op, Client, Seq and Time (not Author, Inserts).
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

// pageRows is how many rows RawPage asks for at a time: a page bounded in
// bytes may stop anywhere, and pgx reads a result to its end even when the
// caller stops early.
const pageRows = 512

// RawPage returns the log entries with from <= Rev <= to, in order, as a
// page bounded in bytes: it stops before the entry that would take the
// page's ops over maxBytes of JSON, but always holds the first entry. from
// below 1 counts as 1. An empty range of an existing document gives no
// entries; a missing document wraps oplog.ErrNotFound.
func (db *DB) RawPage(ctx context.Context, doc string, from, to, maxBytes int) ([]store.RawEntry, error) {
	from = max(from, 1)
	es, err := db.rawPage(ctx, doc, from, to, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("store: entries of doc %s from %d to %d: %w", doc, from, to, err)
	}
	if len(es) == 0 {
		// Tell an empty range of a document from a missing document.
		if _, err := docRev(ctx, db.pool, doc); err != nil {
			return nil, fmt.Errorf("store: entries of doc %s from %d to %d: %w", doc, from, to, err)
		}
	}
	return es, nil
}

func (db *DB) rawPage(ctx context.Context, doc string, from, to, maxBytes int) ([]store.RawEntry, error) {
	var es []store.RawEntry
	size := 0
	for next := from; next <= to; {
		rows, err := db.pool.Query(ctx, `SELECT rev, op, client, seq, time, author, insert_authors FROM ops
			WHERE doc = $1 AND rev BETWEEN $2 AND $3 ORDER BY rev LIMIT $4`, doc, next, to, pageRows)
		if err != nil {
			return nil, err
		}
		n, full := 0, false
		for rows.Next() {
			n++
			var e store.RawEntry
			var op []byte
			var t int64
			var ins *string
			if err := rows.Scan(&e.Rev, &op, &e.Client, &e.Seq, &t, &e.Author, &ins); err != nil {
				rows.Close()
				return nil, err
			}
			if e.Inserts, err = decodeInsertAuthors(ins); err != nil {
				rows.Close()
				return nil, fmt.Errorf("decode the authors of rev %d: %w", e.Rev, err)
			}
			if len(es) > 0 && size+len(op) > maxBytes {
				full = true
				break
			}
			size += len(op)
			e.Op, e.Time = op, fromNanos(t)
			es = append(es, e)
			next = e.Rev + 1
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if full || n < pageRows {
			break
		}
	}
	return es, nil
}

// readEntries returns the decoded entries from..to, with their authors.
func readEntries(ctx context.Context, q querier, doc string, from, to int) ([]oplog.Entry, error) {
	from = max(from, 1)
	if to < from {
		return nil, nil
	}
	rows, err := q.Query(ctx, `SELECT rev, op, client, seq, time, author, insert_authors FROM ops
		WHERE doc = $1 AND rev BETWEEN $2 AND $3 ORDER BY rev`, doc, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var es []oplog.Entry
	for rows.Next() {
		var e oplog.Entry
		var op []byte
		var t int64
		var ins *string
		if err := rows.Scan(&e.Rev, &op, &e.Client, &e.Seq, &t, &e.Author, &ins); err != nil {
			return nil, err
		}
		if e.Inserts, err = decodeInsertAuthors(ins); err != nil {
			return nil, fmt.Errorf("decode the authors of rev %d: %w", e.Rev, err)
		}
		if err := json.Unmarshal(op, &e.Op); err != nil {
			return nil, fmt.Errorf("decode op at rev %d: %w", e.Rev, err)
		}
		e.Time = fromNanos(t)
		es = append(es, e)
	}
	return es, rows.Err()
}

// Seqs returns the highest seq applied per client of the document; an
// error wrapping oplog.ErrNotFound if the document does not exist.
func (db *DB) Seqs(ctx context.Context, doc string) (map[string]int, error) {
	rows, err := db.pool.Query(ctx, `SELECT client, seq FROM client_seqs WHERE doc = $1`, doc)
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
		if _, err := docRev(ctx, db.pool, doc); err != nil {
			return nil, fmt.Errorf("store: seqs of doc %s: %w", doc, err)
		}
	}
	return seqs, nil
}

// PruneSnapshots keeps the oldest of the document's snapshots with from
// <= rev < to and deletes the others in that range. The snapshot at
// revision 0 is never deleted.
func (db *DB) PruneSnapshots(ctx context.Context, doc string, from, to int) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM snapshots WHERE doc = $1 AND rev > 0 AND rev < $2
		AND rev > (SELECT min(rev) FROM snapshots WHERE doc = $1 AND rev >= $3)`,
		doc, to, from); err != nil {
		return fmt.Errorf("store: prune snapshots of doc %s from %d to %d: %w", doc, from, to, err)
	}
	return nil
}
