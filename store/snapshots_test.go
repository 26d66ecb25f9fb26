package store

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-editor/tandem/oplog"
)

// snapshotRevs lists the document's snapshot revisions, oldest first.
func snapshotRevs(t *testing.T, db *DB, doc string) []int {
	t.Helper()
	rows, err := db.reader.Query(`SELECT rev FROM snapshots WHERE doc = ? ORDER BY rev`, doc)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var revs []int
	for rows.Next() {
		var r int
		if err := rows.Scan(&r); err != nil {
			t.Fatal(err)
		}
		revs = append(revs, r)
	}
	return revs
}

// PruneSnapshots keeps the oldest snapshot of the range and the one at
// revision 0, and every revision still reads back from what is left.
func TestPruneSnapshotsKeepsTheOldestOfTheRange(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	d := mustCreate(t, db, "t")
	for i := range 30 {
		if err := db.Append(ctx, d.ID, []oplog.Entry{{Rev: i + 1, Op: insertAt(i, i, "x"), Client: "c", Seq: i + 1}}); err != nil {
			t.Fatal(err)
		}
	}
	text := ""
	for _, rev := range []int{3, 10, 12, 15, 18, 25} {
		text = ""
		for range rev {
			text += "x"
		}
		if err := db.SaveSnapshot(ctx, d.ID, rev, text); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.PruneSnapshots(ctx, d.ID, 10, 18); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{0, 3, 10, 18, 25}, snapshotRevs(t, db, d.ID)); diff != "" {
		t.Fatalf("snapshots after pruning [10, 18) (-want +got):\n%s", diff)
	}
	// As the hub calls it after saving 25: everything before it in the range
	// goes but the oldest (here the one at 0, which always stays).
	if err := db.PruneSnapshots(ctx, d.ID, 0, 25); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{0, 25}, snapshotRevs(t, db, d.ID)); diff != "" {
		t.Fatalf("snapshots after pruning [0, 25) (-want +got):\n%s", diff)
	}
	for rev := 0; rev <= 30; rev++ {
		got, err := db.TextAt(ctx, d.ID, rev)
		if err != nil || len(got) != rev {
			t.Fatalf("TextAt(%d) = %d units, %v; want %d", rev, len(got), err, rev)
		}
	}
}
