package store

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/ot"
)

func TestRawPage(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	d := mustCreate(t, db, "t")
	empty := mustCreate(t, db, "empty")

	// Ops of about 10, 1,000, 10 and 100 bytes of JSON.
	sizes := []int{10, 1000, 10, 100}
	var es []oplog.Entry
	n := 0
	for i, size := range sizes {
		s := strings.Repeat("x", size)
		es = append(es, oplog.Entry{Rev: i + 1, Op: insertAt(n, n, s), Client: "c", Seq: i + 1, Time: base})
		n += len(s)
	}
	if err := db.Append(ctx, d.ID, es); err != nil {
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
			got, err := db.RawPage(ctx, d.ID, tc.from, tc.to, tc.maxBytes)
			if err != nil {
				t.Fatalf("RawPage(%d, %d, %d): %v", tc.from, tc.to, tc.maxBytes, err)
			}
			var want []RawEntry
			for _, rev := range tc.want {
				want = append(want, RawEntry{Rev: rev, Op: json.RawMessage(ops[rev-1]), Client: "c", Seq: rev, Time: base})
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("RawPage(%d, %d, %d) (-want +got):\n%s", tc.from, tc.to, tc.maxBytes, diff)
			}
		})
	}

	// Every op read back decodes to the op appended.
	got, err := db.RawPage(ctx, d.ID, 1, 4, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range got {
		var op ot.Op
		if err := json.Unmarshal(e.Op, &op); err != nil || !cmp.Equal(op, es[i].Op) {
			t.Errorf("entry %d op %s decodes to %v, %v; want %v", i+1, e.Op, op, err, es[i].Op)
		}
	}

	if got, err := db.RawPage(ctx, empty.ID, 1, 10, 100); err != nil || len(got) != 0 {
		t.Errorf("RawPage of an empty document = %v, %v; want none and no error", got, err)
	}
	if _, err := db.RawPage(ctx, "no-such-doc", 1, 10, 100); !errors.Is(err, oplog.ErrNotFound) {
		t.Errorf("RawPage of a missing document: got %v, want ErrNotFound", err)
	}
}
