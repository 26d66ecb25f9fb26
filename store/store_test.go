package store

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/ot"
)

var base = time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC)

// openTest opens a fresh database in a temporary directory (a missing
// subdirectory, to check that Open creates it) with a clock that moves one
// second per call.
func openTest(t testing.TB) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "tandem.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	var tick atomic.Int64
	db.now = func() time.Time { return base.Add(time.Duration(tick.Add(1)) * time.Second) }
	return db, path
}

func mustCreate(t testing.TB, db *DB, title string) Doc {
	t.Helper()
	d, err := db.CreateDoc(context.Background(), title)
	if err != nil {
		t.Fatalf("CreateDoc(%q): %v", title, err)
	}
	return d
}

// insertAt builds the op that inserts s at UTF-16 position pos of a text
// of length n.
func insertAt(n, pos int, s string) ot.Op {
	var op ot.Op
	op.Retain(pos).Insert(s).Retain(n - pos)
	return op
}

func u16(s string) int { return len(utf16.Encode([]rune(s))) }

func revs(es []oplog.Entry) []int {
	var r []int
	for _, e := range es {
		r = append(r, e.Rev)
	}
	return r
}

// The log's (doc, client, seq) key is an index that a scan of one
// client's seqs uses, not the table (storetest checks Seqs itself).
func TestSeqsIndex(t *testing.T) {
	db, _ := openTest(t)
	plan := queryPlan(t, db, `SELECT client, max(seq) FROM ops WHERE doc = 'x' GROUP BY client`)
	if !strings.Contains(plan, "COVERING INDEX") {
		t.Errorf("plan of a seqs scan = %q; want the (doc, client, seq) index", plan)
	}
}

func queryPlan(t *testing.T, db *DB, q string) string {
	t.Helper()
	rows, err := db.reader.Query("EXPLAIN QUERY PLAN " + q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		b.WriteString(detail + "; ")
	}
	return b.String()
}

// randomEdit returns an op on text (valid Unicode; positions counted in
// UTF-16 units, never inside a surrogate pair) and the expected text after
// it, computed on runes without ot.Apply.
func randomEdit(r *rand.Rand, text string) (ot.Op, string) {
	alphabet := []string{"a", "b", " ", "\n", "é", "中", "文", "😀", "🎉", "👍🏽", "\""}
	runes := []rune(text)
	p := r.IntN(len(runes) + 1)
	d := 0
	if r.IntN(3) > 0 && p < len(runes) {
		d = r.IntN(min(5, len(runes)-p) + 1)
	}
	var ins strings.Builder
	if d == 0 || r.IntN(2) == 0 {
		for range r.IntN(6) + 1 {
			ins.WriteString(alphabet[r.IntN(len(alphabet))])
		}
	}
	var op ot.Op
	op.Retain(u16(string(runes[:p]))).Delete(u16(string(runes[p : p+d]))).Insert(ins.String()).Retain(u16(string(runes[p+d:])))
	return op, string(runes[:p]) + ins.String() + string(runes[p+d:])
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t)
	a := mustCreate(t, db, "a")
	b := mustCreate(t, db, "b")
	es := []oplog.Entry{
		{Rev: 1, Op: insertAt(0, 0, "日本語 🙂"), Client: "c", Seq: 1, Time: base},
		{Rev: 2, Op: insertAt(6, 6, "!"), Client: "c", Seq: 2, Time: base.Add(time.Millisecond)},
	}
	if err := db.Append(ctx, a.ID, es); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveSnapshot(ctx, a.ID, 1, "日本語 🙂"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RenameDoc(ctx, b.ID, "b2"); err != nil {
		t.Fatal(err)
	}
	docs, err := db.ListDocs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db2, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db2.Close()
	docs2, err := db2.ListDocs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(docs, docs2); diff != "" {
		t.Errorf("ListDocs after reopen (-before +after):\n%s", diff)
	}
	got, err := db2.Entries(ctx, a.ID, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(es, got); diff != "" {
		t.Errorf("Entries after reopen (-want +got):\n%s", diff)
	}
	if rev, text, err := db2.Snapshot(ctx, a.ID); err != nil || rev != 1 || text != "日本語 🙂" {
		t.Errorf("Snapshot after reopen = %d, %q, %v; want 1, %q", rev, text, err, "日本語 🙂")
	}
	if text, err := db2.TextAt(ctx, a.ID, 2); err != nil || text != "日本語 🙂!" {
		t.Errorf("TextAt(2) after reopen = %q, %v", text, err)
	}
	// Migrations ran once: one row per migration file.
	ms, err := LoadMigrations(migrations)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db2.reader.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(ms) || n == 0 {
		t.Errorf("schema_migrations rows = %d, %v; want %d", n, err, len(ms))
	}
}

func TestPragmas(t *testing.T) {
	db, _ := openTest(t)
	for name, want := range map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "5000"} {
		for pool, sdb := range map[string]queryer{"writer": db.writer, "reader": db.reader} {
			var got string
			if err := sdb.QueryRowContext(context.Background(), "PRAGMA "+name).Scan(&got); err != nil {
				t.Fatalf("%s PRAGMA %s: %v", pool, name, err)
			}
			if got != want {
				t.Errorf("%s PRAGMA %s = %s; want %s", pool, name, got, want)
			}
		}
	}
	// The read pool cannot write.
	if _, err := db.reader.Exec(`DELETE FROM documents`); err == nil {
		t.Errorf("a write through the read pool succeeded; want it refused")
	}
}

func benchmarkAppend(b *testing.B, group int) {
	ctx := context.Background()
	db, _ := openTest(b)
	d := mustCreate(b, db, "bench")
	rev := 0
	b.ReportAllocs()
	for b.Loop() {
		es := make([]oplog.Entry, group)
		for i := range es {
			es[i] = oplog.Entry{Rev: rev + 1, Op: insertAt(rev, rev, "x"), Client: "c", Seq: rev + 1, Time: base}
			rev++
		}
		if err := db.Append(ctx, d.ID, es); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rev), "ns/entry")
}

func BenchmarkAppend1(b *testing.B)  { benchmarkAppend(b, 1) }
func BenchmarkAppend50(b *testing.B) { benchmarkAppend(b, 50) }

func TestOpenOddPath(t *testing.T) {
	ctx := context.Background()
	// Characters that mean something in a URI must reach the file system
	// as they are.
	path := filepath.Join(t.TempDir(), "my docs #1", "ça?va%20.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	d, err := db.CreateDoc(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file not at %q: %v", path, err)
	}
	db, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen %q: %v", path, err)
	}
	defer db.Close()
	if _, err := db.GetDoc(ctx, d.ID); err != nil {
		t.Errorf("GetDoc after reopening %q: %v", path, err)
	}
}
