package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/ot"
)

func TestSecretIsKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tandem.db")
	ctx := context.Background()
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	k1, err := db.Secret(ctx, "identity", 32)
	if err != nil || len(k1) != 32 {
		t.Fatalf("Secret: %x, %v", k1, err)
	}
	k2, _ := db.Secret(ctx, "identity", 32)
	other, _ := db.Secret(ctx, "other", 32)
	db.Close()
	if string(k1) != string(k2) || string(k1) == string(other) {
		t.Fatalf("secrets: %x %x %x", k1, k2, other)
	}
	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if k3, _ := db.Secret(ctx, "identity", 32); string(k3) != string(k1) {
		t.Fatalf("after reopening: %x, want %x", k3, k1)
	}
}

// TestMigrationGivesOldDocsTokens opens a database made before share links
// existed (migrations 1 and 2 only) and checks its documents got tokens.
func TestMigrationGivesOldDocsTokens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	ctx := context.Background()
	raw, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := LoadMigrations(migrations)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, schemaMigrations); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:2] {
		if err := applyMigration(ctx, raw, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"d1", "d2"} {
		if _, err := raw.ExecContext(ctx, `INSERT INTO documents (id, title, created, updated) VALUES (?, 't', 0, 0)`, id); err != nil {
			t.Fatal(err)
		}
	}
	for i, op := range []string{`["a"]`, `[1,"b"]`, `[2,"c"]`} {
		client := []string{"x", "y", "x"}[i]
		if _, err := raw.ExecContext(ctx, `INSERT INTO ops (doc, rev, op, client, seq, time, len_after) VALUES ('d1', ?, ?, ?, ?, 0, ?)`,
			i+1, op, client, []int{1, 1, 2}[i], i+1); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d1, err := db.GetDoc(ctx, "d1")
	if err != nil {
		t.Fatal(err)
	}
	d2, _ := db.GetDoc(ctx, "d2")
	hex := regexp.MustCompile(`^[0-9a-f]{32}$`)
	for _, tok := range []string{d1.EditToken, d1.ViewToken, d2.EditToken, d2.ViewToken} {
		if !hex.MatchString(tok) {
			t.Errorf("migrated token %q: want 32 hex digits", tok)
		}
	}
	if d1.EditToken == d2.EditToken || d1.EditToken == d1.ViewToken {
		t.Error("migrated tokens repeat")
	}
	if d, err := db.DocByToken(ctx, d2.ViewToken); err != nil || d.ID != "d2" {
		t.Errorf("DocByToken on a migrated token: %v %v", d.ID, err)
	}
	// Later migrations keep the log readable and the seqs known.
	if seqs, err := db.Seqs(ctx, "d1"); err != nil || seqs["x"] != 2 || seqs["y"] != 1 {
		t.Errorf("seqs after migrating: %v, %v", seqs, err)
	}
	if es, err := db.Entries(ctx, "d1", 1, 3); err != nil || len(es) != 3 || es[0].Author != "" {
		t.Errorf("entries after migrating: %+v, %v", es, err)
	}
}

func TestBackup(t *testing.T) {
	db, path := openTest(t)
	ctx := context.Background()
	d, err := db.CreateDoc(ctx, "kept")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Append(ctx, d.ID, []oplog.Entry{{Rev: 1, Op: ot.Op{ot.Insert("hello")}, Client: "c", Seq: 1}}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "backup.db")
	// While the server's connections are open, as a live backup is.
	if err := Backup(ctx, path, out); err != nil {
		t.Fatal(err)
	}
	if err := Backup(ctx, path, out); err == nil {
		t.Error("a second backup overwrote the first")
	}
	if err := Backup(ctx, filepath.Join(t.TempDir(), "missing.db"), filepath.Join(t.TempDir(), "x.db")); err == nil {
		t.Error("backing up a missing database succeeded")
	}
	b, err := Open(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got, err := b.GetDoc(ctx, d.ID)
	if err != nil || got.Title != "kept" || got.Rev != 1 || got.EditToken != d.EditToken {
		t.Fatalf("backup holds %+v, %v", got, err)
	}
	if text, err := b.TextAt(ctx, d.ID, 1); err != nil || text != "hello" {
		t.Fatalf("backup text %q, %v", text, err)
	}
}
