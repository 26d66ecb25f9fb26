package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/store"
)

func testAuthors(t *testing.T, s Store, _ Tables) {
	ctx := context.Background()
	id := mustCreate(t, s, "t")
	other := mustCreate(t, s, "u")
	if as, err := s.Authors(ctx, id); err != nil || as == nil || len(as) != 0 {
		t.Fatalf("Authors of a new doc = %#v, %v; want an empty list", as, err)
	}
	for _, a := range []store.Author{
		{ID: "zed", Name: "Zed", Color: "#000"},
		{ID: "ann", Name: "Ann", Color: "#f00"},
		{ID: "Bob", Name: "Bob", Color: "#0f0"},
		{ID: "ann", Name: "Ann B.", Color: "#00f"}, // joins again, renamed
	} {
		if err := s.SaveAuthor(ctx, id, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SaveAuthor(ctx, other, store.Author{ID: "ann", Name: "Elsewhere", Color: "#fff"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Authors(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// By id, in byte order (capitals first).
	want := []store.Author{{ID: "Bob", Name: "Bob", Color: "#0f0"}, {ID: "ann", Name: "Ann B.", Color: "#00f"}, {ID: "zed", Name: "Zed", Color: "#000"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Authors (-want +got):\n%s", diff)
	}
	if err := s.DeleteDoc(ctx, id); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Authors(ctx, other); err != nil || len(got) != 1 || got[0].Name != "Elsewhere" {
		t.Errorf("Authors of the other doc = %+v, %v; want only its own", got, err)
	}
}

func testVersions(t *testing.T, s Store, _ Tables) {
	ctx := context.Background()
	id := mustCreate(t, s, "t")
	appendN(t, s, id, 0, 5)
	if vs, err := s.Versions(ctx, id); err != nil || vs == nil || len(vs) != 0 {
		t.Fatalf("Versions of a new doc = %#v, %v; want an empty list", vs, err)
	}
	v2, err := s.NameVersion(ctx, id, store.Version{Rev: 2, Name: "draft", Author: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	if v2.Rev != 2 || v2.Name != "draft" || v2.Time.IsZero() || v2.Time.Location() != time.UTC {
		t.Errorf("NameVersion = %+v; want rev 2, draft, stamped with the store's clock in UTC", v2)
	}
	for _, v := range []store.Version{{Rev: 0, Name: "empty", Author: "bob"}, {Rev: 5, Name: "sent", Author: "ann"}} {
		if _, err := s.NameVersion(ctx, id, v); err != nil {
			t.Fatal(err)
		}
	}
	// Naming a revision again replaces its name.
	v2b, err := s.NameVersion(ctx, id, store.Version{Rev: 2, Name: "first draft", Author: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.NameVersion(ctx, id, store.Version{Rev: 6, Name: "x"}); !errors.Is(err, oplog.ErrNotFound) {
		t.Errorf("NameVersion of rev 6 (current 5) = %v; want ErrNotFound", err)
	}
	// A negative revision breaks the table's check (the server never asks).
	if _, err := s.NameVersion(ctx, id, store.Version{Rev: -1, Name: "x"}); err == nil {
		t.Errorf("NameVersion of rev -1 succeeded; want an error")
	}
	got, err := s.Versions(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Version{
		{Rev: 5, Name: "sent", Author: "ann"},
		{Rev: 2, Name: "first draft", Author: "bob", Time: v2b.Time},
		{Rev: 0, Name: "empty", Author: "bob"},
	}
	if len(got) != len(want) {
		t.Fatalf("Versions = %+v; want %+v", got, want)
	}
	for i := range want {
		if got[i].Rev != want[i].Rev || got[i].Name != want[i].Name || got[i].Author != want[i].Author || got[i].Time.IsZero() {
			t.Errorf("Versions[%d] = %+v; want %+v with a time", i, got[i], want[i])
		}
	}
	if !got[1].Time.Equal(v2b.Time) {
		t.Errorf("renamed version's time = %v; want the renaming's %v", got[1].Time, v2b.Time)
	}
	if err := s.UnnameVersion(ctx, id, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.UnnameVersion(ctx, id, 2); !errors.Is(err, oplog.ErrNotFound) {
		t.Errorf("UnnameVersion twice = %v; want ErrNotFound", err)
	}
	if got, err := s.Versions(ctx, id); err != nil || len(got) != 2 || got[0].Rev != 5 || got[1].Rev != 0 {
		t.Errorf("Versions after unnaming 2 = %+v, %v; want 5 and 0", got, err)
	}
}

func testImport(t *testing.T, s Store, _ Tables) {
	ctx := context.Background()
	var es []oplog.Entry
	text := ""
	for i, str := range []string{"héllo", " wörld", " 😀", "!"} {
		es = append(es, oplog.Entry{Rev: i + 1, Op: InsertAt(U16(text), U16(text), str), Client: "c", Seq: i + 1,
			Time: Base.Add(time.Duration(i) * time.Minute), Author: []string{"ann", "bob", "ann", "bob"}[i]})
		text += str
	}
	es[3].Time = time.Time{} // stamped with the store's clock
	es[2].Inserts = []oplog.Span{{Len: 1, Author: "bob"}, {Len: 2, Author: "cy"}}
	authors := []store.Author{{ID: "bob", Name: "Bob", Color: "#0f0"}, {ID: "ann", Name: "Ann", Color: "#f00"}, {ID: "bob", Name: "Bobby", Color: "#00f"}}
	versions := []store.Version{{Rev: 2, Name: "two", Author: "ann", Time: Base}, {Rev: 0, Name: "none", Author: "bob"}}
	d, err := s.ImportDoc(ctx, "Imported", es, authors, versions)
	if err != nil {
		t.Fatalf("ImportDoc: %v", err)
	}
	if d.Title != "Imported" || d.Rev != 4 || d.Size != U16(text) || len(d.ID) != 36 || !tokenRE.MatchString(d.EditToken) {
		t.Errorf("ImportDoc = %+v; want rev 4, size %d, a new id and tokens", d, U16(text))
	}
	if got, err := s.GetDoc(ctx, d.ID); err != nil || !cmp.Equal(got, d) {
		t.Errorf("GetDoc of the import = %+v, %v; want %+v", got, err, d)
	}
	if rev, snap, err := s.Snapshot(ctx, d.ID); err != nil || rev != 4 || snap != text {
		t.Errorf("Snapshot of the import = %d, %q, %v; want 4, %q (opening reads no log)", rev, snap, err, text)
	}
	if got, err := s.TextAt(ctx, d.ID, 2); err != nil || got != "héllo wörld" {
		t.Errorf("TextAt(2) of the import = %q, %v", got, err)
	}
	raw, err := s.RawPage(ctx, d.ID, 1, 4, 1<<20)
	if err != nil || len(raw) != 4 {
		t.Fatalf("RawPage of the import = %d entries, %v", len(raw), err)
	}
	for i, e := range raw {
		w := es[i]
		if e.Author != w.Author || !cmp.Equal(e.Inserts, w.Inserts) || e.Client != "c" || e.Seq != i+1 {
			t.Errorf("imported entry %d = %+v; want author %q, inserts %v", i+1, e, w.Author, w.Inserts)
		}
		if i < 3 && !e.Time.Equal(w.Time) {
			t.Errorf("imported entry %d time = %v; want %v", i+1, e.Time, w.Time)
		}
	}
	if raw[3].Time.IsZero() || !raw[3].Time.After(Base) {
		t.Errorf("imported entry without a time got %v; want the store's clock", raw[3].Time)
	}
	if seqs, err := s.Seqs(ctx, d.ID); err != nil || !cmp.Equal(seqs, map[string]int{"c": 4}) {
		t.Errorf("Seqs of the import = %v, %v; want c: 4", seqs, err)
	}
	as, err := s.Authors(ctx, d.ID)
	if diff := cmp.Diff([]store.Author{{ID: "ann", Name: "Ann", Color: "#f00"}, {ID: "bob", Name: "Bobby", Color: "#00f"}}, as); err != nil || diff != "" {
		t.Errorf("Authors of the import (the last of an id wins) (-want +got), %v:\n%s", err, diff)
	}
	vs, err := s.Versions(ctx, d.ID)
	if err != nil || len(vs) != 2 || vs[0].Rev != 2 || !vs[0].Time.Equal(Base) || vs[1].Rev != 0 || vs[1].Time.IsZero() {
		t.Errorf("Versions of the import = %+v, %v; want 2 (at Base) and 0 (stamped)", vs, err)
	}
	// The import goes on like any document.
	if err := s.Append(ctx, d.ID, []oplog.Entry{{Rev: 5, Op: InsertAt(U16(text), 0, ">"), Client: "c", Seq: 5}}); err != nil {
		t.Errorf("Append after import: %v", err)
	}
	if err := s.Append(ctx, d.ID, []oplog.Entry{{Rev: 6, Op: InsertAt(U16(text)+1, 0, ">"), Client: "c", Seq: 2}}); !errors.Is(err, oplog.ErrConflict) {
		t.Errorf("Append of an imported (client, seq) = %v; want ErrConflict", err)
	}

	// A history that is not one is refused, and nothing is created.
	before, err := s.ListDocs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string]struct {
		es []oplog.Entry
		vs []store.Version
	}{
		"gap":              {es: []oplog.Entry{es[0], {Rev: 3, Op: es[1].Op, Client: "c", Seq: 2}}},
		"does not apply":   {es: []oplog.Entry{es[0], {Rev: 2, Op: InsertAt(1, 0, "x"), Client: "c", Seq: 2}}},
		"repeated seq":     {es: []oplog.Entry{es[0], {Rev: 2, Op: es[1].Op, Client: "c", Seq: 1}}},
		"version too late": {es: es[:2], vs: []store.Version{{Rev: 3, Name: "x"}}},
		"starts at 2":      {es: es[1:2]},
	}
	for name, b := range bad {
		if _, err := s.ImportDoc(ctx, name, b.es, nil, b.vs); err == nil {
			t.Errorf("ImportDoc with %s succeeded; want an error", name)
		}
	}
	if after, err := s.ListDocs(ctx); err != nil || len(after) != len(before) {
		t.Errorf("ListDocs after refused imports = %d docs, %v; want %d", len(after), err, len(before))
	}
	// An empty history is an empty document.
	e, err := s.ImportDoc(ctx, "empty", nil, nil, nil)
	if err != nil || e.Rev != 0 || e.Size != 0 {
		t.Errorf("ImportDoc of nothing = %+v, %v; want rev 0", e, err)
	}
	if rev, snap, err := s.Snapshot(ctx, e.ID); err != nil || rev != 0 || snap != "" {
		t.Errorf("Snapshot of an empty import = %d, %q, %v", rev, snap, err)
	}
}

func testAuthorship(t *testing.T, s Store, _ Tables) {
	ctx := context.Background()
	id := mustCreate(t, s, "t")
	// ann writes "hello", bob appends " world", "" (unknown) deletes "lo w"
	// ... and a restore by cy puts back "lo w" written by ann and bob.
	var del ot.Op
	del.Retain(3).Delete(4).Retain(4)
	es := []oplog.Entry{
		{Rev: 1, Op: InsertAt(0, 0, "hello"), Client: "a", Seq: 1, Author: "ann"},
		{Rev: 2, Op: InsertAt(5, 5, " world"), Client: "b", Seq: 1, Author: "bob"},
		{Rev: 3, Op: del, Client: "x", Seq: 1},
		{Rev: 4, Op: InsertAt(7, 3, "lo w"), Client: "@server", Seq: 1, Author: "cy",
			Inserts: []oplog.Span{{Len: 2, Author: "ann"}, {Len: 2, Author: "bob"}}},
	}
	for _, e := range es {
		if err := s.Append(ctx, id, []oplog.Entry{e}); err != nil {
			t.Fatal(err)
		}
	}
	for rev, want := range [][]oplog.Span{
		{},
		{{Len: 5, Author: "ann"}},
		{{Len: 5, Author: "ann"}, {Len: 6, Author: "bob"}},
		{{Len: 3, Author: "ann"}, {Len: 4, Author: "bob"}},
		{{Len: 5, Author: "ann"}, {Len: 6, Author: "bob"}},
	} {
		got, err := s.Authorship(ctx, id, rev)
		if err != nil {
			t.Fatalf("Authorship(%d): %v", rev, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Authorship(%d) (-want +got):\n%s", rev, diff)
		}
	}
	for _, bad := range []int{-1, 5} {
		if _, err := s.Authorship(ctx, id, bad); !errors.Is(err, oplog.ErrNotFound) {
			t.Errorf("Authorship(%d) (current 4) = %v; want ErrNotFound", bad, err)
		}
	}
}
