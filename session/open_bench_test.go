package session

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/store"
)

// BenchmarkOpen100k measures opening a document whose log holds 100,000
// ops (ten clients typing, a snapshot every 1,000 revisions as the hub
// saves them): what a hub reads from the store and builds before its first
// join is answered.
//
//	go test -run '^$' -bench Open100k -benchtime 20x ./session/
func BenchmarkOpen100k(b *testing.B) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "tandem.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	d, err := db.CreateDoc(ctx, "long")
	if err != nil {
		b.Fatal(err)
	}
	const revs, every = 100000, 1000
	text := ot.NewDoc("")
	seqs := map[string]int{}
	snapRev, snapText := 0, ""
	for from := 1; from <= revs; from += every {
		es := make([]oplog.Entry, every)
		for i := range es {
			client := fmt.Sprintf("client-%d", (from+i)%10)
			seqs[client]++
			var op ot.Op
			n := text.Len()
			if (from+i)%7 == 0 && n > 10 {
				op.Retain(n - 3).Delete(3)
			} else {
				op.Retain(n).Insert("word ")
			}
			if err := text.Apply(op); err != nil {
				b.Fatal(err)
			}
			es[i] = oplog.Entry{Rev: from + i, Op: op, Client: client, Seq: seqs[client], Author: client}
			if i == every/2 { // a snapshot mid-batch: the latest is 500 ops behind the end
				snapRev, snapText = from+i, text.String()
			}
		}
		if err := db.Append(ctx, d.ID, es); err != nil {
			b.Fatal(err)
		}
		if err := db.SaveSnapshot(ctx, d.ID, snapRev, snapText); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("snapshot", func(b *testing.B) {
		for b.Loop() {
			db.Snapshot(ctx, d.ID)
		}
	})
	b.Run("seqs", func(b *testing.B) {
		for b.Loop() {
			db.Seqs(ctx, d.ID)
		}
	})
	b.Run("open", func(b *testing.B) { benchOpen(b, db, d.ID, revs) })
}

func benchOpen(b *testing.B, db *store.DB, doc string, revs int) {
	ctx := context.Background()
	d := struct{ ID string }{doc}
	for b.Loop() {
		rev, snap, err := db.Snapshot(ctx, d.ID)
		if err != nil {
			b.Fatal(err)
		}
		es, err := db.Entries(ctx, d.ID, rev+1, 1<<62)
		if err != nil {
			b.Fatal(err)
		}
		ss, err := db.Seqs(ctx, d.ID)
		if err != nil {
			b.Fatal(err)
		}
		c, err := NewCore(Config{}, rev, snap, es, ss)
		if err != nil || c.Rev() != revs || !strings.HasSuffix(c.Text(), "word ") {
			b.Fatalf("opened at %d: %v", c.Rev(), err)
		}
	}
}
