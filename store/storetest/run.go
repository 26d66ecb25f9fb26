package storetest

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/ot"
)

// Run runs the contract's tests, each as a subtest with a store of its
// own: open must return a fresh, empty store whose clock is Clock() (or
// moves forward as surely), which also implements Tables, and close it when
// t ends.
func Run(t *testing.T, open func(t *testing.T) Store) {
	for _, tc := range []struct {
		name string
		test func(t *testing.T, s Store, tb Tables)
	}{
		{"Documents", testDocuments},
		{"AppendEntriesRoundTrip", testAppendEntriesRoundTrip},
		{"AppendConflictWritesNothing", testAppendConflictWritesNothing},
		{"AppendRaceForOneRevision", testAppendRace},
		{"AppendToTrashedDoc", testAppendToTrashedDoc},
		{"Seqs", testSeqs},
		{"TextAtEveryRevision", testTextAtEveryRevision},
		{"SnapshotAndReplay", testSnapshotAndReplay},
		{"AnyTextRoundTrips", testAnyText},
		{"PruneSnapshots", testPruneSnapshots},
		{"RawPage", testRawPage},
		{"LongLogPages", testLongLogPages},
		{"ConcurrentUse", testConcurrentUse},
		{"Links", testLinks},
		{"Secrets", testSecrets},
		{"Authors", testAuthors},
		{"Versions", testVersions},
		{"Trash", testTrash},
		{"Import", testImport},
		{"Authorship", testAuthorship},
		{"Health", testHealth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			tb, ok := s.(Tables)
			if !ok {
				t.Fatalf("storetest: the store opened (%T) does not implement storetest.Tables", s)
			}
			tc.test(t, s, tb)
		})
	}
}

func mustCreate(t testing.TB, s Store, title string) string {
	t.Helper()
	d, err := s.CreateDoc(context.Background(), title)
	if err != nil {
		t.Fatalf("CreateDoc(%q): %v", title, err)
	}
	return d.ID
}

// InsertAt builds the op that inserts s at UTF-16 position pos of a text
// of length n.
func InsertAt(n, pos int, s string) ot.Op {
	var op ot.Op
	op.Retain(pos).Insert(s).Retain(n - pos)
	return op
}

// U16 is the length of s in UTF-16 code units.
func U16(s string) int { return len(utf16.Encode([]rune(s))) }

// Revs lists the entries' revisions.
func Revs(es []oplog.Entry) []int {
	var r []int
	for _, e := range es {
		r = append(r, e.Rev)
	}
	return r
}

// RandomEdit returns an op on text (valid Unicode; positions counted in
// UTF-16 units, never inside a surrogate pair) and the expected text after
// it, computed on runes without ot.Apply.
func RandomEdit(r *rand.Rand, text string) (ot.Op, string) {
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
	op.Retain(U16(string(runes[:p]))).Delete(U16(string(runes[p : p+d]))).Insert(ins.String()).Retain(U16(string(runes[p+d:])))
	return op, string(runes[:p]) + ins.String() + string(runes[p+d:])
}

// appendN appends n entries that each add an "x" at the end of doc, which
// is at revision from: revisions and seqs (of client c) from+1 to from+n.
func appendN(t *testing.T, s Store, doc string, from, n int) {
	t.Helper()
	var es []oplog.Entry
	for i := from; i < from+n; i++ {
		es = append(es, oplog.Entry{Rev: i + 1, Op: InsertAt(i, i, "x"), Client: "c", Seq: i + 1, Time: Base})
	}
	if err := s.Append(context.Background(), doc, es); err != nil {
		t.Fatalf("Append revs %d..%d: %v", from+1, from+n, err)
	}
}

func testHealth(t *testing.T, s Store, _ Tables) {
	ctx := context.Background()
	if err := s.Health(ctx); err != nil {
		t.Errorf("Health of a fresh store: %v; want nil", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
	// A refused Append (a conflict) is the request's fault, not the
	// store's: Health stays good.
	id := mustCreate(t, s, "t")
	appendN(t, s, id, 0, 1)
	if err := s.Append(ctx, id, []oplog.Entry{{Rev: 1, Op: InsertAt(1, 1, "y"), Client: "d", Seq: 1}}); !errors.Is(err, oplog.ErrConflict) {
		t.Fatalf("Append at a taken revision = %v; want ErrConflict", err)
	}
	if err := s.Health(ctx); err != nil {
		t.Errorf("Health after a refused Append: %v; want nil", err)
	}
}
