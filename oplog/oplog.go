// Package oplog holds the vocabulary of a document's operation log, shared
// by the stores that keep it and the session core that writes it: the
// Entry, the errors a log reports (ErrNotFound, ErrConflict), and Replay,
// the one way to rebuild a text from a snapshot and the entries after it.
//
// It is pure: no I/O, no goroutines, no clock. It imports only package ot.
package oplog

import (
	"errors"
	"fmt"
	"time"

	"github.com/tandem-editor/tandem/ot"
)

// Entry is one applied operation in a document's log: the op that turned
// revision Rev-1 into Rev, as the server applied it (already transformed),
// with the (Client, Seq) that submitted it and when.
type Entry struct {
	Rev    int
	Op     ot.Op
	Client string
	Seq    int
	Time   time.Time
	// Author is the person's stable id ("" if unknown): unlike Client, the
	// same across connections and reloads.
	Author string
	// Inserts, if not nil, says who wrote the op's inserted text (taken end
	// to end), instead of Author: a restore puts back others' text.
	Inserts []Span
}

// Size estimates the bytes an entry holds in memory and on the wire: its
// inserted text plus a few bytes per component. Byte bounds on history,
// catch-ups and pages are counted with it.
func (e Entry) Size() int {
	n := 64 + len(e.Client) + len(e.Author)
	for _, c := range e.Op {
		n += 8 + len(c.S)
	}
	return n
}

var (
	// ErrNotFound: the document (or the revision or entry asked for) does
	// not exist.
	ErrNotFound = errors.New("document not found")
	// ErrConflict: a revision, or a (client, seq), was written first by
	// someone else.
	ErrConflict = errors.New("revision already taken")
)

// Replay applies entries, which must be consecutive and follow revision
// rev, to doc in place, and returns the revision reached. On the rope an op
// costs its components plus a walk over the chunk list, never a copy of
// the whole text, so rebuilding a revision from a snapshot costs
// O(ops × (components + chunks)). On error doc holds the text at the
// revision returned.
func Replay(doc *ot.Doc, rev int, entries []Entry) (int, error) {
	for _, e := range entries {
		if e.Rev != rev+1 {
			return rev, fmt.Errorf("oplog: replay: the log jumps from revision %d to %d", rev, e.Rev)
		}
		if err := doc.Apply(e.Op); err != nil {
			return rev, fmt.Errorf("oplog: replay revision %d: %w", e.Rev, err)
		}
		rev = e.Rev
	}
	return rev, nil
}
