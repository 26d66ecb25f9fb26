package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tandem-editor/tandem/oplog"
)

// RawEntry is a log entry as stored, its op still in the JSON the log
// keeps (canonical ot.js form): an answer that only passes ops on, such as
// GET /api/docs/{id}/ops, need not decode and encode them again.
type RawEntry struct {
	Rev    int
	Op     json.RawMessage
	Client string
	Seq    int
	Time   time.Time // UTC
	Author string
	// Inserts: who wrote the inserted text, if not Author (oplog.Entry.Inserts).
	Inserts []oplog.Span
}

// RawPage returns the log entries with from <= Rev <= to, in order,
// as a page bounded in bytes: it stops before the entry that would take
// the page's ops over maxBytes of JSON, but always holds the first entry,
// however large. A page may therefore end before to; the caller continues
// from the last Rev + 1. from below 1 counts as 1. An empty range of an
// existing document gives no entries; a missing document wraps
// oplog.ErrNotFound.
func (db *DB) RawPage(ctx context.Context, doc string, from, to, maxBytes int) ([]RawEntry, error) {
	from = max(from, 1)
	es, err := db.entriesPage(ctx, doc, from, to, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("store: entries of doc %s from %d to %d: %w", doc, from, to, err)
	}
	if len(es) == 0 {
		// Tell an empty range of a document from a missing document.
		if _, err := docRev(ctx, db.reader, doc); err != nil {
			return nil, fmt.Errorf("store: entries of doc %s from %d to %d: %w", doc, from, to, err)
		}
	}
	return es, nil
}

func (db *DB) entriesPage(ctx context.Context, doc string, from, to, maxBytes int) ([]RawEntry, error) {
	if to < from {
		return nil, nil
	}
	rows, err := db.reader.QueryContext(ctx, `SELECT rev, op, client, seq, time, author, insert_authors FROM ops
		WHERE doc = ? AND rev BETWEEN ? AND ? ORDER BY rev`, doc, from, to)
	if err != nil {
		return nil, err
	}
	// Closing the rows early ends the query: the rest is never read.
	defer rows.Close()
	var es []RawEntry
	size := 0
	for rows.Next() {
		var e RawEntry
		var op []byte
		var t int64
		var ins sql.NullString
		if err := rows.Scan(&e.Rev, &op, &e.Client, &e.Seq, &t, &e.Author, &ins); err != nil {
			return nil, err
		}
		if e.Inserts, err = decodeInsertAuthors(ins); err != nil {
			return nil, fmt.Errorf("decode the authors of rev %d: %w", e.Rev, err)
		}
		e.Op = op
		if len(es) > 0 && size+len(e.Op) > maxBytes {
			break
		}
		size += len(e.Op)
		e.Time = fromNanos(t)
		es = append(es, e)
	}
	return es, rows.Err()
}
