package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/ot"
)

// Author is a person who wrote in a document: a stable id chosen by their
// browser, and the name and colour they last joined with.
type Author struct {
	ID, Name, Color string
}

// SaveAuthor records the name and colour an author joined the document
// with.
func (db *DB) SaveAuthor(ctx context.Context, doc string, a Author) error {
	_, err := db.writer.ExecContext(ctx, `INSERT INTO authors (doc, id, name, color, updated) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (doc, id) DO UPDATE SET name = excluded.name, color = excluded.color, updated = excluded.updated`,
		doc, a.ID, a.Name, a.Color, db.now().UnixNano())
	if err != nil {
		return fmt.Errorf("store: save author of doc %s: %w", doc, err)
	}
	return nil
}

// Authors returns the document's authors, by id.
func (db *DB) Authors(ctx context.Context, doc string) ([]Author, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT id, name, color FROM authors WHERE doc = ? ORDER BY id`, doc)
	if err != nil {
		return nil, fmt.Errorf("store: authors of doc %s: %w", doc, err)
	}
	defer rows.Close()
	out := []Author{}
	for rows.Next() {
		var a Author
		if err := rows.Scan(&a.ID, &a.Name, &a.Color); err != nil {
			return nil, fmt.Errorf("store: authors of doc %s: %w", doc, err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Version is a named revision.
type Version struct {
	Rev    int
	Name   string
	Author string
	Time   time.Time
}

// Versions returns the document's named versions, newest revision first.
func (db *DB) Versions(ctx context.Context, doc string) ([]Version, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT rev, name, author, time FROM versions WHERE doc = ? ORDER BY rev DESC`, doc)
	if err != nil {
		return nil, fmt.Errorf("store: versions of doc %s: %w", doc, err)
	}
	defer rows.Close()
	out := []Version{}
	for rows.Next() {
		var v Version
		var t int64
		if err := rows.Scan(&v.Rev, &v.Name, &v.Author, &t); err != nil {
			return nil, fmt.Errorf("store: versions of doc %s: %w", doc, err)
		}
		v.Time = fromNanos(t)
		out = append(out, v)
	}
	return out, rows.Err()
}

// NameVersion gives revision v.Rev of the document a name (replacing any
// it had). The revision must exist.
func (db *DB) NameVersion(ctx context.Context, doc string, v Version) (Version, error) {
	v.Time = db.now().UTC()
	res, err := db.writer.ExecContext(ctx, `INSERT INTO versions (doc, rev, name, author, time)
		SELECT id, ?, ?, ?, ? FROM documents WHERE id = ? AND ? <= rev
		ON CONFLICT (doc, rev) DO UPDATE SET name = excluded.name, author = excluded.author, time = excluded.time`,
		v.Rev, v.Name, v.Author, v.Time.UnixNano(), doc, v.Rev)
	if err != nil {
		return Version{}, fmt.Errorf("store: name version %d of doc %s: %w", v.Rev, doc, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Version{}, fmt.Errorf("store: name version %d of doc %s: %w", v.Rev, doc, oplog.ErrNotFound)
	}
	return v, nil
}

// UnnameVersion removes a revision's name.
func (db *DB) UnnameVersion(ctx context.Context, doc string, rev int) error {
	res, err := db.writer.ExecContext(ctx, `DELETE FROM versions WHERE doc = ? AND rev = ?`, doc, rev)
	if err != nil {
		return fmt.Errorf("store: unname version %d of doc %s: %w", rev, doc, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: unname version %d of doc %s: %w", rev, doc, oplog.ErrNotFound)
	}
	return nil
}

// TrashDoc moves the document to the trash until purge.
func (db *DB) TrashDoc(ctx context.Context, id string, purge time.Time) (Doc, error) {
	d, err := scanDoc(db.writer.QueryRowContext(ctx,
		`UPDATE documents SET deleted = ?, purge = ? WHERE id = ? AND deleted IS NULL RETURNING `+docColumns,
		db.now().UnixNano(), purge.UnixNano(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Doc{}, fmt.Errorf("store: trash doc %s: %w", id, oplog.ErrNotFound)
	}
	if err != nil {
		return Doc{}, fmt.Errorf("store: trash doc %s: %w", id, err)
	}
	return d, nil
}

// UndeleteDoc takes the document out of the trash.
func (db *DB) UndeleteDoc(ctx context.Context, id string) (Doc, error) {
	d, err := scanDoc(db.writer.QueryRowContext(ctx,
		`UPDATE documents SET deleted = NULL, purge = NULL WHERE id = ? AND deleted IS NOT NULL RETURNING `+docColumns, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Doc{}, fmt.Errorf("store: undelete doc %s: %w", id, oplog.ErrNotFound)
	}
	if err != nil {
		return Doc{}, fmt.Errorf("store: undelete doc %s: %w", id, err)
	}
	return d, nil
}

// Trash returns the documents in the trash, soonest purge first.
func (db *DB) Trash(ctx context.Context) ([]Doc, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT `+docColumns+` FROM documents WHERE deleted IS NOT NULL ORDER BY purge, id`)
	if err != nil {
		return nil, fmt.Errorf("store: trash: %w", err)
	}
	defer rows.Close()
	out := []Doc{}
	for rows.Next() {
		d, err := scanDoc(rows)
		if err != nil {
			return nil, fmt.Errorf("store: trash: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// PurgeExpired deletes for good the documents whose purge time is at or
// before now, and returns how many.
func (db *DB) PurgeExpired(ctx context.Context, now time.Time) (int, error) {
	res, err := db.writer.ExecContext(ctx, `DELETE FROM documents WHERE purge IS NOT NULL AND purge <= ?`, now.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("store: purge the trash: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// ImportDoc creates a document from a whole history in one transaction:
// the entries (revisions 1, 2, … in order, each applying to the text
// before it), the authors and the named versions. The new document has
// its own id and tokens, a snapshot at revision 0 and one at its last
// revision, so that opening it reads no log.
func (db *DB) ImportDoc(ctx context.Context, title string, entries []oplog.Entry, authors []Author, versions []Version) (Doc, error) {
	doc := ot.NewDoc("")
	size := 0
	ops := make([]string, len(entries))
	lens := make([]int, len(entries))
	seen := map[[2]any]bool{}
	for i, e := range entries {
		if e.Rev != i+1 {
			return Doc{}, fmt.Errorf("store: import: entry %d has revision %d, want %d", i, e.Rev, i+1)
		}
		if k := [2]any{e.Client, e.Seq}; seen[k] {
			return Doc{}, fmt.Errorf("store: import: revision %d repeats client %q seq %d", e.Rev, e.Client, e.Seq)
		} else {
			seen[k] = true
		}
		if err := doc.Apply(e.Op); err != nil {
			return Doc{}, fmt.Errorf("store: import: revision %d does not apply: %w", e.Rev, err)
		}
		b, err := json.Marshal(e.Op)
		if err != nil {
			return Doc{}, fmt.Errorf("store: import: revision %d: %w", e.Rev, err)
		}
		ops[i], size = string(b), doc.Len()
		lens[i] = size
	}
	for _, v := range versions {
		if v.Rev < 0 || v.Rev > len(entries) {
			return Doc{}, fmt.Errorf("store: import: version %q names revision %d of %d", v.Name, v.Rev, len(entries))
		}
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Doc{}, fmt.Errorf("store: import: new id: %w", err)
	}
	now := db.now().UnixNano()
	d := Doc{ID: id.String(), Title: title, Rev: len(entries), Size: size, Created: fromNanos(now), Updated: fromNanos(now),
		EditToken: NewToken(), ViewToken: NewToken()}
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return Doc{}, fmt.Errorf("store: import: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO documents (id, title, created, updated, rev, size, edit_token, view_token) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, title, now, now, d.Rev, d.Size, d.EditToken, d.ViewToken); err != nil {
		return Doc{}, fmt.Errorf("store: import: %w", err)
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO ops (doc, rev, op, client, seq, time, len_after, author, insert_authors) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return Doc{}, fmt.Errorf("store: import: %w", err)
	}
	defer ins.Close()
	for i, e := range entries {
		t := e.Time
		if t.IsZero() {
			t = fromNanos(now)
		}
		if _, err := ins.ExecContext(ctx, d.ID, e.Rev, ops[i], e.Client, e.Seq, t.UnixNano(), lens[i], e.Author, insertAuthors(e.Inserts)); err != nil {
			return Doc{}, fmt.Errorf("store: import: revision %d: %w", e.Rev, err)
		}
	}
	for client, seq := range HighestSeqs(entries) {
		if _, err := tx.ExecContext(ctx, upsertSeq, d.ID, client, seq); err != nil {
			return Doc{}, fmt.Errorf("store: import: client seqs: %w", err)
		}
	}
	for _, rev := range []int{0, d.Rev} {
		text := ""
		if rev > 0 {
			text = doc.String()
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO snapshots (doc, rev, text) VALUES (?, ?, ?)`, d.ID, rev, text); err != nil {
			return Doc{}, fmt.Errorf("store: import: snapshot: %w", err)
		}
	}
	for _, a := range authors {
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO authors (doc, id, name, color, updated) VALUES (?, ?, ?, ?, ?)`,
			d.ID, a.ID, a.Name, a.Color, now); err != nil {
			return Doc{}, fmt.Errorf("store: import: author: %w", err)
		}
	}
	for _, v := range versions {
		t := v.Time
		if t.IsZero() {
			t = fromNanos(now)
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO versions (doc, rev, name, author, time) VALUES (?, ?, ?, ?, ?)`,
			d.ID, v.Rev, v.Name, v.Author, t.UnixNano()); err != nil {
			return Doc{}, fmt.Errorf("store: import: version: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return Doc{}, fmt.Errorf("store: import: commit: %w", err)
	}
	return d, nil
}

// Authorship returns who wrote each part of the text at revision rev, as
// spans in order (lengths in UTF-16 units), by replaying the log from the
// start with oplog.Attribute. Ops from before authors were recorded count
// as author "".
func (db *DB) Authorship(ctx context.Context, doc string, rev int) ([]oplog.Span, error) {
	cur, err := docRev(ctx, db.reader, doc)
	if err != nil {
		return nil, fmt.Errorf("store: authorship of doc %s: %w", doc, err)
	}
	if rev < 0 || rev > cur {
		return nil, fmt.Errorf("store: authorship of doc %s at rev %d (current %d): %w", doc, rev, cur, oplog.ErrNotFound)
	}
	var spans []oplog.Span
	const page = 10000
	for from := 1; from <= rev; from += page {
		es, err := readEntries(ctx, db.reader, doc, from, min(rev, from+page-1))
		if err != nil {
			return nil, fmt.Errorf("store: authorship of doc %s: %w", doc, err)
		}
		for _, e := range es {
			spans = oplog.Attribute(spans, e.Op, e.Author, e.Inserts)
		}
	}
	if spans == nil {
		spans = []oplog.Span{}
	}
	return spans, nil
}
