package ot

import (
	"time"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// MaxDiffComponents bounds the op Diff returns; past it the op is one
// deletion and one insertion between the common prefix and suffix.
const MaxDiffComponents = 10000

// Diff returns an op that turns a into b and keeps as much of a as a diff
// finds in the time given: text that did not change is retained, so the
// cursors and the authorship in it stay where they are. The diff is
// computed on code points, so it never cuts a surrogate pair. It gives up
// refining after timeout (then the op is still correct, only coarser).
func Diff(a, b string, timeout time.Duration) Op {
	if a == b {
		var op Op
		return *op.Retain(Len(a))
	}
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = timeout
	// Semantic cleanup drops coincidental one-letter equalities inside a
	// changed word: a word replaced is replaced whole, and its letters do
	// not keep the old word's author.
	diffs := dmp.DiffCleanupSemantic(dmp.DiffMain(a, b, len(a) > 10000 || len(b) > 10000))
	op := fromDiffs(diffs)
	if len(op) > MaxDiffComponents {
		op = replaceMiddle(a, b)
	}
	return op
}

func fromDiffs(diffs []diffmatchpatch.Diff) Op {
	var op Op
	for _, d := range diffs {
		switch d.Type {
		case diffmatchpatch.DiffEqual:
			op.Retain(Len(d.Text))
		case diffmatchpatch.DiffDelete:
			op.Delete(Len(d.Text))
		case diffmatchpatch.DiffInsert:
			op.Insert(d.Text)
		}
	}
	return op
}

// replaceMiddle keeps the common prefix and suffix (on code point
// boundaries) and replaces the rest.
func replaceMiddle(a, b string) Op {
	ra, rb := []rune(a), []rune(b)
	p := 0
	for p < len(ra) && p < len(rb) && ra[p] == rb[p] {
		p++
	}
	s := 0
	for s < len(ra)-p && s < len(rb)-p && ra[len(ra)-1-s] == rb[len(rb)-1-s] {
		s++
	}
	var op Op
	op.Retain(Len(string(ra[:p])))
	op.Delete(Len(string(ra[p : len(ra)-s])))
	op.Insert(string(rb[p : len(rb)-s]))
	op.Retain(Len(string(ra[len(ra)-s:])))
	return op
}
