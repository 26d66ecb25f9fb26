package store_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/tandem-editor/tandem/store"
	"github.com/tandem-editor/tandem/store/storetest"
)

var _ storetest.Store = (*store.DB)(nil)

// TestContract runs the stores' shared tests against SQLite.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		path := filepath.Join(t.TempDir(), "tandem.db")
		db, err := store.Open(context.Background(), path)
		if err != nil {
			t.Fatalf("Open(%q): %v", path, err)
		}
		t.Cleanup(func() {
			if err := db.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		store.SetClock(db, storetest.Clock())
		return tables{db}
	})
}

// tables is the SQLite store with storetest.Tables.
type tables struct{ *store.DB }

func (tb tables) LogLens(ctx context.Context, doc string) (map[int]int, error) {
	rows, err := store.ReaderQuery(tb.DB, `SELECT rev, len_after FROM ops WHERE doc = ?`, doc)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[int]int{}
	for rows.Next() {
		var rev, n int
		if err := rows.Scan(&rev, &n); err != nil {
			return nil, err
		}
		m[rev] = n
	}
	return m, rows.Err()
}

func (tb tables) SnapshotRevs(ctx context.Context, doc string) ([]int, error) {
	rows, err := store.ReaderQuery(tb.DB, `SELECT rev FROM snapshots WHERE doc = ? ORDER BY rev`, doc)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var revs []int
	for rows.Next() {
		var r int
		if err := rows.Scan(&r); err != nil {
			return nil, err
		}
		revs = append(revs, r)
	}
	return revs, rows.Err()
}

func (tb tables) DeleteLog(ctx context.Context, doc string, to int) error {
	return store.WriterExec(tb.DB, `DELETE FROM ops WHERE doc = ? AND rev <= ?`, doc, to)
}

func (tb tables) InsertOp(ctx context.Context, doc string, rev int, op json.RawMessage, client string, seq, lenAfter int) error {
	return store.WriterExec(tb.DB, `INSERT INTO ops (doc, rev, op, client, seq, time, len_after) VALUES (?, ?, ?, ?, ?, 0, ?)`,
		doc, rev, string(op), client, seq, lenAfter)
}

func (tb tables) DeleteOps(ctx context.Context, doc, client string) error {
	return store.WriterExec(tb.DB, `DELETE FROM ops WHERE doc = ? AND client = ?`, doc, client)
}
