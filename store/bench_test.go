package store

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/ot"
)

// bigDoc is a document whose snapshot holds 2,000,000 characters, followed
// in the log by 1,000 small random inserts and deletes.
type bigDoc struct {
	id   string
	snap string        // the snapshot's text
	ops  []oplog.Entry // the log after the snapshot
	rev  int           // the current revision
	want string        // the text at rev, computed by splicing bytes
}

// newBigDoc writes a bigDoc into db: revision 1 types the whole text (so
// that the log spans it), the snapshot is at revision 1, then the ops.
func newBigDoc(b *testing.B, db *DB) *bigDoc {
	b.Helper()
	ctx := context.Background()
	const size, nops = 2_000_000, 1000
	snap := strings.Repeat("The quick brown fox jumps over the lazy dog.\n", size/45+1)[:size]
	d := &bigDoc{id: mustCreate(b, db, "big").ID, snap: snap}
	var first ot.Op
	first.Insert(snap)
	if err := db.Append(ctx, d.id, []oplog.Entry{{Rev: 1, Op: first, Client: "w", Seq: 1, Time: base}}); err != nil {
		b.Fatal(err)
	}
	if err := db.SaveSnapshot(ctx, d.id, 1, snap); err != nil {
		b.Fatal(err)
	}
	// Small edits at random places (ASCII, so a byte is a UTF-16 unit),
	// and the expected text by plain byte splicing, not by ot.
	rng := rand.New(rand.NewPCG(1, 2))
	text := []byte(snap)
	for i := range nops {
		n := len(text)
		p := rng.IntN(n + 1)
		var op ot.Op
		op.Retain(p)
		if k := min(1+rng.IntN(5), n-p); rng.IntN(2) == 0 && k > 0 {
			op.Delete(k).Retain(n - p - k)
			text = append(text[:p], text[p+k:]...)
		} else {
			s := "abcde"[:1+rng.IntN(5)]
			op.Insert(s).Retain(n - p)
			text = append(text[:p], append([]byte(s), text[p:]...)...)
		}
		d.ops = append(d.ops, oplog.Entry{Rev: i + 2, Op: op, Client: "w", Seq: i + 2, Time: base})
	}
	if err := db.Append(ctx, d.id, d.ops); err != nil {
		b.Fatal(err)
	}
	d.rev, d.want = nops+1, string(text)
	return d
}

// BenchmarkTextAt2MWith1000Ops reads the current revision of a bigDoc:
// the snapshot, then 1,000 ops replayed on the rope (oplog.Replay). Goal
// ≤ 50 ms; the replay on plain strings (below) took seconds.
func BenchmarkTextAt2MWith1000Ops(b *testing.B) {
	db, _ := openTest(b)
	d := newBigDoc(b, db)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		got, err := db.TextAt(ctx, d.id, d.rev)
		if err != nil {
			b.Fatal(err)
		}
		if got != d.want {
			b.Fatalf("TextAt(%d): got %d bytes, want %d (differs)", d.rev, len(got), len(d.want))
		}
	}
}

// BenchmarkStringReplay2MWith1000Ops is the replay TextAt did before the
// rope, for comparison: ot.Apply on a plain string copies the whole text
// for every op. No store access is timed.
func BenchmarkStringReplay2MWith1000Ops(b *testing.B) {
	db, _ := openTest(b)
	d := newBigDoc(b, db)
	b.ReportAllocs()
	for b.Loop() {
		text := d.snap
		for _, e := range d.ops {
			var err error
			if text, err = ot.Apply(text, e.Op); err != nil {
				b.Fatal(err)
			}
		}
		if text != d.want {
			b.Fatalf("string replay: got %d bytes, want %d (differs)", len(text), len(d.want))
		}
	}
}
