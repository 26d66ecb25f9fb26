package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/store"
)

func testAppendEntriesRoundTrip(t *testing.T, s Store, _ Tables) {
	ctx := context.Background()
	d, err := s.CreateDoc(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	paris := time.FixedZone("CEST", 2*60*60)
	want := []oplog.Entry{
		{Rev: 1, Op: InsertAt(0, 0, "héllo 😀 世界"), Client: "c1", Seq: 1, Time: Base.In(paris)},
		{Rev: 2, Op: InsertAt(11, 8, "🎉🇫🇷"), Client: "c2", Seq: 1, Time: Base.Add(time.Nanosecond)},
	}
	// Delete the emoji (2 units) after "héllo ", insert CJK and a newline.
	var del ot.Op
	del.Retain(6).Delete(2).Insert("中文\n\"quoted\"\\").Retain(11 + 6 - 8)
	want = append(want, oplog.Entry{Rev: 3, Op: del, Client: "c1", Seq: 2, Time: Base.Add(time.Second)})

	if err := s.Append(ctx, d.ID, want[:1]); err != nil {
		t.Fatalf("Append rev 1: %v", err)
	}
	if err := s.Append(ctx, d.ID, want[1:]); err != nil {
		t.Fatalf("Append revs 2-3: %v", err)
	}
	got, err := s.Entries(ctx, d.ID, 1, 3)
	if err != nil {
		t.Fatalf("Entries: %v", err)
	}
	for i := range got {
		if got[i].Time.Location() != time.UTC {
			t.Errorf("entry %d time %v: want UTC", i, got[i].Time)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" { // time.Time has Equal, so cmp ignores the zone, not the nanoseconds
		t.Errorf("Entries(1, 3) (-want +got):\n%s", diff)
	}

	for _, tc := range []struct{ from, to, first, n int }{
		{2, 2, 2, 1}, {2, 100, 2, 2}, {-5, 1, 1, 1}, {0, 0, 0, 0}, {3, 2, 0, 0}, {4, 9, 0, 0},
	} {
		got, err := s.Entries(ctx, d.ID, tc.from, tc.to)
		if err != nil {
			t.Errorf("Entries(%d, %d): %v", tc.from, tc.to, err)
			continue
		}
		if len(got) != tc.n || (tc.n > 0 && got[0].Rev != tc.first) {
			t.Errorf("Entries(%d, %d) = %d entries from rev %v; want %d from rev %d", tc.from, tc.to, len(got), Revs(got), tc.n, tc.first)
		}
	}

	text, err := s.TextAt(ctx, d.ID, 3)
	if err != nil {
		t.Fatalf("TextAt: %v", err)
	}
	if wantText := "héllo 中文\n\"quoted\"\\🎉🇫🇷 世界"; text != wantText {
		t.Errorf("TextAt(3) = %q; want %q", text, wantText)
	}
	doc, err := s.GetDoc(ctx, d.ID)
	if err != nil {
		t.Fatalf("GetDoc: %v", err)
	}
	if doc.Rev != 3 || doc.Size != U16(text) || !doc.Updated.After(d.Updated) {
		t.Errorf("after appends doc = %+v; want rev 3, size %d, updated after %v", doc, U16(text), d.Updated)
	}
	docs, err := s.ListDocs(ctx)
	if err != nil || len(docs) != 1 || docs[0].Size != U16(text) || docs[0].Rev != 3 {
		t.Errorf("ListDocs = %+v, %v; want one doc of rev 3, size %d", docs, err, U16(text))
	}

	// A zero time is stored as the store's clock.
	if err := s.Append(ctx, d.ID, []oplog.Entry{{Rev: 4, Op: InsertAt(U16(text), 0, "x"), Client: "c3", Seq: 1}}); err != nil {
		t.Fatalf("Append with zero time: %v", err)
	}
	got, err = s.Entries(ctx, d.ID, 4, 4)
	if err != nil || len(got) != 1 || got[0].Time.IsZero() || !got[0].Time.After(Base) {
		t.Errorf("entry with zero time read back as %+v, %v; want the store clock's time", got, err)
	}

	// Appending nothing is a no-op, even at the wrong revision.
	if err := s.Append(ctx, d.ID, nil); err != nil {
		t.Errorf("Append(nil) = %v; want nil", err)
	}
	// A context already done writes nothing.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Append(cctx, d.ID, []oplog.Entry{{Rev: 5, Op: InsertAt(U16(text)+1, 0, "y"), Client: "c3", Seq: 2}}); !errors.Is(err, context.Canceled) {
		t.Errorf("Append with a cancelled context = %v; want context.Canceled", err)
	}
	if doc, err := s.GetDoc(ctx, d.ID); err != nil || doc.Rev != 4 {
		t.Errorf("after a cancelled Append doc = %+v, %v; want rev 4", doc, err)
	}
}

func testAppendConflictWritesNothing(t *testing.T, s Store, tb Tables) {
	ctx := context.Background()
	id := mustCreate(t, s, "t")
	e := func(rev int, client string, seq int, str string) oplog.Entry {
		// Each test entry appends str to a text of rev-1 units.
		return oplog.Entry{Rev: rev, Op: InsertAt(rev-1, rev-1, str), Client: client, Seq: seq, Time: Base}
	}
	if err := s.Append(ctx, id, []oplog.Entry{e(1, "a", 1, "x"), e(2, "a", 2, "y")}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	before, err := s.GetDoc(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	seqsBefore, err := s.Seqs(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	unchanged := func(name string) {
		t.Helper()
		after, err := s.GetDoc(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("%s: document changed by a failed append (-before +after):\n%s", name, diff)
		}
		got, err := s.Entries(ctx, id, 1, 100)
		if err != nil {
			t.Fatal(err)
		}
		if r := Revs(got); len(r) != 2 || got[1].Client != "a" {
			t.Errorf("%s: log after a failed append has revs %v; want only [1 2] from a", name, r)
		}
		if seqs, err := s.Seqs(ctx, id); err != nil || !cmp.Equal(seqs, seqsBefore) {
			t.Errorf("%s: Seqs after a failed append = %v, %v; want %v", name, seqs, err, seqsBefore)
		}
	}
	check := func(name string, entries []oplog.Entry) {
		t.Helper()
		if err := s.Append(ctx, id, entries); !errors.Is(err, oplog.ErrConflict) {
			t.Errorf("%s: Append = %v; want ErrConflict", name, err)
		}
		unchanged(name)
	}
	check("same rev twice", []oplog.Entry{e(2, "b", 1, "z")})
	check("gap", []oplog.Entry{e(4, "b", 1, "z")})
	check("not consecutive", []oplog.Entry{e(3, "b", 1, "z"), e(5, "b", 2, "z")})
	check("seq already applied", []oplog.Entry{e(3, "a", 2, "z")})
	check("seq repeated in a group", []oplog.Entry{e(3, "b", 1, "z"), e(4, "b", 1, "z")})
	check("seq already applied, late in a group", []oplog.Entry{e(3, "b", 1, "z"), e(4, "b", 2, "z"), e(5, "a", 1, "z")})

	// Another process's row at rev 3 that the document's row does not
	// show yet: the log's key on (doc, rev) catches it.
	if err := tb.InsertOp(ctx, id, 3, json.RawMessage(`[2,"q"]`), "other", 1, 3); err != nil {
		t.Fatal(err)
	}
	err = s.Append(ctx, id, []oplog.Entry{e(3, "b", 1, "z")})
	if !errors.Is(err, oplog.ErrConflict) {
		t.Errorf("rev taken by another writer: Append = %v; want ErrConflict", err)
	}
	if err := tb.DeleteOps(ctx, id, "other"); err != nil {
		t.Fatal(err)
	}
	unchanged("rev taken by another writer")

	// An op that does not span the text is refused, not a conflict.
	err = s.Append(ctx, id, []oplog.Entry{{Rev: 3, Op: InsertAt(5, 0, "z"), Client: "b", Seq: 1}})
	if !errors.Is(err, ot.ErrBaseLength) || errors.Is(err, oplog.ErrConflict) {
		t.Errorf("Append with a wrong base length = %v; want ot.ErrBaseLength", err)
	}
	unchanged("wrong base length")
	// Errors say which document and revision.
	if err == nil || !strings.Contains(err.Error(), id) || !strings.Contains(err.Error(), "rev 3") {
		t.Errorf("error %q: want the document %s and rev 3 in it", err, id)
	}
	// And the document still accepts the right next revision.
	if err := s.Append(ctx, id, []oplog.Entry{e(3, "b", 1, "z")}); err != nil {
		t.Errorf("Append rev 3 after refusals: %v", err)
	}
}

// Writers that all believe the document is at revision 2 race to write
// revision 3 (as two server processes would): exactly one wins, the others
// get ErrConflict, and the log holds the winner's op alone.
func testAppendRace(t *testing.T, s Store, _ Tables) {
	ctx := context.Background()
	id := mustCreate(t, s, "t")
	appendN(t, s, id, 0, 2)
	const writers = 8
	errs := make([]error, writers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range writers {
		// Ends after one Append.
		wg.Go(func() {
			<-start
			errs[w] = s.Append(ctx, id, []oplog.Entry{
				{Rev: 3, Op: InsertAt(2, 2, fmt.Sprint(w)), Client: fmt.Sprint("w", w), Seq: 1, Time: Base},
				{Rev: 4, Op: InsertAt(3, 3, "!"), Client: fmt.Sprint("w", w), Seq: 2, Time: Base},
			})
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for w, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("writers %d and %d both wrote revision 3", winner, w)
		case err == nil:
			winner = w
		case !errors.Is(err, oplog.ErrConflict):
			t.Errorf("writer %d: Append = %v; want nil or ErrConflict", w, err)
		}
	}
	if winner < 0 {
		t.Fatalf("no writer wrote revision 3: %v", errs)
	}
	want := fmt.Sprint("xx", winner, "!")
	if text, err := s.TextAt(ctx, id, 4); err != nil || text != want {
		t.Errorf("TextAt(4) = %q, %v; want %q", text, err, want)
	}
	d, err := s.GetDoc(ctx, id)
	if err != nil || d.Rev != 4 || d.Size != 4 {
		t.Errorf("doc after the race = %+v, %v; want rev 4 size 4", d, err)
	}
	seqs, err := s.Seqs(ctx, id)
	if diff := cmp.Diff(map[string]int{"c": 2, fmt.Sprint("w", winner): 2}, seqs); err != nil || diff != "" {
		t.Errorf("Seqs after the race (-want +got), %v:\n%s", err, diff)
	}
}

func testAppendToTrashedDoc(t *testing.T, s Store, _ Tables) {
	ctx := context.Background()
	id := mustCreate(t, s, "t")
	appendN(t, s, id, 0, 1)
	if _, err := s.TrashDoc(ctx, id, Base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	err := s.Append(ctx, id, []oplog.Entry{{Rev: 2, Op: InsertAt(1, 1, "y"), Client: "c", Seq: 2}})
	if !errors.Is(err, oplog.ErrNotFound) {
		t.Errorf("Append to a trashed doc = %v; want ErrNotFound", err)
	}
	if d, err := s.GetDoc(ctx, id); err != nil || d.Rev != 1 {
		t.Errorf("trashed doc after a refused Append = %+v, %v; want rev 1", d, err)
	}
}

func testSeqs(t *testing.T, s Store, _ Tables) {
	ctx := context.Background()
	id := mustCreate(t, s, "t")
	other := mustCreate(t, s, "u")
	if seqs, err := s.Seqs(ctx, id); err != nil || len(seqs) != 0 {
		t.Errorf("Seqs before any op = %v, %v; want none", seqs, err)
	}
	// a: seqs 1, 2, 3 at revs 1, 3, 4; b: seq 7 at rev 2.
	var es []oplog.Entry
	for i, cs := range []struct {
		c string
		s int
	}{{"a", 1}, {"b", 7}, {"a", 2}, {"a", 3}} {
		es = append(es, oplog.Entry{Rev: i + 1, Op: InsertAt(i, i, "x"), Client: cs.c, Seq: cs.s, Time: Base})
	}
	if err := s.Append(ctx, id, es); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, other, []oplog.Entry{{Rev: 1, Op: InsertAt(0, 0, "y"), Client: "a", Seq: 9, Time: Base}}); err != nil {
		t.Fatal(err)
	}
	// A later, lower seq (a client that started again) does not lower the
	// highest.
	if err := s.Append(ctx, id, []oplog.Entry{{Rev: 5, Op: InsertAt(4, 4, "x"), Client: "b", Seq: 3, Time: Base}}); err != nil {
		t.Fatal(err)
	}
	seqs, err := s.Seqs(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{"a": 3, "b": 7}, seqs); diff != "" {
		t.Errorf("Seqs (-want +got):\n%s", diff)
	}
	if seqs, err := s.Seqs(ctx, other); err != nil || !cmp.Equal(seqs, map[string]int{"a": 9}) {
		t.Errorf("Seqs of the other doc = %v, %v; want a: 9", seqs, err)
	}
}

func testTextAtEveryRevision(t *testing.T, s Store, tb Tables) {
	ctx := context.Background()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	id := mustCreate(t, s, "t")

	texts := []string{""}
	rev := 0
	for rev < 200 {
		// Groups of 1 to 8 entries, as the hub commits them; a snapshot
		// now and then, as the hub saves them.
		var group []oplog.Entry
		for range r.IntN(8) + 1 {
			op, next := RandomEdit(r, texts[rev])
			rev++
			group = append(group, oplog.Entry{Rev: rev, Op: op, Client: "c", Seq: rev, Time: Base})
			texts = append(texts, next)
		}
		if err := s.Append(ctx, id, group); err != nil {
			t.Fatalf("seed %d: Append revs %v: %v", seed, Revs(group), err)
		}
		if r.IntN(5) == 0 {
			if err := s.SaveSnapshot(ctx, id, rev, texts[rev]); err != nil {
				t.Fatalf("seed %d: SaveSnapshot(%d): %v", seed, rev, err)
			}
		}
	}
	for i, want := range texts {
		got, err := s.TextAt(ctx, id, i)
		if err != nil {
			t.Fatalf("seed %d: TextAt(%d): %v", seed, i, err)
		}
		if got != want {
			t.Fatalf("seed %d: TextAt(%d) = %q; want %q", seed, i, got, want)
		}
	}
	for _, bad := range []int{-1, rev + 1} {
		if _, err := s.TextAt(ctx, id, bad); !errors.Is(err, oplog.ErrNotFound) {
			t.Errorf("TextAt(%d) = %v; want ErrNotFound", bad, err)
		}
	}
	doc, err := s.GetDoc(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Rev != rev || doc.Size != U16(texts[rev]) {
		t.Errorf("doc rev %d size %d; want rev %d size %d", doc.Rev, doc.Size, rev, U16(texts[rev]))
	}
	// The size recorded at every revision matches the text.
	lens, err := tb.LogLens(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(lens) != rev {
		t.Errorf("log has %d rows; want %d", len(lens), rev)
	}
	for rv, n := range lens {
		if n != U16(texts[rv]) {
			t.Errorf("seed %d: len_after at rev %d = %d; want %d", seed, rv, n, U16(texts[rv]))
		}
	}
}

func testSnapshotAndReplay(t *testing.T, s Store, tb Tables) {
	ctx := context.Background()
	id := mustCreate(t, s, "t")
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
		es = append(es, oplog.Entry{Rev: i, Op: InsertAt(i-1, i-1, fmt.Sprint((i-1)%10)), Client: "c", Seq: i, Time: Base})
	}
	if err := s.Append(ctx, id, es); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSnapshot(ctx, id, 4, want(4)); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSnapshot(ctx, id, 7, "wrong, replaced below"); err != nil {
		t.Fatal(err)
	}
	// Saving again at the same revision replaces it; past the log or
	// before 0 fails.
	if err := s.SaveSnapshot(ctx, id, 7, want(7)); err != nil {
		t.Errorf("SaveSnapshot at an existing revision: %v", err)
	}
	if rev, text, err := s.Snapshot(ctx, id); err != nil || rev != 7 || text != want(7) {
		t.Errorf("Snapshot = %d, %q, %v; want 7, %q", rev, text, err, want(7))
	}
	for _, bad := range []int{11, -1} {
		if err := s.SaveSnapshot(ctx, id, bad, "x"); err == nil {
			t.Errorf("SaveSnapshot at rev %d (current 10) succeeded; want an error", bad)
		}
	}
	if revs, err := tb.SnapshotRevs(ctx, id); err != nil || !cmp.Equal(revs, []int{0, 4, 7}) {
		t.Errorf("snapshots = %v, %v; want [0 4 7]", revs, err)
	}

	// Cut the log up to rev 7 (as compaction would): texts from rev 7 on
	// can only come from the snapshot plus replay.
	if err := tb.DeleteLog(ctx, id, 7); err != nil {
		t.Fatal(err)
	}
	for i := 7; i <= 10; i++ {
		if got, err := s.TextAt(ctx, id, i); err != nil || got != want(i) {
			t.Errorf("TextAt(%d) from the snapshot = %q, %v; want %q", i, got, err, want(i))
		}
	}
	if got, err := s.TextAt(ctx, id, 4); err != nil || got != want(4) {
		t.Errorf("TextAt(4) = %q, %v; want the rev 4 snapshot %q", got, err, want(4))
	}
	// Rev 5 needs the deleted log: the gap is reported, not papered over.
	if got, err := s.TextAt(ctx, id, 5); err == nil {
		t.Errorf("TextAt(5) with its log gone = %q; want an error", got)
	}
}

// Whatever a document may hold reads back as it was written: NUL, control
// characters, every plane of Unicode.
func testAnyText(t *testing.T, s Store, _ Tables) {
	ctx := context.Background()
	id := mustCreate(t, s, "t")
	text := "a\x00b\x01\t\r\n\u2028\U0010FFFF😀\\'\"%_$1?"
	if err := s.Append(ctx, id, []oplog.Entry{{Rev: 1, Op: InsertAt(0, 0, text), Client: "c", Seq: 1, Time: Base}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSnapshot(ctx, id, 1, text); err != nil {
		t.Fatal(err)
	}
	if rev, got, err := s.Snapshot(ctx, id); err != nil || rev != 1 || got != text {
		t.Errorf("Snapshot = %d, %q, %v; want 1, %q", rev, got, err, text)
	}
	if got, err := s.TextAt(ctx, id, 1); err != nil || got != text {
		t.Errorf("TextAt(1) = %q, %v; want %q", got, err, text)
	}
	es, err := s.Entries(ctx, id, 1, 1)
	if err != nil || len(es) != 1 || es[0].Client != "c" || !cmp.Equal(es[0].Op, InsertAt(0, 0, text)) {
		t.Errorf("Entries = %+v, %v; want the op and client as appended", es, err)
	}
}

// PruneSnapshots keeps the oldest snapshot of the range and the one at
// revision 0, and every revision still reads back from what is left.
func testPruneSnapshots(t *testing.T, s Store, tb Tables) {
	ctx := context.Background()
	id := mustCreate(t, s, "t")
	other := mustCreate(t, s, "other")
	appendN(t, s, id, 0, 30)
	appendN(t, s, other, 0, 30)
	for _, rev := range []int{3, 10, 12, 15, 18, 25} {
		if err := s.SaveSnapshot(ctx, id, rev, strings.Repeat("x", rev)); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveSnapshot(ctx, other, rev, strings.Repeat("x", rev)); err != nil {
			t.Fatal(err)
		}
	}
	snaps := func() []int {
		t.Helper()
		revs, err := tb.SnapshotRevs(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return revs
	}
	if err := s.PruneSnapshots(ctx, id, 10, 18); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{0, 3, 10, 18, 25}, snaps()); diff != "" {
		t.Fatalf("snapshots after pruning [10, 18) (-want +got):\n%s", diff)
	}
	// As the hub calls it after saving 25: everything before it in the
	// range goes but the oldest (here the one at 0, which always stays).
	if err := s.PruneSnapshots(ctx, id, 0, 25); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{0, 25}, snaps()); diff != "" {
		t.Fatalf("snapshots after pruning [0, 25) (-want +got):\n%s", diff)
	}
	for rev := 0; rev <= 30; rev++ {
		got, err := s.TextAt(ctx, id, rev)
		if err != nil || got != strings.Repeat("x", rev) {
			t.Fatalf("TextAt(%d) = %q, %v; want %d x", rev, got, err, rev)
		}
	}
	// The other document's snapshots are its own.
	if revs, err := tb.SnapshotRevs(ctx, other); err != nil || !cmp.Equal(revs, []int{0, 3, 10, 12, 15, 18, 25}) {
		t.Errorf("the other document's snapshots = %v, %v; want all of them", revs, err)
	}
}

func testRawPage(t *testing.T, s Store, _ Tables) {
	ctx := context.Background()
	id := mustCreate(t, s, "t")
	empty := mustCreate(t, s, "empty")

	// Ops of about 10, 1,000, 10 and 100 bytes of JSON; the third has
	// authors of its own.
	sizes := []int{10, 1000, 10, 100}
	var es []oplog.Entry
	n := 0
	for i, size := range sizes {
		str := strings.Repeat("x", size)
		e := oplog.Entry{Rev: i + 1, Op: InsertAt(n, n, str), Client: "c", Seq: i + 1, Time: Base, Author: "ann"}
		if i == 2 {
			e.Inserts = []oplog.Span{{Len: 4, Author: "bob"}, {Len: 6, Author: ""}}
		}
		es = append(es, e)
		n += len(str)
	}
	if err := s.Append(ctx, id, es); err != nil {
		t.Fatal(err)
	}
	ops := make([]string, len(es))
	for i, e := range es {
		b, err := json.Marshal(e.Op)
		if err != nil {
			t.Fatal(err)
		}
		ops[i] = string(b)
	}
	l1, l2, l3, l4 := len(ops[0]), len(ops[1]), len(ops[2]), len(ops[3])

	for _, tc := range []struct {
		name               string
		from, to, maxBytes int
		want               []int // revisions
	}{
		{"everything fits", 1, 4, 1 << 20, []int{1, 2, 3, 4}},
		{"stops before the entry that would go over", 1, 4, l1 + l2 - 1, []int{1}},
		{"an entry that ends exactly at the bound is in", 1, 4, l1 + l2, []int{1, 2}},
		{"the first entry is in however large", 2, 4, 1, []int{2}},
		{"a page after a large entry", 3, 4, l3 + l4, []int{3, 4}},
		{"to bounds the page", 1, 3, 1 << 20, []int{1, 2, 3}},
		{"from below 1 counts as 1", -3, 1, 1 << 20, []int{1}},
		{"past the log", 5, 9, 1 << 20, nil},
		{"from above to", 3, 2, 1 << 20, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.RawPage(ctx, id, tc.from, tc.to, tc.maxBytes)
			if err != nil {
				t.Fatalf("RawPage(%d, %d, %d): %v", tc.from, tc.to, tc.maxBytes, err)
			}
			var want []store.RawEntry
			for _, rev := range tc.want {
				e := es[rev-1]
				want = append(want, store.RawEntry{Rev: rev, Op: json.RawMessage(ops[rev-1]), Client: "c", Seq: rev, Time: Base,
					Author: e.Author, Inserts: e.Inserts})
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("RawPage(%d, %d, %d) (-want +got):\n%s", tc.from, tc.to, tc.maxBytes, diff)
			}
			// EntriesPage pages the same way.
			dec, err := s.EntriesPage(ctx, id, tc.from, tc.to, tc.maxBytes)
			if err != nil || !cmp.Equal(Revs(dec), tc.want) {
				t.Errorf("EntriesPage(%d, %d, %d) = revs %v, %v; want %v", tc.from, tc.to, tc.maxBytes, Revs(dec), err, tc.want)
			}
		})
	}

	// Every op read back decodes to the op appended.
	got, err := s.RawPage(ctx, id, 1, 4, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range got {
		var op ot.Op
		if err := json.Unmarshal(e.Op, &op); err != nil || !cmp.Equal(op, es[i].Op) {
			t.Errorf("entry %d op %s decodes to %v, %v; want %v", i+1, e.Op, op, err, es[i].Op)
		}
	}
	if got, err := s.RawPage(ctx, empty, 1, 10, 100); err != nil || len(got) != 0 {
		t.Errorf("RawPage of an empty document = %v, %v; want none and no error", got, err)
	}
	if _, err := s.RawPage(ctx, "no-such-doc", 1, 10, 100); !errors.Is(err, oplog.ErrNotFound) {
		t.Errorf("RawPage of a missing document: got %v, want ErrNotFound", err)
	}
}

// A page of a long log (longer than any one query a store may make) holds
// every entry in order, up to the bound and no further.
func testLongLogPages(t *testing.T, s Store, _ Tables) {
	ctx := context.Background()
	id := mustCreate(t, s, "t")
	const n = 1500
	for from := 0; from < n; from += 500 {
		appendN(t, s, id, from, 500)
	}
	all, err := s.RawPage(ctx, id, 1, n, 1<<30)
	if err != nil || len(all) != n {
		t.Fatalf("RawPage(1, %d) = %d entries, %v; want %d", n, len(all), err, n)
	}
	size := 0
	for i, e := range all {
		if e.Rev != i+1 {
			t.Fatalf("entry %d has rev %d; want %d", i, e.Rev, i+1)
		}
		if i < 1200 {
			size += len(e.Op)
		}
	}
	// A bound that falls inside entry 1201 stops the page at 1200.
	page, err := s.RawPage(ctx, id, 1, n, size+len(all[1200].Op)-1)
	if err != nil || len(page) != 1200 || page[len(page)-1].Rev != 1200 {
		t.Errorf("RawPage bounded at %d bytes = %d entries, %v; want 1200", size+len(all[1200].Op)-1, len(page), err)
	}
	es, err := s.Entries(ctx, id, 700, n)
	if err != nil || len(es) != n-699 || es[0].Rev != 700 || es[len(es)-1].Rev != n {
		t.Errorf("Entries(700, %d) = %d entries, %v; want %d from 700", n, len(es), err, n-699)
	}
}

func testConcurrentUse(t *testing.T, s Store, _ Tables) {
	ctx := context.Background()
	const writers, groups, perGroup = 6, 20, 5
	ids := make([]string, writers)
	for i := range ids {
		ids[i] = mustCreate(t, s, fmt.Sprint("doc ", i))
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
					es = append(es, oplog.Entry{Rev: rev + 1, Op: InsertAt(rev, rev, "ab"[rev%2:rev%2+1]), Client: "w", Seq: rev + 1, Time: Base})
					rev++
				}
				if err := s.Append(ctx, ids[w], es); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		})
		// Reader: reads what is committed so far; ends after a fixed
		// number of rounds. Every state it sees must be consistent.
		wg.Go(func() {
			for range groups * 2 {
				d, err := s.GetDoc(ctx, ids[w])
				if err != nil {
					errs <- fmt.Errorf("reader %d: %w", w, err)
					return
				}
				text, err := s.TextAt(ctx, ids[w], d.Rev)
				if err != nil {
					errs <- fmt.Errorf("reader %d: %w", w, err)
					return
				}
				if len(text) != d.Rev || d.Size != d.Rev {
					errs <- fmt.Errorf("reader %d: rev %d has text of %d bytes and size %d", w, d.Rev, len(text), d.Size)
					return
				}
				es, err := s.Entries(ctx, ids[w], 1, d.Rev)
				if err != nil || len(es) != d.Rev {
					errs <- fmt.Errorf("reader %d: Entries(1, %d) = %d entries, %v", w, d.Rev, len(es), err)
					return
				}
				if _, err := s.ListDocs(ctx); err != nil {
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
		d, err := s.GetDoc(ctx, id)
		if err != nil || d.Rev != groups*perGroup {
			t.Errorf("doc %d after writers = %+v, %v; want rev %d", w, d, err, groups*perGroup)
		}
		if seqs, err := s.Seqs(ctx, id); err != nil || seqs["w"] != groups*perGroup {
			t.Errorf("Seqs doc %d = %v, %v; want w at %d", w, seqs, err, groups*perGroup)
		}
	}
}
