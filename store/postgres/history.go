package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/store"
)

// SaveAuthor records the name and colour an author joined the document
// with.
func (db *DB) SaveAuthor(ctx context.Context, doc string, a store.Author) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO authors (doc, id, name, color, updated) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (doc, id) DO UPDATE SET name = excluded.name, color = excluded.color, updated = excluded.updated`,
		doc, a.ID, a.Name, a.Color, db.now().UnixNano())
	if err != nil {
		return fmt.Errorf("store: save author of doc %s: %w", doc, err)
	}
	return nil
}

// Authors returns the document's authors, by id.
func (db *DB) Authors(ctx context.Context, doc string) ([]store.Author, error) {
	rows, err := db.pool.Query(ctx, `SELECT id, name, color FROM authors WHERE doc = $1 ORDER BY id`, doc)
	if err != nil {
		return nil, fmt.Errorf("store: authors of doc %s: %w", doc, err)
	}
	defer rows.Close()
	out := []store.Author{}
	for rows.Next() {
		var a store.Author
		if err := rows.Scan(&a.ID, &a.Name, &a.Color); err != nil {
			return nil, fmt.Errorf("store: authors of doc %s: %w", doc, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: authors of doc %s: %w", doc, err)
	}
	return out, nil
}

// Versions returns the document's named versions, newest revision first.
func (db *DB) Versions(ctx context.Context, doc string) ([]store.Version, error) {
	rows, err := db.pool.Query(ctx, `SELECT rev, name, author, time FROM versions WHERE doc = $1 ORDER BY rev DESC`, doc)
	if err != nil {
		return nil, fmt.Errorf("store: versions of doc %s: %w", doc, err)
	}
	defer rows.Close()
	out := []store.Version{}
	for rows.Next() {
		var v store.Version
		var t int64
		if err := rows.Scan(&v.Rev, &v.Name, &v.Author, &t); err != nil {
			return nil, fmt.Errorf("store: versions of doc %s: %w", doc, err)
		}
		v.Time = fromNanos(t)
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: versions of doc %s: %w", doc, err)
	}
	return out, nil
}

// NameVersion gives revision v.Rev of the document a name (replacing any
// it had). The revision must exist (oplog.ErrNotFound otherwise).
func (db *DB) NameVersion(ctx context.Context, doc string, v store.Version) (store.Version, error) {
	v.Time = db.now().UTC()
	tag, err := db.pool.Exec(ctx, `INSERT INTO versions (doc, rev, name, author, time)
		SELECT id, $1, $2, $3, $4 FROM documents WHERE id = $5 AND $1 <= rev
		ON CONFLICT (doc, rev) DO UPDATE SET name = excluded.name, author = excluded.author, time = excluded.time`,
		v.Rev, v.Name, v.Author, v.Time.UnixNano(), doc)
	if err != nil {
		return store.Version{}, fmt.Errorf("store: name version %d of doc %s: %w", v.Rev, doc, err)
	}
	if tag.RowsAffected() == 0 {
		return store.Version{}, fmt.Errorf("store: name version %d of doc %s: %w", v.Rev, doc, oplog.ErrNotFound)
	}
	return v, nil
}

// UnnameVersion removes a revision's name (oplog.ErrNotFound if it had
// none).
func (db *DB) UnnameVersion(ctx context.Context, doc string, rev int) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM versions WHERE doc = $1 AND rev = $2`, doc, rev)
	if err != nil {
		return fmt.Errorf("store: unname version %d of doc %s: %w", rev, doc, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store: unname version %d of doc %s: %w", rev, doc, oplog.ErrNotFound)
	}
	return nil
}

// TrashDoc moves the document to the trash until purge (oplog.ErrNotFound
// if it is missing or already there).
func (db *DB) TrashDoc(ctx context.Context, id string, purge time.Time) (store.Doc, error) {
	d, err := scanDoc(db.pool.QueryRow(ctx,
		`UPDATE documents SET deleted = $1, purge = $2 WHERE id = $3 AND deleted IS NULL RETURNING `+docColumns,
		db.now().UnixNano(), purge.UnixNano(), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Doc{}, fmt.Errorf("store: trash doc %s: %w", id, oplog.ErrNotFound)
	}
	if err != nil {
		return store.Doc{}, fmt.Errorf("store: trash doc %s: %w", id, err)
	}
	return d, nil
}

// UndeleteDoc takes the document out of the trash (oplog.ErrNotFound if it
// is missing or not there).
func (db *DB) UndeleteDoc(ctx context.Context, id string) (store.Doc, error) {
	d, err := scanDoc(db.pool.QueryRow(ctx,
		`UPDATE documents SET deleted = NULL, purge = NULL WHERE id = $1 AND deleted IS NOT NULL RETURNING `+docColumns, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Doc{}, fmt.Errorf("store: undelete doc %s: %w", id, oplog.ErrNotFound)
	}
	if err != nil {
		return store.Doc{}, fmt.Errorf("store: undelete doc %s: %w", id, err)
	}
	return d, nil
}

// Trash returns the documents in the trash, soonest purge first.
func (db *DB) Trash(ctx context.Context) ([]store.Doc, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+docColumns+` FROM documents WHERE deleted IS NOT NULL ORDER BY purge, id`)
	if err != nil {
		return nil, fmt.Errorf("store: trash: %w", err)
	}
	docs, err := scanDocs(rows)
	if err != nil {
		return nil, fmt.Errorf("store: trash: %w", err)
	}
	return docs, nil
}

// PurgeExpired deletes for good the documents whose purge time is at or
// before now, and returns how many.
func (db *DB) PurgeExpired(ctx context.Context, now time.Time) (int, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM documents WHERE purge IS NOT NULL AND purge <= $1`, now.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("store: purge the trash: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// ImportDoc creates a document from a whole history in one transaction:
// the entries (revisions 1, 2, … in order, each applying to the text
// before it), the authors and the named versions. The new document has its
// own id and tokens, a snapshot at revision 0 and one at its last revision.
func (db *DB) ImportDoc(ctx context.Context, title string, entries []oplog.Entry, authors []store.Author, versions []store.Version) (store.Doc, error) {
	doc := ot.NewDoc("")
	ops := make([]string, len(entries))
	lens := make([]int, len(entries))
	type clientSeq struct {
		client string
		seq    int
	}
	seen := map[clientSeq]bool{}
	for i, e := range entries {
		if e.Rev != i+1 {
			return store.Doc{}, fmt.Errorf("store: import: entry %d has revision %d, want %d", i, e.Rev, i+1)
		}
		if k := (clientSeq{e.Client, e.Seq}); seen[k] {
			return store.Doc{}, fmt.Errorf("store: import: revision %d repeats client %q seq %d", e.Rev, e.Client, e.Seq)
		} else {
			seen[k] = true
		}
		if err := doc.Apply(e.Op); err != nil {
			return store.Doc{}, fmt.Errorf("store: import: revision %d does not apply: %w", e.Rev, err)
		}
		b, err := json.Marshal(e.Op)
		if err != nil {
			return store.Doc{}, fmt.Errorf("store: import: revision %d: %w", e.Rev, err)
		}
		ops[i], lens[i] = string(b), doc.Len()
	}
	for _, v := range versions {
		if v.Rev < 0 || v.Rev > len(entries) {
			return store.Doc{}, fmt.Errorf("store: import: version %q names revision %d of %d", v.Name, v.Rev, len(entries))
		}
	}
	id, err := uuid.NewV7()
	if err != nil {
		return store.Doc{}, fmt.Errorf("store: import: new id: %w", err)
	}
	now := db.now().UnixNano()
	d := store.Doc{ID: id.String(), Title: title, Rev: len(entries), Size: doc.Len(), Created: fromNanos(now), Updated: fromNanos(now),
		EditToken: store.NewToken(), ViewToken: store.NewToken()}
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO documents (id, title, created, updated, rev, size, edit_token, view_token)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			d.ID, title, now, now, d.Rev, d.Size, d.EditToken, d.ViewToken); err != nil {
			return err
		}
		// The log goes in with COPY: one stream, however long the history.
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"ops"},
			[]string{"doc", "rev", "op", "client", "seq", "time", "len_after", "author", "insert_authors"},
			pgx.CopyFromSlice(len(entries), func(i int) ([]any, error) {
				e := entries[i]
				t := e.Time
				if t.IsZero() {
					t = fromNanos(now)
				}
				return []any{d.ID, e.Rev, ops[i], e.Client, e.Seq, t.UnixNano(), lens[i], e.Author, insertAuthors(e.Inserts)}, nil
			}))
		if err != nil {
			return fmt.Errorf("log: %w", err)
		}
		for client, seq := range store.HighestSeqs(entries) {
			if _, err := tx.Exec(ctx, upsertSeq, d.ID, client, seq); err != nil {
				return fmt.Errorf("client seqs: %w", err)
			}
		}
		for _, rev := range []int{0, d.Rev} {
			text := ""
			if rev > 0 {
				text = doc.String()
			}
			if _, err := tx.Exec(ctx, `INSERT INTO snapshots (doc, rev, text) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
				d.ID, rev, []byte(text)); err != nil {
				return fmt.Errorf("snapshot: %w", err)
			}
		}
		// The last of an id or a revision wins, as SQLite's INSERT OR
		// REPLACE.
		for _, a := range authors {
			if _, err := tx.Exec(ctx, `INSERT INTO authors (doc, id, name, color, updated) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (doc, id) DO UPDATE SET name = excluded.name, color = excluded.color, updated = excluded.updated`,
				d.ID, a.ID, a.Name, a.Color, now); err != nil {
				return fmt.Errorf("author: %w", err)
			}
		}
		for _, v := range versions {
			t := v.Time
			if t.IsZero() {
				t = fromNanos(now)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO versions (doc, rev, name, author, time) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (doc, rev) DO UPDATE SET name = excluded.name, author = excluded.author, time = excluded.time`,
				d.ID, v.Rev, v.Name, v.Author, t.UnixNano()); err != nil {
				return fmt.Errorf("version: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return store.Doc{}, fmt.Errorf("store: import: %w", err)
	}
	return d, nil
}

// Authorship returns who wrote each part of the text at revision rev, as
// spans in order (lengths in UTF-16 units), by replaying the log from the
// start with oplog.Attribute.
func (db *DB) Authorship(ctx context.Context, doc string, rev int) ([]oplog.Span, error) {
	var spans []oplog.Span
	// One snapshot of the database for the whole replay.
	err := readTx(ctx, db.pool, func(tx pgx.Tx) error {
		cur, err := docRev(ctx, tx, doc)
		if err != nil {
			return err
		}
		if rev < 0 || rev > cur {
			return fmt.Errorf("rev %d (current %d): %w", rev, cur, oplog.ErrNotFound)
		}
		const page = 10000
		for from := 1; from <= rev; from += page {
			es, err := readEntries(ctx, tx, doc, from, min(rev, from+page-1))
			if err != nil {
				return err
			}
			for _, e := range es {
				spans = oplog.Attribute(spans, e.Op, e.Author, e.Inserts)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: authorship of doc %s: %w", doc, err)
	}
	if spans == nil {
		spans = []oplog.Span{}
	}
	return spans, nil
}
