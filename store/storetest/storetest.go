// Package storetest is the contract of Tandem's stores, as tests: Run
// checks a store (SQLite's store.DB, PostgreSQL's postgres.DB) against the
// behaviour the session and the server rely on — documents and their links,
// the log (unique per document and revision, and per document, client and
// seq), snapshots, history, the trash, secrets — so that each store runs
// the same assertions.
//
// It is for tests only.
package storetest

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"time"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/store"
)

// Store is what every Tandem store implements: the methods of store.DB
// that are not about SQLite (its data-folder lock and backup).
type Store interface {
	CreateDoc(ctx context.Context, title string) (store.Doc, error)
	GetDoc(ctx context.Context, id string) (store.Doc, error)
	DocByToken(ctx context.Context, token string) (store.Doc, error)
	ReissueLink(ctx context.Context, id string, which store.Link) (store.Doc, error)
	ListDocs(ctx context.Context) ([]store.Doc, error)
	RenameDoc(ctx context.Context, id, title string) (store.Doc, error)
	DeleteDoc(ctx context.Context, id string) error
	TextAt(ctx context.Context, id string, rev int) (string, error)

	TrashDoc(ctx context.Context, id string, purge time.Time) (store.Doc, error)
	UndeleteDoc(ctx context.Context, id string) (store.Doc, error)
	Trash(ctx context.Context) ([]store.Doc, error)
	PurgeExpired(ctx context.Context, now time.Time) (int, error)

	SaveAuthor(ctx context.Context, doc string, a store.Author) error
	Authors(ctx context.Context, doc string) ([]store.Author, error)
	Versions(ctx context.Context, doc string) ([]store.Version, error)
	NameVersion(ctx context.Context, doc string, v store.Version) (store.Version, error)
	UnnameVersion(ctx context.Context, doc string, rev int) error
	ImportDoc(ctx context.Context, title string, entries []oplog.Entry, authors []store.Author, versions []store.Version) (store.Doc, error)
	Authorship(ctx context.Context, doc string, rev int) ([]oplog.Span, error)

	Snapshot(ctx context.Context, doc string) (int, string, error)
	SaveSnapshot(ctx context.Context, doc string, rev int, text string) error
	PruneSnapshots(ctx context.Context, doc string, from, to int) error
	Append(ctx context.Context, doc string, entries []oplog.Entry) error
	Entries(ctx context.Context, doc string, from, to int) ([]oplog.Entry, error)
	EntriesPage(ctx context.Context, doc string, from, to, maxBytes int) ([]oplog.Entry, error)
	RawPage(ctx context.Context, doc string, from, to, maxBytes int) ([]store.RawEntry, error)
	Seqs(ctx context.Context, doc string) (map[string]int, error)

	Secret(ctx context.Context, name string, size int) ([]byte, error)
	Health(ctx context.Context) error
	Ping(ctx context.Context) error
	Close() error
}

// Tables is what the contract tests need beyond the contract: to look at
// the tables and to change them behind the store's back, as another
// process or a compaction would. A test harness implements it around its
// store (the value open returns must implement both); it is not part of
// any store's API.
type Tables interface {
	// LogLens returns the len_after of each of the document's log rows, by
	// revision.
	LogLens(ctx context.Context, doc string) (map[int]int, error)
	// SnapshotRevs returns the document's snapshot revisions, oldest first.
	SnapshotRevs(ctx context.Context, doc string) ([]int, error)
	// DeleteLog deletes the document's log rows with rev <= to, as a
	// compaction would, leaving the document's row as it is.
	DeleteLog(ctx context.Context, doc string, to int) error
	// InsertOp writes a log row as another writer would, without moving
	// the document's revision, size or seqs.
	InsertOp(ctx context.Context, doc string, rev int, op json.RawMessage, client string, seq, lenAfter int) error
	// DeleteOps deletes the document's log rows written by client.
	DeleteOps(ctx context.Context, doc, client string) error
}

// Base is the time the contract tests' clocks start from (with
// nanoseconds, which every store must keep).
var Base = time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC)

// Clock returns the clock a harness gives its store: Base plus one second
// more on every call, so that documents made one after the other have
// distinct times and the orders that depend on them are certain.
func Clock() func() time.Time {
	var n atomic.Int64
	return func() time.Time { return Base.Add(time.Duration(n.Add(1)) * time.Second) }
}
