package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

func TestCreateGetListRenameDelete(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)

	docs, err := db.ListDocs(ctx)
	if err != nil || len(docs) != 0 {
		t.Fatalf("ListDocs on an empty database = %v, %v; want none", docs, err)
	}

	a := mustCreate(t, db, "Alpha")
	b := mustCreate(t, db, "Beta ✨")
	c := mustCreate(t, db, "")
	if a.ID == b.ID || b.ID == c.ID || len(a.ID) != 36 {
		t.Fatalf("ids %q %q %q: want distinct UUIDs", a.ID, b.ID, c.ID)
	}
	if a.Rev != 0 || a.Size != 0 || a.Title != "Alpha" || !a.Created.Equal(a.Updated) || a.Created.Location() != time.UTC {
		t.Errorf("new doc = %+v; want rev 0, size 0, created == updated in UTC", a)
	}

	got, err := db.GetDoc(ctx, b.ID)
	if err != nil {
		t.Fatalf("GetDoc: %v", err)
	}
	if diff := cmp.Diff(b, got); diff != "" {
		t.Errorf("GetDoc differs from CreateDoc (-want +got):\n%s", diff)
	}
	rev, text, err := db.Snapshot(ctx, b.ID)
	if err != nil || rev != 0 || text != "" {
		t.Errorf("Snapshot of a new doc = %d, %q, %v; want 0, \"\", nil", rev, text, err)
	}

	order := func() []string {
		t.Helper()
		docs, err := db.ListDocs(ctx)
		if err != nil {
			t.Fatalf("ListDocs: %v", err)
		}
		var titles []string
		for _, d := range docs {
			titles = append(titles, d.Title)
		}
		return titles
	}
	if diff := cmp.Diff([]string{"", "Beta ✨", "Alpha"}, order()); diff != "" {
		t.Errorf("ListDocs order, newest first (-want +got):\n%s", diff)
	}

	// An edit moves a document to the top.
	if err := db.Append(ctx, a.ID, []oplog.Entry{{Rev: 1, Op: insertAt(0, 0, "hi"), Client: "c1", Seq: 1, Time: base}}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if diff := cmp.Diff([]string{"Alpha", "", "Beta ✨"}, order()); diff != "" {
		t.Errorf("ListDocs order after an edit (-want +got):\n%s", diff)
	}

	// So does a rename.
	r, err := db.RenameDoc(ctx, b.ID, "Gamma")
	if err != nil {
		t.Fatalf("RenameDoc: %v", err)
	}
	if r.Title != "Gamma" || r.ID != b.ID || !r.Updated.After(b.Updated) || !r.Created.Equal(b.Created) {
		t.Errorf("RenameDoc = %+v; want title Gamma, same id and created, later updated than %v", r, b.Updated)
	}
	if diff := cmp.Diff([]string{"Gamma", "Alpha", ""}, order()); diff != "" {
		t.Errorf("ListDocs order after a rename (-want +got):\n%s", diff)
	}

	if err := db.DeleteDoc(ctx, a.ID); err != nil {
		t.Fatalf("DeleteDoc: %v", err)
	}
	if diff := cmp.Diff([]string{"Gamma", ""}, order()); diff != "" {
		t.Errorf("ListDocs after delete (-want +got):\n%s", diff)
	}
	// Every call about a deleted or unknown document says not found.
	for _, id := range []string{a.ID, "no-such-doc"} {
		checks := map[string]error{}
		_, checks["GetDoc"] = db.GetDoc(ctx, id)
		_, checks["RenameDoc"] = db.RenameDoc(ctx, id, "x")
		checks["DeleteDoc"] = db.DeleteDoc(ctx, id)
		_, _, checks["Snapshot"] = db.Snapshot(ctx, id)
		_, checks["Entries"] = db.Entries(ctx, id, 1, 10)
		checks["Append"] = db.Append(ctx, id, []oplog.Entry{{Rev: 1, Op: insertAt(0, 0, "x"), Client: "c", Seq: 1}})
		checks["SaveSnapshot"] = db.SaveSnapshot(ctx, id, 0, "")
		_, checks["Seqs"] = db.Seqs(ctx, id)
		_, checks["EntriesPage"] = db.EntriesPage(ctx, id, 1, 10, 100)
		_, checks["TextAt"] = db.TextAt(ctx, id, 0)
		for name, err := range checks {
			if !errors.Is(err, oplog.ErrNotFound) {
				t.Errorf("%s(%q) = %v; want ErrNotFound", name, id, err)
			}
		}
	}
	// The log of a deleted document is gone with it.
	var n int
	if err := db.reader.QueryRow(`SELECT (SELECT count(*) FROM ops WHERE doc = ?) + (SELECT count(*) FROM snapshots WHERE doc = ?)`, a.ID, a.ID).Scan(&n); err != nil || n != 0 {
		t.Errorf("rows left for the deleted doc = %d, %v; want 0", n, err)
	}
}

func TestAppendEntriesRoundTrip(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	d := mustCreate(t, db, "t")

	paris := time.FixedZone("CEST", 2*60*60)
	want := []oplog.Entry{
		{Rev: 1, Op: insertAt(0, 0, "héllo 😀 世界"), Client: "c1", Seq: 1, Time: base.In(paris)},
		{Rev: 2, Op: insertAt(11, 8, "🎉🇫🇷"), Client: "c2", Seq: 1, Time: base.Add(time.Nanosecond)},
	}
	// Delete the emoji (2 units) after "héllo ", insert CJK and a newline.
	var del ot.Op
	del.Retain(6).Delete(2).Insert("中文\n\"quoted\"\\").Retain(11 + 6 - 8)
	want = append(want, oplog.Entry{Rev: 3, Op: del, Client: "c1", Seq: 2, Time: base.Add(time.Second)})

	if err := db.Append(ctx, d.ID, want[:1]); err != nil {
		t.Fatalf("Append rev 1: %v", err)
	}
	if err := db.Append(ctx, d.ID, want[1:]); err != nil {
		t.Fatalf("Append revs 2-3: %v", err)
	}
	got, err := db.Entries(ctx, d.ID, 1, 3)
	if err != nil {
		t.Fatalf("Entries: %v", err)
	}
	for i := range got {
		if got[i].Time.Location() != time.UTC {
			t.Errorf("entry %d time %v: want UTC", i, got[i].Time)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" { // time.Time has Equal, so cmp ignores the zone
		t.Errorf("Entries(1, 3) (-want +got):\n%s", diff)
	}

	for _, tc := range []struct{ from, to, first, n int }{
		{2, 2, 2, 1}, {2, 100, 2, 2}, {-5, 1, 1, 1}, {0, 0, 0, 0}, {3, 2, 0, 0}, {4, 9, 0, 0},
	} {
		got, err := db.Entries(ctx, d.ID, tc.from, tc.to)
		if err != nil {
			t.Errorf("Entries(%d, %d): %v", tc.from, tc.to, err)
			continue
		}
		if len(got) != tc.n || (tc.n > 0 && got[0].Rev != tc.first) {
			t.Errorf("Entries(%d, %d) = %d entries from rev %v; want %d from rev %d", tc.from, tc.to, len(got), revs(got), tc.n, tc.first)
		}
	}

	text, err := db.TextAt(ctx, d.ID, 3)
	if err != nil {
		t.Fatalf("TextAt: %v", err)
	}
	if wantText := "héllo 中文\n\"quoted\"\\🎉🇫🇷 世界"; text != wantText {
		t.Errorf("TextAt(3) = %q; want %q", text, wantText)
	}
	doc, err := db.GetDoc(ctx, d.ID)
	if err != nil {
		t.Fatalf("GetDoc: %v", err)
	}
	if doc.Rev != 3 || doc.Size != u16(text) || !doc.Updated.After(d.Updated) {
		t.Errorf("after appends doc = %+v; want rev 3, size %d, updated after %v", doc, u16(text), d.Updated)
	}
	docs, err := db.ListDocs(ctx)
	if err != nil || len(docs) != 1 || docs[0].Size != u16(text) {
		t.Errorf("ListDocs = %+v, %v; want one doc of size %d", docs, err, u16(text))
	}

	// A zero time is stored as the store's clock.
	if err := db.Append(ctx, d.ID, []oplog.Entry{{Rev: 4, Op: insertAt(u16(text), 0, "x"), Client: "c3", Seq: 1}}); err != nil {
		t.Fatalf("Append with zero time: %v", err)
	}
	got, err = db.Entries(ctx, d.ID, 4, 4)
	if err != nil || len(got) != 1 || got[0].Time.IsZero() || got[0].Time.Before(base) {
		t.Errorf("entry with zero time read back as %+v, %v; want the store clock's time", got, err)
	}

	// Appending nothing is a no-op, even at the wrong revision.
	if err := db.Append(ctx, d.ID, nil); err != nil {
		t.Errorf("Append(nil) = %v; want nil", err)
	}
}

func revs(es []oplog.Entry) []int {
	var r []int
	for _, e := range es {
		r = append(r, e.Rev)
	}
	return r
}

func TestAppendConflictWritesNothing(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	d := mustCreate(t, db, "t")
	e := func(rev int, client string, seq int, s string) oplog.Entry {
		// Each test entry appends s to a text of rev-1 units.
		return oplog.Entry{Rev: rev, Op: insertAt(rev-1, rev-1, s), Client: client, Seq: seq, Time: base}
	}
	if err := db.Append(ctx, d.ID, []oplog.Entry{e(1, "a", 1, "x"), e(2, "a", 2, "y")}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	before, err := db.GetDoc(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}

	unchanged := func(name string) {
		t.Helper()
		after, err := db.GetDoc(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("%s: document changed by a failed append (-before +after):\n%s", name, diff)
		}
		got, err := db.Entries(ctx, d.ID, 1, 100)
		if err != nil {
			t.Fatal(err)
		}
		if r := revs(got); len(r) != 2 || got[1].Client != "a" {
			t.Errorf("%s: log after a failed append has revs %v; want only [1 2] from a", name, r)
		}
	}
	check := func(name string, entries []oplog.Entry) {
		t.Helper()
		if err := db.Append(ctx, d.ID, entries); !errors.Is(err, oplog.ErrConflict) {
			t.Errorf("%s: Append = %v; want ErrConflict", name, err)
		}
		unchanged(name)
	}
	check("same rev twice", []oplog.Entry{e(2, "b", 1, "z")})
	check("gap", []oplog.Entry{e(4, "b", 1, "z")})
	check("not consecutive", []oplog.Entry{e(3, "b", 1, "z"), e(5, "b", 2, "z")})
	check("seq already applied", []oplog.Entry{e(3, "a", 2, "z")})
	check("seq repeated in a group", []oplog.Entry{e(3, "b", 1, "z"), e(4, "b", 1, "z")})

	// Another process's row at rev 3 that documents.rev does not show yet:
	// the primary key catches it.
	if _, err := db.writer.Exec(`INSERT INTO ops (doc, rev, op, client, seq, time, len_after) VALUES (?, 3, '[2,"q"]', 'other', 1, 0, 3)`, d.ID); err != nil {
		t.Fatal(err)
	}
	err = db.Append(ctx, d.ID, []oplog.Entry{e(3, "b", 1, "z")})
	if !errors.Is(err, oplog.ErrConflict) {
		t.Errorf("rev taken by another writer: Append = %v; want ErrConflict", err)
	}
	if _, err := db.writer.Exec(`DELETE FROM ops WHERE doc = ? AND client = 'other'`, d.ID); err != nil {
		t.Fatal(err)
	}
	unchanged("rev taken by another writer")

	// An op that does not span the text is refused, not a conflict.
	err = db.Append(ctx, d.ID, []oplog.Entry{{Rev: 3, Op: insertAt(5, 0, "z"), Client: "b", Seq: 1}})
	if !errors.Is(err, ot.ErrBaseLength) || errors.Is(err, oplog.ErrConflict) {
		t.Errorf("Append with a wrong base length = %v; want ot.ErrBaseLength", err)
	}
	// And the document still accepts the right next revision.
	if err := db.Append(ctx, d.ID, []oplog.Entry{e(3, "b", 1, "z")}); err != nil {
		t.Errorf("Append rev 3 after refusals: %v", err)
	}
}

func TestSeqs(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	d := mustCreate(t, db, "t")
	other := mustCreate(t, db, "u")

	if seqs, err := db.Seqs(ctx, d.ID); err != nil || len(seqs) != 0 {
		t.Errorf("Seqs before any op = %v, %v; want none", seqs, err)
	}
	// a: seqs 1, 2, 3 at revs 1, 3, 4; b: seq 7 at rev 2.
	var es []oplog.Entry
	for i, cs := range []struct {
		c string
		s int
	}{{"a", 1}, {"b", 7}, {"a", 2}, {"a", 3}} {
		es = append(es, oplog.Entry{Rev: i + 1, Op: insertAt(i, i, "x"), Client: cs.c, Seq: cs.s, Time: base})
	}
	if err := db.Append(ctx, d.ID, es); err != nil {
		t.Fatal(err)
	}
	if err := db.Append(ctx, other.ID, []oplog.Entry{{Rev: 1, Op: insertAt(0, 0, "y"), Client: "a", Seq: 9, Time: base}}); err != nil {
		t.Fatal(err)
	}
	seqs, err := db.Seqs(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{"a": 3, "b": 7}, seqs); diff != "" {
		t.Errorf("Seqs (-want +got):\n%s", diff)
	}
	// The query plan uses the (doc, client, seq) index, not the table.
	plan := queryPlan(t, db, `SELECT client, max(seq) FROM ops WHERE doc = 'x' GROUP BY client`)
	if !strings.Contains(plan, "COVERING INDEX") {
		t.Errorf("plan of Seqs = %q; want the (doc, client, seq) index", plan)
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

func TestTextAtEveryRevision(t *testing.T) {
	ctx := context.Background()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	db, _ := openTest(t)
	d := mustCreate(t, db, "t")

	texts := []string{""}
	rev := 0
	for rev < 200 {
		// Groups of 1 to 8 entries, as the hub commits them; a snapshot
		// now and then, as the hub saves them.
		var group []oplog.Entry
		for range r.IntN(8) + 1 {
			op, next := randomEdit(r, texts[rev])
			rev++
			group = append(group, oplog.Entry{Rev: rev, Op: op, Client: "c", Seq: rev, Time: base})
			texts = append(texts, next)
		}
		if err := db.Append(ctx, d.ID, group); err != nil {
			t.Fatalf("seed %d: Append revs %v: %v", seed, revs(group), err)
		}
		if r.IntN(5) == 0 {
			if err := db.SaveSnapshot(ctx, d.ID, rev, texts[rev]); err != nil {
				t.Fatalf("seed %d: SaveSnapshot(%d): %v", seed, rev, err)
			}
		}
	}
	for i, want := range texts {
		got, err := db.TextAt(ctx, d.ID, i)
		if err != nil {
			t.Fatalf("seed %d: TextAt(%d): %v", seed, i, err)
		}
		if got != want {
			t.Fatalf("seed %d: TextAt(%d) = %q; want %q", seed, i, got, want)
		}
	}
	for _, bad := range []int{-1, rev + 1} {
		if _, err := db.TextAt(ctx, d.ID, bad); !errors.Is(err, oplog.ErrNotFound) {
			t.Errorf("TextAt(%d) = %v; want ErrNotFound", bad, err)
		}
	}
	doc, err := db.GetDoc(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Rev != rev || doc.Size != u16(texts[rev]) {
		t.Errorf("doc rev %d size %d; want rev %d size %d", doc.Rev, doc.Size, rev, u16(texts[rev]))
	}
	// The size recorded at every revision matches the text.
	rows, err := db.reader.Query(`SELECT rev, len_after FROM ops WHERE doc = ? ORDER BY rev`, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var rv, n int
		if err := rows.Scan(&rv, &n); err != nil {
			t.Fatal(err)
		}
		if n != u16(texts[rv]) {
			t.Errorf("seed %d: len_after at rev %d = %d; want %d", seed, rv, n, u16(texts[rv]))
		}
	}
}

func TestSnapshotAndReplay(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	d := mustCreate(t, db, "t")

	// Text after rev i is "0123..." (i digits, mod 10).
	want := func(i int) string {
		var b strings.Builder
		for k := range i {
			fmt.Fprint(&b, k%10)
		}
		return b.String()
	}
	var es []oplog.Entry
	for i := 1; i <= 10; i++ {
		es = append(es, oplog.Entry{Rev: i, Op: insertAt(i-1, i-1, fmt.Sprint((i-1)%10)), Client: "c", Seq: i, Time: base})
	}
	if err := db.Append(ctx, d.ID, es); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveSnapshot(ctx, d.ID, 4, want(4)); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveSnapshot(ctx, d.ID, 7, want(7)); err != nil {
		t.Fatal(err)
	}
	if rev, text, err := db.Snapshot(ctx, d.ID); err != nil || rev != 7 || text != want(7) {
		t.Errorf("Snapshot = %d, %q, %v; want 7, %q", rev, text, err, want(7))
	}
	// Saving again at the same revision replaces it; past the log fails.
	if err := db.SaveSnapshot(ctx, d.ID, 7, want(7)); err != nil {
		t.Errorf("SaveSnapshot at an existing revision: %v", err)
	}
	if err := db.SaveSnapshot(ctx, d.ID, 11, want(11)); err == nil {
		t.Errorf("SaveSnapshot past the current revision succeeded; want an error")
	}

	// Cut the log before rev 7 (as compaction would): texts from rev 7 on
	// can only come from the snapshot plus replay.
	if _, err := db.writer.Exec(`DELETE FROM ops WHERE doc = ? AND rev <= 7`, d.ID); err != nil {
		t.Fatal(err)
	}
	for i := 7; i <= 10; i++ {
		if got, err := db.TextAt(ctx, d.ID, i); err != nil || got != want(i) {
			t.Errorf("TextAt(%d) from the snapshot = %q, %v; want %q", i, got, err, want(i))
		}
	}
	if got, err := db.TextAt(ctx, d.ID, 4); err != nil || got != want(4) {
		t.Errorf("TextAt(4) = %q, %v; want the rev 4 snapshot %q", got, err, want(4))
	}
	// Rev 5 needs the deleted log: the gap is reported, not papered over.
	if got, err := db.TextAt(ctx, d.ID, 5); err == nil {
		t.Errorf("TextAt(5) with its log gone = %q; want an error", got)
	}
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
	ms, err := loadMigrations()
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

func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	const writers, groups, perGroup = 6, 20, 5

	ids := make([]string, writers)
	for i := range ids {
		ids[i] = mustCreate(t, db, fmt.Sprint("doc ", i)).ID
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers*3)
	for w := range writers {
		// Writer: appends groups to its own document; ends after groups.
		wg.Go(func() {
			rev := 0
			for range groups {
				var es []oplog.Entry
				for range perGroup {
					es = append(es, oplog.Entry{Rev: rev + 1, Op: insertAt(rev, rev, "ab"[rev%2:rev%2+1]), Client: "w", Seq: rev + 1, Time: base})
					rev++
				}
				if err := db.Append(ctx, ids[w], es); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		})
		// Reader: reads what is committed so far; ends after a fixed
		// number of rounds. Every state it sees must be consistent.
		wg.Go(func() {
			for range groups * 2 {
				d, err := db.GetDoc(ctx, ids[w])
				if err != nil {
					errs <- fmt.Errorf("reader %d: %w", w, err)
					return
				}
				text, err := db.TextAt(ctx, ids[w], d.Rev)
				if err != nil {
					errs <- fmt.Errorf("reader %d: %w", w, err)
					return
				}
				if len(text) != d.Rev || d.Size != d.Rev {
					errs <- fmt.Errorf("reader %d: rev %d has text of %d bytes and size %d", w, d.Rev, len(text), d.Size)
					return
				}
				es, err := db.Entries(ctx, ids[w], 1, d.Rev)
				if err != nil || len(es) != d.Rev {
					errs <- fmt.Errorf("reader %d: Entries(1, %d) = %d entries, %v", w, d.Rev, len(es), err)
					return
				}
				if _, err := db.ListDocs(ctx); err != nil {
					errs <- fmt.Errorf("reader %d: %w", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for w, id := range ids {
		d, err := db.GetDoc(ctx, id)
		if err != nil || d.Rev != groups*perGroup {
			t.Errorf("doc %d after writers = %+v, %v; want rev %d", w, d, err, groups*perGroup)
		}
		if seqs, err := db.Seqs(ctx, id); err != nil || seqs["w"] != groups*perGroup {
			t.Errorf("Seqs doc %d = %v, %v; want w at %d", w, seqs, err, groups*perGroup)
		}
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
