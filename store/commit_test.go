package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/ot"
)

// gate holds the committer until want requests are queued, then lets it
// run freely. Every queue length the committer sees while held is sent on
// seen (if there is room).
type gate struct {
	want   int
	opened bool // only used by the committer, under its mutex
	seen   chan int
}

func holdUntil(db *DB, want int) *gate {
	g := &gate{want: want, seen: make(chan int, 1024)}
	db.c.mu.Lock()
	db.c.hold = func(n int) bool {
		select {
		case g.seen <- n:
		default:
		}
		g.opened = g.opened || n >= g.want
		return g.opened
	}
	db.c.mu.Unlock()
	return g
}

// release removes the gate: the committer takes requests as they come.
func release(db *DB) {
	db.c.mu.Lock()
	db.c.hold = nil
	db.c.mu.Unlock()
}

// waitQueued returns once the committer has seen n requests queued. The
// deadline only turns a hang into a failure.
func (g *gate) waitQueued(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		select {
		case m := <-g.seen:
			if m >= n {
				return
			}
		case <-deadline:
			t.Fatalf("the committer never saw %d requests queued", n)
		}
	}
}

// recordBatches returns a function that reports the size of every batch
// the committer has run so far.
func recordBatches(db *DB) func() []int {
	var mu sync.Mutex
	var sizes []int
	db.c.mu.Lock()
	db.c.onBatch = func(n int) {
		mu.Lock()
		sizes = append(sizes, n)
		mu.Unlock()
	}
	db.c.mu.Unlock()
	return func() []int {
		mu.Lock()
		defer mu.Unlock()
		return append([]int(nil), sizes...)
	}
}

// appendAsync starts an Append and returns the channel its error arrives on.
func appendAsync(ctx context.Context, db *DB, doc string, es []oplog.Entry) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- db.Append(ctx, doc, es) }()
	return ch
}

func TestAppendConcurrentDocuments(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	const docs, groups = 24, 25
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	batches := recordBatches(db)

	ids := make([]string, docs)
	for i := range ids {
		ids[i] = mustCreate(t, db, fmt.Sprint("doc ", i)).ID
	}
	sent := make([][]oplog.Entry, docs)
	texts := make([]string, docs)
	var wg sync.WaitGroup
	errs := make(chan error, docs)
	for w := range docs {
		// Appends groups of 1 to 3 entries to its own document; ends after
		// groups Appends or the first error.
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(w)))
			text, rev := "", 0
			for range groups {
				var es []oplog.Entry
				for range r.IntN(3) + 1 {
					op, next := randomEdit(r, text)
					rev++
					es = append(es, oplog.Entry{Rev: rev, Op: op, Client: fmt.Sprint("c", w), Seq: rev, Time: base.Add(time.Duration(rev))})
					text = next
				}
				if err := db.Append(ctx, ids[w], es); err != nil {
					errs <- fmt.Errorf("doc %d: Append revs %v: %w", w, revs(es), err)
					return
				}
				sent[w] = append(sent[w], es...)
			}
			texts[w] = text
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("seed %d: %v", seed, err)
	}
	if t.Failed() {
		return
	}
	for w, id := range ids {
		got, err := db.Entries(ctx, id, 1, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(sent[w], got); diff != "" {
			t.Errorf("seed %d: doc %d log (-sent +stored):\n%s", seed, w, diff)
		}
		d, err := db.GetDoc(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Rev != len(sent[w]) || d.Size != u16(texts[w]) {
			t.Errorf("seed %d: doc %d = rev %d size %d; want rev %d size %d", seed, w, d.Rev, d.Size, len(sent[w]), u16(texts[w]))
		}
		if text, err := db.TextAt(ctx, id, d.Rev); err != nil || text != texts[w] {
			t.Errorf("seed %d: doc %d TextAt(%d) = %q, %v; want %q", seed, w, d.Rev, text, err, texts[w])
		}
	}
	// How much sharing happened depends on scheduling: logged, not checked.
	n := 0
	for _, s := range batches() {
		n += s
	}
	t.Logf("%d Appends in %d transactions", n, len(batches()))
}

func TestAppendFailureInBatchIsItsOwn(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	a, b, c, e, f := mustCreate(t, db, "a"), mustCreate(t, db, "b"), mustCreate(t, db, "c"), mustCreate(t, db, "e"), mustCreate(t, db, "f")
	bFirst := []oplog.Entry{{Rev: 1, Op: insertAt(0, 0, "x"), Client: "b", Seq: 1, Time: base}}
	if err := db.Append(ctx, b.ID, bFirst); err != nil {
		t.Fatal(err)
	}

	batches := recordBatches(db)
	one := func(rev int, op ot.Op, client string, seq int) oplog.Entry {
		return oplog.Entry{Rev: rev, Op: op, Client: client, Seq: seq, Time: base}
	}
	aLog := []oplog.Entry{one(1, insertAt(0, 0, "A1"), "a", 1), one(2, insertAt(2, 2, "A2"), "a", 2)}
	reqs := []struct {
		name string
		doc  string
		es   []oplog.Entry
		want error // nil: succeeds
	}{
		{"first of a", a.ID, aLog[:1], nil},
		{"rev of b already taken", b.ID, []oplog.Entry{one(1, insertAt(0, 0, "y"), "b2", 1)}, oplog.ErrConflict},
		// Follows the first request, inside the same transaction.
		{"second of a", a.ID, aLog[1:], nil},
		{"missing document", "no-such-doc", []oplog.Entry{one(1, insertAt(0, 0, "z"), "g", 1)}, oplog.ErrNotFound},
		// Fails on its second row: its first must be rolled back too.
		{"seq repeated", c.ID, []oplog.Entry{one(1, insertAt(0, 0, "c"), "c", 1), one(2, insertAt(1, 1, "c"), "c", 1)}, oplog.ErrConflict},
		{"wrong base length", e.ID, []oplog.Entry{one(1, insertAt(5, 0, "e"), "e", 1)}, ot.ErrBaseLength},
		{"last of the batch", f.ID, []oplog.Entry{one(1, insertAt(0, 0, "F"), "f", 1)}, nil},
	}
	g := holdUntil(db, len(reqs))
	// Queued one at a time, so the batch runs them in this order.
	results := make([]<-chan error, len(reqs))
	for i, r := range reqs {
		results[i] = appendAsync(ctx, db, r.doc, r.es)
		g.waitQueued(t, i+1)
	}
	for i, r := range reqs {
		err := <-results[i]
		switch {
		case r.want == nil && err != nil:
			t.Errorf("%s: Append = %v; want success", r.name, err)
		case r.want != nil && !errors.Is(err, r.want):
			t.Errorf("%s: Append = %v; want %v", r.name, err, r.want)
		}
		for _, other := range []error{oplog.ErrConflict, oplog.ErrNotFound, ot.ErrBaseLength} {
			if other != r.want && errors.Is(err, other) {
				t.Errorf("%s: Append = %v; it must not wrap %v", r.name, err, other)
			}
		}
	}
	if got := batches(); !cmp.Equal(got, []int{len(reqs)}) {
		t.Fatalf("batch sizes = %v; want all %d requests in one", got, len(reqs))
	}

	for _, tc := range []struct {
		name       string
		id         string
		log        []oplog.Entry
		rev, size  int
		wantText   string
		unmodified bool
	}{
		{"a", a.ID, aLog, 2, 4, "A1A2", false},
		{"b", b.ID, bFirst, 1, 1, "x", true},
		{"c", c.ID, nil, 0, 0, "", true},
		{"e", e.ID, nil, 0, 0, "", true},
		{"f", f.ID, reqs[6].es, 1, 1, "F", false},
	} {
		got, err := db.Entries(ctx, tc.id, 1, 100)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.log, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("doc %s log (-want +got):\n%s", tc.name, diff)
		}
		d, err := db.GetDoc(ctx, tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Rev != tc.rev || d.Size != tc.size {
			t.Errorf("doc %s = rev %d size %d; want rev %d size %d", tc.name, d.Rev, d.Size, tc.rev, tc.size)
		}
		if text, err := db.TextAt(ctx, tc.id, tc.rev); err != nil || text != tc.wantText {
			t.Errorf("doc %s text = %q, %v; want %q", tc.name, text, err, tc.wantText)
		}
	}
	// The refused documents still take their next revision.
	release(db)
	if err := db.Append(ctx, c.ID, []oplog.Entry{one(1, insertAt(0, 0, "c"), "c", 1)}); err != nil {
		t.Errorf("Append to c after its refusal: %v", err)
	}
}

func TestAppendBatchBounds(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	batches := recordBatches(db)

	// By count: maxBatch+44 small requests queued at once.
	n := maxBatch + 44
	ids := make([]string, n)
	for i := range ids {
		ids[i] = mustCreate(t, db, "d").ID
	}
	holdUntil(db, n)
	var results []<-chan error
	for _, id := range ids {
		results = append(results, appendAsync(ctx, db, id, []oplog.Entry{{Rev: 1, Op: insertAt(0, 0, "x"), Client: "c", Seq: 1}}))
	}
	for i, ch := range results {
		if err := <-ch; err != nil {
			t.Errorf("Append %d: %v", i, err)
		}
	}
	if got, want := batches(), []int{maxBatch, 44}; !cmp.Equal(got, want) {
		t.Errorf("batch sizes for %d requests = %v; want %v", n, got, want)
	}

	// By size: requests of a little over maxBatchBytes/4 each, so three
	// fit in a batch and a fourth would not.
	big := strings.Repeat("x", maxBatchBytes/4)
	holdUntil(db, 5)
	results = results[:0]
	for _, id := range ids[:5] {
		results = append(results, appendAsync(ctx, db, id, []oplog.Entry{{Rev: 2, Op: insertAt(1, 1, big), Client: "c", Seq: 2}}))
	}
	for i, ch := range results {
		if err := <-ch; err != nil {
			t.Errorf("big Append %d: %v", i, err)
		}
	}
	if got, want := batches()[2:], []int{3, 2}; !cmp.Equal(got, want) {
		t.Errorf("batch sizes for 5 requests of %d bytes = %v; want %v", len(big), got, want)
	}
	for _, id := range ids[:5] {
		if d, err := db.GetDoc(ctx, id); err != nil || d.Rev != 2 || d.Size != 1+len(big) {
			t.Errorf("doc after the big Append = %+v, %v; want rev 2, size %d", d, err, 1+len(big))
		}
	}
}

func TestAppendContext(t *testing.T) {
	db, _ := openTest(t)
	a, b, c := mustCreate(t, db, "a"), mustCreate(t, db, "b"), mustCreate(t, db, "c")
	es := []oplog.Entry{{Rev: 1, Op: insertAt(0, 0, "x"), Client: "c", Seq: 1}}
	batches := recordBatches(db)

	// Canceled before the call: nothing queued.
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if err := db.Append(done, a.ID, es); !errors.Is(err, context.Canceled) {
		t.Errorf("Append with a canceled context = %v; want context.Canceled", err)
	}

	// Canceled while queued: dropped, and the batch goes on without it.
	g := holdUntil(db, 2)
	ctx, cancel := context.WithCancel(context.Background())
	queued := appendAsync(ctx, db, a.ID, es)
	g.waitQueued(t, 1)
	cancel()
	if err := <-queued; !errors.Is(err, context.Canceled) {
		t.Errorf("Append canceled while queued = %v; want context.Canceled", err)
	}
	first, second := appendAsync(context.Background(), db, b.ID, es), appendAsync(context.Background(), db, c.ID, es)
	if err1, err2 := <-first, <-second; err1 != nil || err2 != nil {
		t.Errorf("Appends after the canceled one = %v, %v; want success", err1, err2)
	}
	if got := batches(); !cmp.Equal(got, []int{2}) {
		t.Errorf("batch sizes = %v; want [2], without the canceled request", got)
	}
	if d, err := db.GetDoc(context.Background(), a.ID); err != nil || d.Rev != 0 {
		t.Errorf("doc of the canceled Append = %+v, %v; want rev 0", d, err)
	}

	// Canceled once taken: it completes.
	release(db)
	db.c.mu.Lock()
	started, proceed := make(chan struct{}), make(chan struct{})
	db.c.onBatch = func(int) {
		close(started)
		<-proceed
	}
	db.c.mu.Unlock()
	ctx, cancel = context.WithCancel(context.Background())
	taken := appendAsync(ctx, db, a.ID, es)
	<-started
	cancel()
	close(proceed)
	if err := <-taken; err != nil {
		t.Errorf("Append canceled after it was taken = %v; want success", err)
	}
	if d, err := db.GetDoc(context.Background(), a.ID); err != nil || d.Rev != 1 {
		t.Errorf("doc of the taken Append = %+v, %v; want rev 1", d, err)
	}
}

func TestCloseAnswersPendingAppends(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t)
	const n = 5
	ids := make([]string, n)
	for i := range ids {
		ids[i] = mustCreate(t, db, "d").ID
	}
	es := []oplog.Entry{{Rev: 1, Op: insertAt(0, 0, "x"), Client: "c", Seq: 1, Time: base}}
	// Never taken until Close.
	g := holdUntil(db, n+1)
	var results []<-chan error
	for _, id := range ids {
		results = append(results, appendAsync(ctx, db, id, es))
	}
	g.waitQueued(t, n)
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for i, ch := range results {
		// Close commits what was queued before it.
		if err := <-ch; err != nil {
			t.Errorf("Append %d pending at Close = %v; want success", i, err)
		}
	}
	if err := db.Append(ctx, ids[0], es); !errors.Is(err, errClosed) {
		t.Errorf("Append after Close = %v; want %v", err, errClosed)
	}

	db2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	for i, id := range ids {
		got, err := db2.Entries(ctx, id, 1, 10)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(es, got); diff != "" {
			t.Errorf("doc %d after reopen (-want +got):\n%s", i, diff)
		}
	}
}

func TestAppendCommitFailure(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	a, b := mustCreate(t, db, "a"), mustCreate(t, db, "b")
	es := []oplog.Entry{{Rev: 1, Op: insertAt(0, 0, "x"), Client: "c", Seq: 1, Time: base}}
	// A row whose foreign key is checked only at COMMIT makes the COMMIT
	// fail.
	db.c.mu.Lock()
	db.c.beforeCommit = func(tx *sql.Tx) error {
		if _, err := tx.Exec(`PRAGMA defer_foreign_keys = ON`); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO ops (doc, rev, op, client, seq, time, len_after) VALUES ('no-such-doc', 1, '["z"]', 'z', 1, 0, 1)`)
		return err
	}
	db.c.mu.Unlock()
	g := holdUntil(db, 3)
	okA := appendAsync(ctx, db, a.ID, es)
	g.waitQueued(t, 1)
	// Rev 1 of a is taken by the request before it.
	conflict := appendAsync(ctx, db, a.ID, []oplog.Entry{{Rev: 1, Op: insertAt(0, 0, "y"), Client: "d", Seq: 1}})
	g.waitQueued(t, 2)
	okB := appendAsync(ctx, db, b.ID, es)

	for name, ch := range map[string]<-chan error{"a": okA, "b": okB} {
		err := <-ch
		if err == nil || !strings.Contains(err.Error(), "commit") || errors.Is(err, oplog.ErrConflict) {
			t.Errorf("Append to %s in a batch whose COMMIT fails = %v; want the commit error", name, err)
		}
	}
	if err := <-conflict; !errors.Is(err, oplog.ErrConflict) {
		t.Errorf("Append with its own failure in that batch = %v; want ErrConflict", err)
	}
	for _, id := range []string{a.ID, b.ID} {
		if d, err := db.GetDoc(ctx, id); err != nil || d.Rev != 0 {
			t.Errorf("doc after a failed COMMIT = %+v, %v; want rev 0", d, err)
		}
	}

	// The writer connection is usable again.
	db.c.mu.Lock()
	db.c.hold, db.c.beforeCommit = nil, nil
	db.c.mu.Unlock()
	if err := db.Append(ctx, a.ID, es); err != nil {
		t.Errorf("Append after a failed COMMIT: %v", err)
	}
	if _, err := db.CreateDoc(ctx, "later"); err != nil {
		t.Errorf("CreateDoc after a failed COMMIT: %v", err)
	}
}

// BenchmarkAppendParallel: goroutines append one entry at a time, each to
// its own document, as busy hubs do. 8 goroutines per CPU, since each
// spends its time waiting on the disk rather than computing.
func BenchmarkAppendParallel(b *testing.B) {
	ctx := context.Background()
	db, _ := openTest(b)
	b.SetParallelism(8)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		d, err := db.CreateDoc(ctx, "bench")
		if err != nil {
			b.Error(err)
			return
		}
		rev := 0
		for pb.Next() {
			e := []oplog.Entry{{Rev: rev + 1, Op: insertAt(rev, rev, "x"), Client: "c", Seq: rev + 1, Time: base}}
			if err := db.Append(ctx, d.ID, e); err != nil {
				b.Error(err)
				return
			}
			rev++
		}
	})
}

// TestAppendTogether runs batches of requests for distinct documents,
// which are written in a few multi-row statements: refusals found by the
// checks are each request's own, and a refusal only the database sees (a
// repeated (client, seq)) sends the batch back to the request-by-request
// path, where it is that request's own too.
func TestAppendTogether(t *testing.T) {
	ctx := context.Background()
	one := func(rev int, op ot.Op, client string, seq int) oplog.Entry {
		return oplog.Entry{Rev: rev, Op: op, Client: client, Seq: seq, Time: base}
	}
	// Entries does not read authors back; Authorship shows them kept.
	authored := func(e oplog.Entry) oplog.Entry { e.Author = "au"; return e }
	for _, tc := range []struct {
		name         string
		seqRepeated  bool // one request repeats a (client, seq) already logged
		wantTogether bool
	}{
		{"checks only", false, true},
		{"a refusal in the statements", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := openTest(t)
			var docs []Doc
			for i := range 6 {
				docs = append(docs, mustCreate(t, db, fmt.Sprint("d", i)))
			}
			// d4 already holds client c4's seq 1.
			if err := db.Append(ctx, docs[4].ID, []oplog.Entry{one(1, insertAt(0, 0, "x"), "c4", 1)}); err != nil {
				t.Fatal(err)
			}
			var together []bool
			db.c.mu.Lock()
			db.c.onTogether = func(ok bool) { together = append(together, ok) }
			db.c.mu.Unlock()
			d4 := []oplog.Entry{one(2, insertAt(1, 1, "y"), "c4", 2)}
			if tc.seqRepeated {
				d4[0].Seq = 1
			}
			reqs := []struct {
				doc  string
				es   []oplog.Entry
				want error
			}{
				{docs[0].ID, []oplog.Entry{authored(one(1, insertAt(0, 0, "a"), "c0", 1)), authored(one(2, insertAt(1, 1, "b"), "c0", 2))}, nil},
				{docs[1].ID, []oplog.Entry{one(2, insertAt(0, 0, "z"), "c1", 1)}, oplog.ErrConflict},
				{"no-such-doc", []oplog.Entry{one(1, insertAt(0, 0, "z"), "c", 1)}, oplog.ErrNotFound},
				{docs[2].ID, []oplog.Entry{one(1, insertAt(3, 0, "z"), "c2", 1)}, ot.ErrBaseLength},
				{docs[3].ID, []oplog.Entry{one(1, insertAt(0, 0, "ok"), "c3", 7), one(2, insertAt(2, 2, "!"), "c3b", 1)}, nil},
				{docs[4].ID, d4, nil},
			}
			if tc.seqRepeated {
				reqs[5].want = oplog.ErrConflict
			}
			g := holdUntil(db, len(reqs))
			results := make([]<-chan error, len(reqs))
			for i, r := range reqs {
				results[i] = appendAsync(ctx, db, r.doc, r.es)
				g.waitQueued(t, i+1)
			}
			for i, r := range reqs {
				err := <-results[i]
				if (r.want == nil) != (err == nil) || (r.want != nil && !errors.Is(err, r.want)) {
					t.Errorf("request %d: Append = %v; want %v", i, err, r.want)
				}
			}
			if len(together) != 1 || together[0] != tc.wantTogether {
				t.Fatalf("written together: %v; want [%v]", together, tc.wantTogether)
			}
			for i, r := range reqs {
				if r.want != nil || r.doc == "no-such-doc" {
					continue
				}
				got, err := db.Entries(ctx, r.doc, r.es[0].Rev, 100)
				if err != nil {
					t.Fatal(err)
				}
				want := slices.Clone(r.es)
				for k := range want {
					want[k].Author = ""
				}
				if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("request %d's log (-want +got):\n%s", i, diff)
				}
				d, err := db.GetDoc(ctx, r.doc)
				if err != nil {
					t.Fatal(err)
				}
				if last := r.es[len(r.es)-1]; d.Rev != last.Rev {
					t.Errorf("request %d: document at rev %d; want %d", i, d.Rev, last.Rev)
				}
			}
			spans, err := db.Authorship(ctx, docs[0].ID, 2)
			if err != nil {
				t.Fatal(err)
			}
			if !cmp.Equal(spans, []oplog.Span{{Len: 2, Author: "au"}}) {
				t.Errorf("authorship of d0 = %v; want 2 units by au", spans)
			}
			// The highest seqs moved with the logs, and the refused left
			// nothing.
			seqs, err := db.Seqs(ctx, docs[3].ID)
			if err != nil {
				t.Fatal(err)
			}
			if !cmp.Equal(seqs, map[string]int{"c3": 7, "c3b": 1}) {
				t.Errorf("seqs of d3 = %v; want c3:7 c3b:1", seqs)
			}
			for _, d := range []Doc{docs[1], docs[2]} {
				if got, _ := db.GetDoc(ctx, d.ID); got.Rev != 0 {
					t.Errorf("refused document %s moved to rev %d", d.Title, got.Rev)
				}
			}
			if tc.seqRepeated {
				if got, _ := db.GetDoc(ctx, docs[4].ID); got.Rev != 1 {
					t.Errorf("d4 at rev %d after its refused request; want 1", got.Rev)
				}
			}
		})
	}
}
