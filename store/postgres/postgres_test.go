package postgres_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/tandem-editor/tandem/internal/pgtest"
	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/server"
	"github.com/tandem-editor/tandem/session"
	"github.com/tandem-editor/tandem/store/postgres"
	"github.com/tandem-editor/tandem/store/storetest"
)

// The PostgreSQL store plugs in where the SQLite one does.
var (
	_ storetest.Store = (*postgres.DB)(nil)
	_ session.Store   = (*postgres.DB)(nil)
	_ server.Docs     = (*postgres.DB)(nil)
	_ server.Health   = (*postgres.DB)(nil)
)

// Processes starting together on a new database migrate it once, and a
// later Open finds nothing to do and keeps the data.
func TestOpenTogetherMigratesOnce(t *testing.T) {
	ctx := context.Background()
	url := pgtest.Start(t)
	const n = 6
	dbs := make([]*postgres.DB, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		// Ends after one Open.
		wg.Go(func() { dbs[i], errs[i] = postgres.Open(ctx, url) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d of %d at once: %v", i, n, err)
		}
		defer dbs[i].Close()
	}
	d, err := dbs[0].CreateDoc(ctx, "kept")
	if err != nil {
		t.Fatal(err)
	}
	if err := dbs[1].Append(ctx, d.ID, []oplog.Entry{{Rev: 1, Op: storetest.InsertAt(0, 0, "hi"), Client: "c", Seq: 1}}); err != nil {
		t.Fatal(err)
	}
	again, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatalf("Open again: %v", err)
	}
	defer again.Close()
	if text, err := again.TextAt(ctx, d.ID, 1); err != nil || text != "hi" {
		t.Errorf("TextAt after reopening = %q, %v; want \"hi\"", text, err)
	}
	var rows, max int
	err = postgres.Pool(again).QueryRow(ctx, `SELECT count(*), max(version) FROM schema_migrations`).Scan(&rows, &max)
	if err != nil || rows != migrations(t) || max != rows {
		t.Errorf("schema_migrations = %d rows up to %d, %v; want one per migration (%d)", rows, max, err, migrations(t))
	}
}

func migrations(t *testing.T) int {
	t.Helper()
	n, err := postgres.MigrationCount()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Two stores on one database are two server processes: the second writer
// of a revision gets ErrConflict and the first one's op stays.
func TestTwoProcessesConflict(t *testing.T) {
	ctx := context.Background()
	url := pgtest.Start(t)
	a, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	d, err := a.CreateDoc(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Append(ctx, d.ID, []oplog.Entry{{Rev: 1, Op: storetest.InsertAt(0, 0, "a"), Client: "ca", Seq: 1}}); err != nil {
		t.Fatal(err)
	}
	err = b.Append(ctx, d.ID, []oplog.Entry{{Rev: 1, Op: storetest.InsertAt(0, 0, "b"), Client: "cb", Seq: 1}})
	if !errors.Is(err, oplog.ErrConflict) || !strings.Contains(err.Error(), "rev 1") {
		t.Errorf("second process's Append at rev 1 = %v; want ErrConflict naming rev 1", err)
	}
	if text, err := b.TextAt(ctx, d.ID, 1); err != nil || text != "a" {
		t.Errorf("TextAt(1) = %q, %v; want the first writer's \"a\"", text, err)
	}
	// A stale writer that catches up writes the next revision.
	if err := b.Append(ctx, d.ID, []oplog.Entry{{Rev: 2, Op: storetest.InsertAt(1, 1, "b"), Client: "cb", Seq: 1}}); err != nil {
		t.Errorf("Append at rev 2 after catching up: %v", err)
	}
	// Both see one secret.
	ka, errA := a.Secret(ctx, "identity", 32)
	kb, errB := b.Secret(ctx, "identity", 32)
	if errA != nil || errB != nil || string(ka) != string(kb) {
		t.Errorf("secrets of two processes: %x, %v and %x, %v; want one", ka, errA, kb, errB)
	}
}

// A database that refuses writes makes Health fail, and an Append that
// failed for it is named; once writes work again, Health is good.
func TestHealthWhenWritesFail(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	d, err := db.CreateDoc(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	pool := postgres.Pool(db)
	// Every new transaction of this database is read-only, as on a
	// standby or a server whose disk filled up and was set so.
	var name string
	if err := pool.QueryRow(ctx, `SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `ALTER DATABASE `+name+` SET default_transaction_read_only = on`); err != nil {
		t.Fatal(err)
	}
	// The setting applies to new sessions: drop the pooled ones.
	pool.Reset()
	err = db.Append(ctx, d.ID, []oplog.Entry{{Rev: 1, Op: storetest.InsertAt(0, 0, "x"), Client: "c", Seq: 1}})
	if err == nil || errors.Is(err, oplog.ErrConflict) {
		t.Fatalf("Append on a read-only database = %v; want a failure that is not a conflict", err)
	}
	herr := db.Health(ctx)
	if herr == nil || !strings.Contains(herr.Error(), "the last commit failed") {
		t.Errorf("Health after a failed Append on a read-only database = %v; want the failure named", herr)
	}
	// ALTER DATABASE is itself refused now; a session setting lifts it.
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `SET default_transaction_read_only = off`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `ALTER DATABASE `+name+` SET default_transaction_read_only = off`); err != nil {
		t.Fatal(err)
	}
	conn.Release()
	pool.Reset()
	if err := db.Health(ctx); err != nil {
		t.Errorf("Health once writes work again: %v", err)
	}
	if err := db.Append(ctx, d.ID, []oplog.Entry{{Rev: 1, Op: storetest.InsertAt(0, 0, "x"), Client: "c", Seq: 1}}); err != nil {
		t.Errorf("Append once writes work again: %v", err)
	}
}
