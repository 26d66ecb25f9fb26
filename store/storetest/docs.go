package storetest

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/store"
)

func testDocuments(t *testing.T, s Store, tb Tables) {
	ctx := context.Background()
	docs, err := s.ListDocs(ctx)
	if err != nil || docs == nil || len(docs) != 0 {
		t.Fatalf("ListDocs on an empty store = %#v, %v; want an empty list", docs, err)
	}

	a, err := s.CreateDoc(ctx, "Alpha")
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateDoc(ctx, "Beta ✨")
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.CreateDoc(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == b.ID || b.ID == c.ID || len(a.ID) != 36 {
		t.Fatalf("ids %q %q %q: want distinct UUIDs", a.ID, b.ID, c.ID)
	}
	if a.Rev != 0 || a.Size != 0 || a.Title != "Alpha" || !a.Created.Equal(a.Updated) || a.Created.Location() != time.UTC || a.InTrash() {
		t.Errorf("new doc = %+v; want rev 0, size 0, created == updated in UTC, not in the trash", a)
	}

	got, err := s.GetDoc(ctx, b.ID)
	if err != nil {
		t.Fatalf("GetDoc: %v", err)
	}
	if diff := cmp.Diff(b, got); diff != "" {
		t.Errorf("GetDoc differs from CreateDoc (-want +got):\n%s", diff)
	}
	rev, text, err := s.Snapshot(ctx, b.ID)
	if err != nil || rev != 0 || text != "" {
		t.Errorf("Snapshot of a new doc = %d, %q, %v; want 0, \"\", nil", rev, text, err)
	}

	order := func() []string {
		t.Helper()
		docs, err := s.ListDocs(ctx)
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
	if err := s.Append(ctx, a.ID, []oplog.Entry{{Rev: 1, Op: InsertAt(0, 0, "hi"), Client: "c1", Seq: 1, Time: Base}}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if diff := cmp.Diff([]string{"Alpha", "", "Beta ✨"}, order()); diff != "" {
		t.Errorf("ListDocs order after an edit (-want +got):\n%s", diff)
	}
	// So does a rename.
	r, err := s.RenameDoc(ctx, b.ID, "Gamma")
	if err != nil {
		t.Fatalf("RenameDoc: %v", err)
	}
	if r.Title != "Gamma" || r.ID != b.ID || !r.Updated.After(b.Updated) || !r.Created.Equal(b.Created) {
		t.Errorf("RenameDoc = %+v; want title Gamma, same id and created, later updated than %v", r, b.Updated)
	}
	if diff := cmp.Diff([]string{"Gamma", "Alpha", ""}, order()); diff != "" {
		t.Errorf("ListDocs order after a rename (-want +got):\n%s", diff)
	}
	// Equal times are ordered by id.
	if docs, err := s.ListDocs(ctx); err == nil {
		for i := 1; i < len(docs); i++ {
			p, q := docs[i-1], docs[i]
			if p.Updated.Before(q.Updated) || (p.Updated.Equal(q.Updated) && p.ID > q.ID) {
				t.Errorf("ListDocs: %s (updated %v) before %s (updated %v)", p.ID, p.Updated, q.ID, q.Updated)
			}
		}
	}

	if err := s.DeleteDoc(ctx, a.ID); err != nil {
		t.Fatalf("DeleteDoc: %v", err)
	}
	if diff := cmp.Diff([]string{"Gamma", ""}, order()); diff != "" {
		t.Errorf("ListDocs after delete (-want +got):\n%s", diff)
	}
	// Every call about a deleted or unknown document says not found.
	for _, id := range []string{a.ID, "no-such-doc", ""} {
		checks := map[string]error{}
		_, checks["GetDoc"] = s.GetDoc(ctx, id)
		_, checks["RenameDoc"] = s.RenameDoc(ctx, id, "x")
		checks["DeleteDoc"] = s.DeleteDoc(ctx, id)
		_, _, checks["Snapshot"] = s.Snapshot(ctx, id)
		_, checks["Entries"] = s.Entries(ctx, id, 1, 10)
		checks["Append"] = s.Append(ctx, id, []oplog.Entry{{Rev: 1, Op: InsertAt(0, 0, "x"), Client: "c", Seq: 1}})
		checks["SaveSnapshot"] = s.SaveSnapshot(ctx, id, 0, "")
		_, checks["Seqs"] = s.Seqs(ctx, id)
		_, checks["EntriesPage"] = s.EntriesPage(ctx, id, 1, 10, 100)
		_, checks["RawPage"] = s.RawPage(ctx, id, 1, 10, 100)
		_, checks["TextAt"] = s.TextAt(ctx, id, 0)
		_, checks["TrashDoc"] = s.TrashDoc(ctx, id, Base)
		_, checks["UndeleteDoc"] = s.UndeleteDoc(ctx, id)
		_, checks["ReissueLink"] = s.ReissueLink(ctx, id, store.EditLink)
		_, checks["NameVersion"] = s.NameVersion(ctx, id, store.Version{Rev: 0, Name: "v"})
		_, checks["Authorship"] = s.Authorship(ctx, id, 0)
		for name, err := range checks {
			if !errors.Is(err, oplog.ErrNotFound) {
				t.Errorf("%s(%q) = %v; want ErrNotFound", name, id, err)
			}
		}
	}
	// The log and snapshots of a deleted document are gone with it.
	lens, err := tb.LogLens(ctx, a.ID)
	if err != nil || len(lens) != 0 {
		t.Errorf("log rows left for the deleted doc = %v, %v; want none", lens, err)
	}
	snaps, err := tb.SnapshotRevs(ctx, a.ID)
	if err != nil || len(snaps) != 0 {
		t.Errorf("snapshots left for the deleted doc = %v, %v; want none", snaps, err)
	}
}

var tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)

func testLinks(t *testing.T, s Store, _ Tables) {
	ctx := context.Background()
	a, err := s.CreateDoc(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateDoc(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, tok := range []string{a.EditToken, a.ViewToken, b.EditToken, b.ViewToken} {
		if !tokenRE.MatchString(tok) {
			t.Errorf("token %q is not 22 base64url characters", tok)
		}
		if seen[tok] {
			t.Errorf("token %q issued twice", tok)
		}
		seen[tok] = true
	}
	for _, tok := range []string{a.EditToken, a.ViewToken} {
		d, err := s.DocByToken(ctx, tok)
		if err != nil || d.ID != a.ID {
			t.Errorf("DocByToken(%q) = %s, %v; want doc %s", tok, d.ID, err, a.ID)
		}
	}
	for _, tok := range []string{"", a.ID, "nope", a.EditToken[:21], a.EditToken + "x"} {
		if _, err := s.DocByToken(ctx, tok); !errors.Is(err, oplog.ErrNotFound) {
			t.Errorf("DocByToken(%q): got %v, want ErrNotFound", tok, err)
		}
	}

	r, err := s.ReissueLink(ctx, a.ID, store.ViewLink)
	if err != nil {
		t.Fatal(err)
	}
	if r.EditToken != a.EditToken || r.ViewToken == a.ViewToken || !tokenRE.MatchString(r.ViewToken) {
		t.Errorf("reissued view link: edit %q -> %q, view %q -> %q", a.EditToken, r.EditToken, a.ViewToken, r.ViewToken)
	}
	if _, err := s.DocByToken(ctx, a.ViewToken); !errors.Is(err, oplog.ErrNotFound) {
		t.Errorf("the revoked view token still resolves: %v", err)
	}
	if d, err := s.DocByToken(ctx, r.ViewToken); err != nil || d.ID != a.ID {
		t.Errorf("the new view token: %s, %v", d.ID, err)
	}
	r2, err := s.ReissueLink(ctx, a.ID, store.EditLink)
	if err != nil || r2.EditToken == a.EditToken || r2.ViewToken != r.ViewToken {
		t.Errorf("reissued edit link: %+v, %v", r2, err)
	}
	if got, err := s.GetDoc(ctx, a.ID); err != nil || got.EditToken != r2.EditToken || got.ViewToken != r2.ViewToken {
		t.Errorf("GetDoc after reissuing = %+v, %v; want the new tokens", got, err)
	}
	if _, err := s.ReissueLink(ctx, "missing", store.EditLink); !errors.Is(err, oplog.ErrNotFound) {
		t.Errorf("reissue on a missing doc: %v", err)
	}
	if _, err := s.ReissueLink(ctx, a.ID, store.Link("admin")); err == nil {
		t.Error("reissue of an unknown link succeeded")
	}
	// A document in the trash keeps its links (the server answers 410).
	if _, err := s.TrashDoc(ctx, b.ID, Base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if d, err := s.DocByToken(ctx, b.EditToken); err != nil || d.ID != b.ID || !d.InTrash() {
		t.Errorf("DocByToken of a trashed doc = %+v, %v; want it, in the trash", d, err)
	}
}

func testSecrets(t *testing.T, s Store, _ Tables) {
	ctx := context.Background()
	k1, err := s.Secret(ctx, "identity", 32)
	if err != nil || len(k1) != 32 {
		t.Fatalf("Secret: %x, %v; want 32 bytes", k1, err)
	}
	k2, err := s.Secret(ctx, "identity", 32)
	if err != nil || string(k1) != string(k2) {
		t.Errorf("Secret again = %x, %v; want the same %x", k2, err, k1)
	}
	other, err := s.Secret(ctx, "other", 16)
	if err != nil || len(other) != 16 || string(other) == string(k1[:16]) {
		t.Errorf("another secret = %x, %v; want 16 other bytes", other, err)
	}
	// Openers racing for a new secret all get the one that was kept.
	const n = 8
	got := make([][]byte, n)
	errs := make([]error, n)
	done := make(chan int)
	for i := range n {
		// Ends after one Secret call.
		go func() { got[i], errs[i] = s.Secret(ctx, "raced", 32); done <- i }()
	}
	for range n {
		<-done
	}
	for i := range n {
		if errs[i] != nil || string(got[i]) != string(got[0]) {
			t.Errorf("racing Secret %d = %x, %v; want %x like the first", i, got[i], errs[i], got[0])
		}
	}
	if again, _ := s.Secret(ctx, "raced", 32); string(again) != string(got[0]) {
		t.Errorf("Secret after the race = %x; want %x", again, got[0])
	}
}

func testTrash(t *testing.T, s Store, _ Tables) {
	ctx := context.Background()
	a := mustCreate(t, s, "a")
	b := mustCreate(t, s, "b")
	c := mustCreate(t, s, "c")
	appendN(t, s, a, 0, 3)
	if tr, err := s.Trash(ctx); err != nil || tr == nil || len(tr) != 0 {
		t.Fatalf("Trash of a store without any = %#v, %v; want an empty list", tr, err)
	}

	purgeA, purgeB := Base.Add(48*time.Hour), Base.Add(24*time.Hour)
	ta, err := s.TrashDoc(ctx, a, purgeA)
	if err != nil {
		t.Fatal(err)
	}
	if !ta.InTrash() || !ta.Purge.Equal(purgeA) || ta.Rev != 3 || ta.Deleted.Location() != time.UTC {
		t.Errorf("TrashDoc = %+v; want in the trash until %v, rev 3, in UTC", ta, purgeA)
	}
	if _, err := s.TrashDoc(ctx, a, purgeA); !errors.Is(err, oplog.ErrNotFound) {
		t.Errorf("TrashDoc twice = %v; want ErrNotFound", err)
	}
	if _, err := s.TrashDoc(ctx, b, purgeB); err != nil {
		t.Fatal(err)
	}
	// Trashed documents leave the list, keep their row, and are not
	// opened, renamed or written.
	docs, err := s.ListDocs(ctx)
	if err != nil || len(docs) != 1 || docs[0].ID != c {
		t.Errorf("ListDocs with a and b in the trash = %+v, %v; want only c", docs, err)
	}
	if d, err := s.GetDoc(ctx, a); err != nil || !d.InTrash() || !d.Purge.Equal(purgeA) || !d.Deleted.Equal(ta.Deleted) {
		t.Errorf("GetDoc of a trashed doc = %+v, %v; want it, in the trash until %v", d, err, purgeA)
	}
	if _, _, err := s.Snapshot(ctx, a); !errors.Is(err, oplog.ErrNotFound) {
		t.Errorf("Snapshot of a trashed doc = %v; want ErrNotFound", err)
	}
	if _, err := s.RenameDoc(ctx, a, "x"); !errors.Is(err, oplog.ErrNotFound) {
		t.Errorf("RenameDoc of a trashed doc = %v; want ErrNotFound", err)
	}
	// Its history stays readable.
	if text, err := s.TextAt(ctx, a, 3); err != nil || text != "xxx" {
		t.Errorf("TextAt of a trashed doc = %q, %v; want \"xxx\"", text, err)
	}
	tr, err := s.Trash(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range tr {
		ids = append(ids, d.ID)
	}
	if diff := cmp.Diff([]string{b, a}, ids); diff != "" {
		t.Errorf("Trash, soonest purge first (-want +got):\n%s", diff)
	}

	// Undelete: back in the list, with its text.
	if _, err := s.UndeleteDoc(ctx, c); !errors.Is(err, oplog.ErrNotFound) {
		t.Errorf("UndeleteDoc of a doc not in the trash = %v; want ErrNotFound", err)
	}
	ua, err := s.UndeleteDoc(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if ua.InTrash() || !ua.Purge.IsZero() || ua.Rev != 3 {
		t.Errorf("UndeleteDoc = %+v; want out of the trash, rev 3", ua)
	}
	if rev, text, err := s.Snapshot(ctx, a); err != nil || rev != 0 || text != "" {
		t.Errorf("Snapshot after undelete = %d, %q, %v; want the one at 0", rev, text, err)
	}
	appendN(t, s, a, 3, 1)

	// Purge takes the expired ones only, for good.
	if n, err := s.PurgeExpired(ctx, purgeB.Add(-time.Nanosecond)); err != nil || n != 0 {
		t.Errorf("PurgeExpired before any expiry = %d, %v; want 0", n, err)
	}
	if _, err := s.TrashDoc(ctx, a, purgeA); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PurgeExpired(ctx, purgeB); err != nil || n != 1 {
		t.Errorf("PurgeExpired at b's time = %d, %v; want 1", n, err)
	}
	if _, err := s.GetDoc(ctx, b); !errors.Is(err, oplog.ErrNotFound) {
		t.Errorf("GetDoc of a purged doc = %v; want ErrNotFound", err)
	}
	if d, err := s.GetDoc(ctx, a); err != nil || !d.InTrash() {
		t.Errorf("GetDoc of a doc not yet due = %+v, %v; want it, still in the trash", d, err)
	}
	if n, err := s.PurgeExpired(ctx, purgeA.Add(time.Hour)); err != nil || n != 1 {
		t.Errorf("PurgeExpired after a's time = %d, %v; want 1", n, err)
	}
	if tr, err := s.Trash(ctx); err != nil || len(tr) != 0 {
		t.Errorf("Trash after purging = %+v, %v; want empty", tr, err)
	}
	if docs, err := s.ListDocs(ctx); err != nil || len(docs) != 1 || docs[0].ID != c {
		t.Errorf("ListDocs after purging = %+v, %v; want only c", docs, err)
	}
}
