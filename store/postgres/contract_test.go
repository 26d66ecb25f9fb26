package postgres_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tandem-editor/tandem/internal/pgtest"
	"github.com/tandem-editor/tandem/store/postgres"
	"github.com/tandem-editor/tandem/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// openTest opens a store on a fresh database with storetest's clock.
func openTest(t *testing.T) *postgres.DB {
	t.Helper()
	url := pgtest.Start(t)
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	postgres.SetClock(db, storetest.Clock())
	return db
}

// TestContract runs the stores' shared tests against PostgreSQL.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return tables{openTest(t)} })
}

// tables is the PostgreSQL store with storetest.Tables.
type tables struct{ *postgres.DB }

func (tb tables) LogLens(ctx context.Context, doc string) (map[int]int, error) {
	rows, err := postgres.Pool(tb.DB).Query(ctx, `SELECT rev, len_after FROM ops WHERE doc = $1`, doc)
	if err != nil {
		return nil, err
	}
	m := map[int]int{}
	var rev, n int
	_, err = pgx.ForEachRow(rows, []any{&rev, &n}, func() error { m[rev] = n; return nil })
	return m, err
}

func (tb tables) SnapshotRevs(ctx context.Context, doc string) ([]int, error) {
	rows, err := postgres.Pool(tb.DB).Query(ctx, `SELECT rev FROM snapshots WHERE doc = $1 ORDER BY rev`, doc)
	if err != nil {
		return nil, err
	}
	revs, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if len(revs) == 0 {
		revs = nil
	}
	return revs, err
}

func (tb tables) DeleteLog(ctx context.Context, doc string, to int) error {
	_, err := postgres.Pool(tb.DB).Exec(ctx, `DELETE FROM ops WHERE doc = $1 AND rev <= $2`, doc, to)
	return err
}

func (tb tables) InsertOp(ctx context.Context, doc string, rev int, op json.RawMessage, client string, seq, lenAfter int) error {
	_, err := postgres.Pool(tb.DB).Exec(ctx, `INSERT INTO ops (doc, rev, op, client, seq, time, len_after) VALUES ($1, $2, $3, $4, $5, 0, $6)`,
		doc, rev, string(op), client, seq, lenAfter)
	return err
}

func (tb tables) DeleteOps(ctx context.Context, doc, client string) error {
	_, err := postgres.Pool(tb.DB).Exec(ctx, `DELETE FROM ops WHERE doc = $1 AND client = $2`, doc, client)
	return err
}
