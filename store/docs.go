package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/ot"
)

// Doc describes a document.
type Doc struct {
	ID    string
	Title string
	// Rev is the latest revision (0 for a new document).
	Rev int
	// Size is the length of the text at Rev in UTF-16 code units.
	Size int
	// Created and Updated are in UTC. Updated moves on every append and
	// rename.
	Created, Updated time.Time
	// EditToken and ViewToken are the last path segments of the
	// document's edit and view links: whoever holds one has that right.
	EditToken, ViewToken string
	// Deleted is when the document went to the trash (zero: it is not
	// there); Purge is when it will be purged for good.
	Deleted, Purge time.Time
}

const docColumns = `id, title, rev, size, created, updated, edit_token, view_token, deleted, purge`

func scanDoc(row interface{ Scan(...any) error }) (Doc, error) {
	var d Doc
	var created, updated int64
	var deleted, purge sql.NullInt64
	if err := row.Scan(&d.ID, &d.Title, &d.Rev, &d.Size, &created, &updated, &d.EditToken, &d.ViewToken, &deleted, &purge); err != nil {
		return Doc{}, err
	}
	d.Created, d.Updated = fromNanos(created), fromNanos(updated)
	if deleted.Valid {
		d.Deleted, d.Purge = fromNanos(deleted.Int64), fromNanos(purge.Int64)
	}
	return d, nil
}

// InTrash reports whether the document is in the trash.
func (d Doc) InTrash() bool { return !d.Deleted.IsZero() }

// CreateDoc creates an empty document at revision 0, with an empty
// snapshot at revision 0. Its id is a UUID (version 7, so ids sort by
// creation time and index inserts stay local); its tokens are random
// (NewToken).
func (db *DB) CreateDoc(ctx context.Context, title string) (Doc, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return Doc{}, fmt.Errorf("store: create doc: new id: %w", err)
	}
	now := db.now().UnixNano()
	d := Doc{ID: id.String(), Title: title, Created: fromNanos(now), Updated: fromNanos(now),
		EditToken: NewToken(), ViewToken: NewToken()}
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return Doc{}, fmt.Errorf("store: create doc: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO documents (id, title, created, updated, rev, size, edit_token, view_token) VALUES (?, ?, ?, ?, 0, 0, ?, ?)`,
		d.ID, title, now, now, d.EditToken, d.ViewToken); err != nil {
		return Doc{}, fmt.Errorf("store: create doc: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO snapshots (doc, rev, text) VALUES (?, 0, '')`, d.ID); err != nil {
		return Doc{}, fmt.Errorf("store: create doc %s: snapshot: %w", d.ID, err)
	}
	if err := tx.Commit(); err != nil {
		return Doc{}, fmt.Errorf("store: create doc %s: commit: %w", d.ID, err)
	}
	return d, nil
}

// GetDoc returns the document, or an error wrapping oplog.ErrNotFound.
func (db *DB) GetDoc(ctx context.Context, id string) (Doc, error) {
	d, err := scanDoc(db.reader.QueryRowContext(ctx, `SELECT `+docColumns+` FROM documents WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Doc{}, fmt.Errorf("store: get doc %s: %w", id, oplog.ErrNotFound)
	}
	if err != nil {
		return Doc{}, fmt.Errorf("store: get doc %s: %w", id, err)
	}
	return d, nil
}

// DocByToken returns the document whose edit or view token is token, or
// an error wrapping oplog.ErrNotFound. The caller compares token with the
// document's tokens to learn which right it grants.
func (db *DB) DocByToken(ctx context.Context, token string) (Doc, error) {
	if token == "" {
		return Doc{}, fmt.Errorf("store: doc by token: %w", oplog.ErrNotFound)
	}
	d, err := scanDoc(db.reader.QueryRowContext(ctx,
		`SELECT `+docColumns+` FROM documents WHERE edit_token = ?1 OR view_token = ?1`, token))
	if errors.Is(err, sql.ErrNoRows) {
		// The token is a credential: it stays out of the message.
		return Doc{}, fmt.Errorf("store: doc by token: %w", oplog.ErrNotFound)
	}
	if err != nil {
		return Doc{}, fmt.Errorf("store: doc by token: %w", err)
	}
	return d, nil
}

// Link names one of a document's two links.
type Link string

// The links.
const (
	EditLink Link = "edit"
	ViewLink Link = "view"
)

// ReissueLink replaces the document's edit or view token with a new random
// one and returns the document. The old token stops working at once.
func (db *DB) ReissueLink(ctx context.Context, id string, which Link) (Doc, error) {
	col := ""
	switch which {
	case EditLink:
		col = "edit_token"
	case ViewLink:
		col = "view_token"
	default:
		return Doc{}, fmt.Errorf("store: reissue link of doc %s: no link %q", id, which)
	}
	d, err := scanDoc(db.writer.QueryRowContext(ctx,
		`UPDATE documents SET `+col+` = ? WHERE id = ? RETURNING `+docColumns, NewToken(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Doc{}, fmt.Errorf("store: reissue %s link of doc %s: %w", which, id, oplog.ErrNotFound)
	}
	if err != nil {
		return Doc{}, fmt.Errorf("store: reissue %s link of doc %s: %w", which, id, err)
	}
	return d, nil
}

// NewToken returns a fresh link token: 128 random bits, base64url (22
// characters).
func NewToken() string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(16))
}

// randomBytes returns n bytes from crypto/rand, which does not fail on the
// systems Go supports (it panics rather than return weak bytes).
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// ListDocs returns every document not in the trash, most recently updated first (ties by
// id, so the order is stable).
func (db *DB) ListDocs(ctx context.Context) ([]Doc, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT `+docColumns+` FROM documents WHERE deleted IS NULL ORDER BY updated DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("store: list docs: %w", err)
	}
	defer rows.Close()
	docs := []Doc{}
	for rows.Next() {
		d, err := scanDoc(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list docs: %w", err)
		}
		docs = append(docs, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list docs: %w", err)
	}
	return docs, nil
}

// RenameDoc sets the title and returns the updated document.
func (db *DB) RenameDoc(ctx context.Context, id, title string) (Doc, error) {
	d, err := scanDoc(db.writer.QueryRowContext(ctx,
		`UPDATE documents SET title = ?, updated = ? WHERE id = ? AND deleted IS NULL RETURNING `+docColumns,
		title, db.now().UnixNano(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Doc{}, fmt.Errorf("store: rename doc %s: %w", id, oplog.ErrNotFound)
	}
	if err != nil {
		return Doc{}, fmt.Errorf("store: rename doc %s: %w", id, err)
	}
	return d, nil
}

// DeleteDoc removes the document for good, with its log and snapshots
// (the foreign keys cascade), whether or not it is in the trash. Later
// calls about it fail with oplog.ErrNotFound.
func (db *DB) DeleteDoc(ctx context.Context, id string) error {
	res, err := db.writer.ExecContext(ctx, `DELETE FROM documents WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("store: delete doc %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: delete doc %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("store: delete doc %s: %w", id, oplog.ErrNotFound)
	}
	return nil
}

// TextAt rebuilds the text at revision rev: the latest snapshot at or
// before rev, then the log after it replayed with oplog.Replay. A revision
// below 0 or above the current one wraps oplog.ErrNotFound.
func (db *DB) TextAt(ctx context.Context, id string, rev int) (string, error) {
	// One read transaction, so the snapshot and the log come from the same
	// committed state.
	tx, err := db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return "", fmt.Errorf("store: text of doc %s at rev %d: %w", id, rev, err)
	}
	defer tx.Rollback()
	cur, err := docRev(ctx, tx, id)
	if err != nil {
		return "", fmt.Errorf("store: text of doc %s at rev %d: %w", id, rev, err)
	}
	if rev < 0 || rev > cur {
		return "", fmt.Errorf("store: text of doc %s at rev %d (current %d): %w", id, rev, cur, oplog.ErrNotFound)
	}
	snapRev, text, err := snapshotAt(ctx, tx, id, rev)
	if err != nil {
		return "", fmt.Errorf("store: text of doc %s at rev %d: %w", id, rev, err)
	}
	entries, err := readEntries(ctx, tx, id, snapRev+1, rev)
	if err != nil {
		return "", fmt.Errorf("store: text of doc %s at rev %d: %w", id, rev, err)
	}
	// Replayed on the rope: each op costs its own size, not a copy of the
	// whole text.
	doc := ot.NewDoc(text)
	got, err := oplog.Replay(doc, snapRev, entries)
	if err != nil {
		return "", fmt.Errorf("store: text of doc %s at rev %d: %w", id, rev, err)
	}
	if got != rev {
		return "", fmt.Errorf("store: text of doc %s at rev %d: log ends at rev %d", id, rev, got)
	}
	text = doc.String()
	return text, nil
}

// queryer is what *sql.DB and *sql.Tx share.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// docRev returns the current revision, or oplog.ErrNotFound.
func docRev(ctx context.Context, q queryer, id string) (int, error) {
	var rev int
	err := q.QueryRowContext(ctx, `SELECT rev FROM documents WHERE id = ?`, id).Scan(&rev)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, oplog.ErrNotFound
	}
	return rev, err
}

// snapshotAt returns the latest snapshot at or before rev; a document with
// none is at revision 0 with empty text. It does not check that the
// document exists.
func snapshotAt(ctx context.Context, q queryer, id string, rev int) (int, string, error) {
	var snapRev int
	var text string
	err := q.QueryRowContext(ctx, `SELECT rev, text FROM snapshots WHERE doc = ? AND rev <= ? ORDER BY rev DESC LIMIT 1`,
		id, rev).Scan(&snapRev, &text)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", err
	}
	return snapRev, text, nil
}
