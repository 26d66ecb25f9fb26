package session

import (
	"context"
	"errors"
	"time"

	"github.com/tandem-editor/tandem/ot"
)

// Entry is one applied operation in a document's log: the op that turned
// revision Rev-1 into Rev, as the server applied it (already transformed),
// with the (Client, Seq) that submitted it.
type Entry struct {
	Rev    int
	Op     ot.Op
	Client string
	Seq    int
	Time   time.Time
}

// Store is what a hub needs from durable storage. Package store implements
// it on SQLite; tests use an in-memory fake. Every method is safe for
// concurrent use. Errors wrap ErrNotFound or ErrConflict where they apply.
type Store interface {
	// Snapshot returns the latest snapshot of the document (revision and
	// text); a document with none is at revision 0 with empty text.
	Snapshot(ctx context.Context, doc string) (rev int, text string, err error)
	// Entries returns the log entries with from <= Rev <= to, in order.
	Entries(ctx context.Context, doc string, from, to int) ([]Entry, error)
	// Append adds entries (consecutive revisions, following the current
	// one) in one transaction and moves the document's revision and
	// updated time. If a revision is already taken (another process wrote
	// it) it fails with ErrConflict and writes nothing.
	Append(ctx context.Context, doc string, entries []Entry) error
	// SaveSnapshot records the text at a revision.
	SaveSnapshot(ctx context.Context, doc string, rev int, text string) error
	// MaxSeq returns the highest seq applied for (doc, client), 0 if none.
	MaxSeq(ctx context.Context, doc, client string) (int, error)
	// RevOf returns the revision that (doc, client, seq) was applied as.
	RevOf(ctx context.Context, doc, client string, seq int) (int, error)
}

var (
	// ErrNotFound: the document does not exist (or was deleted).
	ErrNotFound = errors.New("document not found")
	// ErrConflict: a revision was written by someone else first.
	ErrConflict = errors.New("revision already taken")
)
