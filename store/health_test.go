package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tandem-editor/tandem/oplog"
)

// pragma runs a pragma on the writer connection and returns its answer.
func pragma(t *testing.T, db *DB, p string) int64 {
	t.Helper()
	n, err := WriterPragma(db, p)
	if err != nil {
		t.Fatalf("PRAGMA %s: %v", p, err)
	}
	return n
}

// fillDisk simulates a full disk: the database may not grow past its
// current size (max_page_count cannot go lower).
func fillDisk(t *testing.T, db *DB) {
	t.Helper()
	pages := pragma(t, db, "page_count")
	if got := pragma(t, db, fmt.Sprintf("max_page_count = %d", pages)); got != pages {
		t.Fatalf("max_page_count = %d; want %d", got, pages)
	}
}

// freeDisk lifts the simulated limit.
func freeDisk(t *testing.T, db *DB) { pragma(t, db, "max_page_count = 1073741823") }

const diskFull = "database or disk is full" // SQLITE_FULL's message

func TestHealthOnAFullDisk(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	if n := pragma(t, db, "freelist_count"); n != 0 {
		t.Fatalf("a new database has %d free pages; the test needs none", n)
	}
	fillDisk(t, db)
	// No room for the probe's 64 KiB.
	if err := db.Health(ctx); err == nil || !strings.Contains(err.Error(), diskFull) {
		t.Fatalf("Health on a full disk: got %v, want an error saying %q", err, diskFull)
	}
	freeDisk(t, db)
	if err := db.Health(ctx); err != nil {
		t.Fatalf("Health after the disk has room again: %v", err)
	}
}

func TestHealthAfterAFailedCommit(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	d := mustCreate(t, db, "t")
	if err := db.Health(ctx); err != nil { // leaves 64 KiB of free pages
		t.Fatalf("Health: %v", err)
	}
	fillDisk(t, db)
	// Small writes still fit in the free pages: the store is healthy.
	if err := db.Health(ctx); err != nil {
		t.Fatalf("Health with 64 KiB free: %v", err)
	}
	// A batch larger than the free pages cannot commit.
	big := []oplog.Entry{{Rev: 1, Op: insertAt(0, 0, strings.Repeat("x", 512<<10)), Client: "c", Seq: 1}}
	if err := db.Append(ctx, d.ID, big); err == nil || !strings.Contains(err.Error(), diskFull) {
		t.Fatalf("Append of 512 KiB on a full disk: got %v, want %q", err, diskFull)
	}
	err := db.Health(ctx)
	if err == nil || !strings.Contains(err.Error(), "last commit failed") || !strings.Contains(err.Error(), diskFull) {
		t.Fatalf("Health after a failed commit: got %v, want the commit's failure", err)
	}
	// A refused Append is not a failure of the store, and does not end one.
	if err := db.Append(ctx, d.ID, []oplog.Entry{{Rev: 7, Op: insertAt(0, 0, "y"), Client: "c", Seq: 1}}); !errors.Is(err, oplog.ErrConflict) {
		t.Fatalf("Append at a wrong revision: got %v, want ErrConflict", err)
	}
	if err := db.Health(ctx); err == nil {
		t.Fatalf("Health after a refused Append on a still full disk: got nil, want the failure")
	}

	freeDisk(t, db)
	// The probe writes as much as the failed batch, so it ends the failure.
	if err := db.Health(ctx); err != nil {
		t.Fatalf("Health after the disk has room again: %v", err)
	}
	if err := db.Append(ctx, d.ID, big); err != nil {
		t.Fatalf("Append after the disk has room again: %v", err)
	}
	if err := db.Health(ctx); err != nil {
		t.Fatalf("Health after a successful Append: %v", err)
	}
}

// The committer's record alone: database errors are failures, refusals
// are not, and a batch that writes something ends a failure.
func TestCommitHealthNote(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	d := mustCreate(t, db, "t")
	okEntry := func(rev int) []oplog.Entry {
		return []oplog.Entry{{Rev: rev, Op: insertAt(rev-1, 0, "x"), Client: "c", Seq: rev}}
	}
	failed := func() bool { err, _, _ := db.health.last(); return err != nil }

	if err := db.Append(ctx, d.ID, okEntry(5)); !errors.Is(err, oplog.ErrConflict) {
		t.Fatalf("Append at a wrong revision: %v", err)
	}
	if err := db.Append(ctx, "no-such-doc", okEntry(1)); !errors.Is(err, oplog.ErrNotFound) {
		t.Fatalf("Append to a missing document: %v", err)
	}
	if failed() {
		t.Fatalf("refused Appends recorded as a failure of the store")
	}
	fillDisk(t, db)
	if err := db.Append(ctx, d.ID, []oplog.Entry{{Rev: 1, Op: insertAt(0, 0, strings.Repeat("x", 256<<10)), Client: "c", Seq: 1}}); err == nil {
		t.Fatal("Append of 256 KiB on a full disk succeeded")
	}
	if err, bytes, _ := db.health.last(); err == nil || bytes < 256<<10 {
		t.Fatalf("after a failed commit the record is %v, %d bytes; want the failure and its size", err, bytes)
	}
	freeDisk(t, db)
	if err := db.Append(ctx, d.ID, okEntry(1)); err != nil {
		t.Fatal(err)
	}
	if failed() {
		t.Fatalf("a committed Append did not end the failure")
	}
}

// Another process holding SQLite's write lock keeps the store from
// committing: Health says so within its bound.
func TestHealthWhileAnotherProcessWrites(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t)
	other, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.BeginTx(ctx, nil) // BEGIN IMMEDIATE: takes the write lock
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`UPDATE health SET checked = 0`); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = db.Health(ctx)
	if took := time.Since(start); err == nil || took > 8*time.Second {
		t.Fatalf("Health while another connection holds the write lock: got %v after %v, want an error within the bound", err, took)
	}
	tx.Rollback()
	if err := db.Health(ctx); err != nil {
		t.Fatalf("Health once the lock is free: %v", err)
	}
}
