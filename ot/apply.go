package ot

import (
	"fmt"
	"strings"
)

// Apply returns doc with op applied. It refuses an op whose base length
// differs from doc's length, and one that would cut a surrogate pair.
func Apply(doc string, op Op) (string, error) {
	if n := Len(doc); n != op.BaseLen() {
		return "", fmt.Errorf("op spans %d units, document has %d: %w", op.BaseLen(), n, ErrBaseLength)
	}
	var b strings.Builder
	b.Grow(len(doc) + 16)
	rest := doc
	for i, c := range op {
		switch {
		case c.N > 0:
			head, tail, err := splitAt(rest, c.N)
			if err != nil {
				return "", fmt.Errorf("component %d: %w", i, err)
			}
			b.WriteString(head)
			rest = tail
		case c.N < 0:
			_, tail, err := splitAt(rest, -c.N)
			if err != nil {
				return "", fmt.Errorf("component %d: %w", i, err)
			}
			rest = tail
		case c.S != "":
			if err := validText(c.S); err != nil {
				return "", fmt.Errorf("component %d: %w", i, err)
			}
			b.WriteString(c.S)
		default:
			return "", fmt.Errorf("component %d is empty: %w", i, ErrBadOp)
		}
	}
	return b.String(), nil
}

// Invert returns the op that undoes op, given the doc op was applied to.
func Invert(op Op, doc string) (Op, error) {
	if n := Len(doc); n != op.BaseLen() {
		return nil, fmt.Errorf("op spans %d units, document has %d: %w", op.BaseLen(), n, ErrBaseLength)
	}
	inv := make(Op, 0, len(op))
	rest := doc
	for i, c := range op {
		switch {
		case c.N > 0:
			_, tail, err := splitAt(rest, c.N)
			if err != nil {
				return nil, fmt.Errorf("component %d: %w", i, err)
			}
			inv.Retain(c.N)
			rest = tail
		case c.N < 0:
			head, tail, err := splitAt(rest, -c.N)
			if err != nil {
				return nil, fmt.Errorf("component %d: %w", i, err)
			}
			inv.Insert(head)
			rest = tail
		case c.S != "":
			inv.Delete(Len(c.S))
		default:
			return nil, fmt.Errorf("component %d is empty: %w", i, ErrBadOp)
		}
	}
	return inv, nil
}

// TransformIndex moves position pos (in the text op applies to) to the
// matching position in op's result, exactly as ot.js's Selection.transform:
// text inserted at pos puts pos after it; a deleted range around pos pulls
// pos to the start of the range.
func TransformIndex(pos int, op Op) int {
	idx, out := pos, pos
	for _, c := range op {
		switch {
		case c.N > 0:
			idx -= c.N
		case c.N < 0:
			out -= min(idx, -c.N)
			idx += c.N
		default:
			out += Len(c.S)
		}
		if idx < 0 {
			break
		}
	}
	return out
}

// Range is a selection: anchor and head in UTF-16 units. A cursor is a
// range whose anchor equals its head.
type Range struct {
	Anchor, Head int
}

// TransformSelection moves every range of sel through op, as
// TransformIndex does for each end. It returns a new slice.
func TransformSelection(sel []Range, op Op) []Range {
	out := make([]Range, len(sel))
	for i, r := range sel {
		out[i] = Range{TransformIndex(r.Anchor, op), TransformIndex(r.Head, op)}
	}
	return out
}
