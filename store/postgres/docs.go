package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/store"
)

const docColumns = `id, title, rev, size, created, updated, edit_token, view_token, deleted, purge`

func scanDoc(row pgx.Row) (store.Doc, error) {
	var d store.Doc
	var created, updated int64
	var deleted, purge *int64
	if err := row.Scan(&d.ID, &d.Title, &d.Rev, &d.Size, &created, &updated, &d.EditToken, &d.ViewToken, &deleted, &purge); err != nil {
		return store.Doc{}, err
	}
	d.Created, d.Updated = fromNanos(created), fromNanos(updated)
	if deleted != nil {
		d.Deleted = fromNanos(*deleted)
		if purge != nil {
			d.Purge = fromNanos(*purge)
		}
	}
	return d, nil
}

func scanDocs(rows pgx.Rows) ([]store.Doc, error) {
	defer rows.Close()
	docs := []store.Doc{}
	for rows.Next() {
		d, err := scanDoc(rows)
		if err != nil {
			return nil, err
		}
		docs = append(docs, d)
	}
	return docs, rows.Err()
}

// CreateDoc creates an empty document at revision 0, with an empty
// snapshot at revision 0. Its id is a UUID (version 7); its tokens are
// random (store.NewToken).
func (db *DB) CreateDoc(ctx context.Context, title string) (store.Doc, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return store.Doc{}, fmt.Errorf("store: create doc: new id: %w", err)
	}
	now := db.now().UnixNano()
	d := store.Doc{ID: id.String(), Title: title, Created: fromNanos(now), Updated: fromNanos(now),
		EditToken: store.NewToken(), ViewToken: store.NewToken()}
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO documents (id, title, created, updated, rev, size, edit_token, view_token)
			VALUES ($1, $2, $3, $4, 0, 0, $5, $6)`, d.ID, title, now, now, d.EditToken, d.ViewToken); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO snapshots (doc, rev, text) VALUES ($1, 0, '')`, d.ID); err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
		return nil
	})
	if err != nil {
		return store.Doc{}, fmt.Errorf("store: create doc %s: %w", d.ID, err)
	}
	return d, nil
}

// GetDoc returns the document, or an error wrapping oplog.ErrNotFound.
func (db *DB) GetDoc(ctx context.Context, id string) (store.Doc, error) {
	d, err := scanDoc(db.pool.QueryRow(ctx, `SELECT `+docColumns+` FROM documents WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Doc{}, fmt.Errorf("store: get doc %s: %w", id, oplog.ErrNotFound)
	}
	if err != nil {
		return store.Doc{}, fmt.Errorf("store: get doc %s: %w", id, err)
	}
	return d, nil
}

// DocByToken returns the document whose edit or view token is token, or
// an error wrapping oplog.ErrNotFound.
func (db *DB) DocByToken(ctx context.Context, token string) (store.Doc, error) {
	if token == "" {
		return store.Doc{}, fmt.Errorf("store: doc by token: %w", oplog.ErrNotFound)
	}
	d, err := scanDoc(db.pool.QueryRow(ctx,
		`SELECT `+docColumns+` FROM documents WHERE edit_token = $1 OR view_token = $1`, token))
	if errors.Is(err, pgx.ErrNoRows) {
		// The token is a credential: it stays out of the message.
		return store.Doc{}, fmt.Errorf("store: doc by token: %w", oplog.ErrNotFound)
	}
	if err != nil {
		return store.Doc{}, fmt.Errorf("store: doc by token: %w", err)
	}
	return d, nil
}

// ReissueLink replaces the document's edit or view token with a new random
// one and returns the document. The old token stops working at once.
func (db *DB) ReissueLink(ctx context.Context, id string, which store.Link) (store.Doc, error) {
	col := ""
	switch which {
	case store.EditLink:
		col = "edit_token"
	case store.ViewLink:
		col = "view_token"
	default:
		return store.Doc{}, fmt.Errorf("store: reissue link of doc %s: no link %q", id, which)
	}
	d, err := scanDoc(db.pool.QueryRow(ctx,
		`UPDATE documents SET `+col+` = $1 WHERE id = $2 RETURNING `+docColumns, store.NewToken(), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Doc{}, fmt.Errorf("store: reissue %s link of doc %s: %w", which, id, oplog.ErrNotFound)
	}
	if err != nil {
		return store.Doc{}, fmt.Errorf("store: reissue %s link of doc %s: %w", which, id, err)
	}
	return d, nil
}

// ListDocs returns every document not in the trash, most recently updated
// first (ties by id, so the order is stable).
func (db *DB) ListDocs(ctx context.Context) ([]store.Doc, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+docColumns+` FROM documents WHERE deleted IS NULL ORDER BY updated DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("store: list docs: %w", err)
	}
	docs, err := scanDocs(rows)
	if err != nil {
		return nil, fmt.Errorf("store: list docs: %w", err)
	}
	return docs, nil
}

// RenameDoc sets the title and returns the updated document.
func (db *DB) RenameDoc(ctx context.Context, id, title string) (store.Doc, error) {
	d, err := scanDoc(db.pool.QueryRow(ctx,
		`UPDATE documents SET title = $1, updated = $2 WHERE id = $3 AND deleted IS NULL RETURNING `+docColumns,
		title, db.now().UnixNano(), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Doc{}, fmt.Errorf("store: rename doc %s: %w", id, oplog.ErrNotFound)
	}
	if err != nil {
		return store.Doc{}, fmt.Errorf("store: rename doc %s: %w", id, err)
	}
	return d, nil
}

// DeleteDoc removes the document for good, with its log and snapshots
// (the foreign keys cascade), whether or not it is in the trash.
func (db *DB) DeleteDoc(ctx context.Context, id string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM documents WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("store: delete doc %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store: delete doc %s: %w", id, oplog.ErrNotFound)
	}
	return nil
}

// TextAt rebuilds the text at revision rev: the latest snapshot at or
// before rev, then the log after it replayed with oplog.Replay. A revision
// below 0 or above the current one wraps oplog.ErrNotFound.
func (db *DB) TextAt(ctx context.Context, id string, rev int) (string, error) {
	var text string
	err := readTx(ctx, db.pool, func(tx pgx.Tx) error {
		cur, err := docRev(ctx, tx, id)
		if err != nil {
			return err
		}
		if rev < 0 || rev > cur {
			return fmt.Errorf("current %d: %w", cur, oplog.ErrNotFound)
		}
		snapRev, snap, err := snapshotAt(ctx, tx, id, rev)
		if err != nil {
			return err
		}
		entries, err := readEntries(ctx, tx, id, snapRev+1, rev)
		if err != nil {
			return err
		}
		// Replayed on the rope: each op costs its own size, not a copy of
		// the whole text.
		doc := ot.NewDoc(snap)
		got, err := oplog.Replay(doc, snapRev, entries)
		if err != nil {
			return err
		}
		if got != rev {
			return fmt.Errorf("log ends at rev %d", got)
		}
		text = doc.String()
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("store: text of doc %s at rev %d: %w", id, rev, err)
	}
	return text, nil
}

// querier is what the pool and a transaction share.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// readTx runs f in a read-only REPEATABLE READ transaction: every query in
// it sees the same committed state.
func readTx(ctx context.Context, pool *pgxpool.Pool, f func(tx pgx.Tx) error) error {
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// docRev returns the current revision, or oplog.ErrNotFound.
func docRev(ctx context.Context, q querier, id string) (int, error) {
	var rev int
	err := q.QueryRow(ctx, `SELECT rev FROM documents WHERE id = $1`, id).Scan(&rev)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, oplog.ErrNotFound
	}
	return rev, err
}

// snapshotAt returns the latest snapshot at or before rev; a document with
// none is at revision 0 with empty text.
func snapshotAt(ctx context.Context, q querier, id string, rev int) (int, string, error) {
	var snapRev int
	var text []byte
	err := q.QueryRow(ctx, `SELECT rev, text FROM snapshots WHERE doc = $1 AND rev <= $2 ORDER BY rev DESC LIMIT 1`,
		id, rev).Scan(&snapRev, &text)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", err
	}
	return snapRev, string(text), nil
}
