package ot

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Errors returned by the engine, wrapped with detail; test with errors.Is.
var (
	// ErrBadOp: the operation is malformed (bad JSON, an empty component).
	ErrBadOp = errors.New("malformed operation")
	// ErrBaseLength: the operation does not span the document it is applied
	// to, or two operations do not share a base (Transform) or do not
	// follow one another (Compose).
	ErrBaseLength = errors.New("operation length does not match")
	// ErrSurrogateSplit: the operation would cut a surrogate pair.
	ErrSurrogateSplit = errors.New("operation splits a surrogate pair")
	// ErrInvalidUnicode: inserted text is not valid Unicode (a lone
	// surrogate in JSON, invalid UTF-8 in Go).
	ErrInvalidUnicode = errors.New("invalid unicode in inserted text")
)

// Component is one part of an operation. Exactly one of these holds:
// N > 0 retains N units; N < 0 deletes -N units; N == 0 and S != "" inserts S.
type Component struct {
	N int
	S string
}

// Retain returns a component that keeps n units.
func Retain(n int) Component { return Component{N: n} }

// Insert returns a component that inserts s.
func Insert(s string) Component { return Component{S: s} }

// Delete returns a component that removes n units (n > 0).
func Delete(n int) Component { return Component{N: -n} }

// IsRetain reports whether c keeps text.
func (c Component) IsRetain() bool { return c.N > 0 }

// IsInsert reports whether c inserts text.
func (c Component) IsInsert() bool { return c.N == 0 && c.S != "" }

// IsDelete reports whether c removes text.
func (c Component) IsDelete() bool { return c.N < 0 }

func (c Component) valid() bool { return (c.N != 0) != (c.S != "") }

// Op is an operation: components spanning the whole document. The zero
// value (nil) is the no-op on the empty document. Build ops with the
// Retain, Insert and Delete methods, which keep canonical form.
type Op []Component

// Retain appends a retain of n units, merging with a preceding retain.
func (op *Op) Retain(n int) *Op {
	if n <= 0 {
		return op
	}
	o := *op
	if k := len(o); k > 0 && o[k-1].N > 0 {
		o[k-1].N += n
		return op
	}
	*op = append(o, Component{N: n})
	return op
}

// Insert appends an insert of s. Adjacent inserts merge, and an insert that
// follows a delete is moved before it, as ot.js does.
func (op *Op) Insert(s string) *Op {
	if s == "" {
		return op
	}
	o := *op
	k := len(o)
	switch {
	case k > 0 && o[k-1].IsInsert():
		o[k-1].S += s
	case k > 0 && o[k-1].IsDelete():
		if k > 1 && o[k-2].IsInsert() {
			o[k-2].S += s
		} else {
			d := o[k-1]
			o[k-1] = Component{S: s}
			*op = append(o, d)
		}
	default:
		*op = append(o, Component{S: s})
	}
	return op
}

// Delete appends a delete of n units (n > 0), merging with a preceding one.
func (op *Op) Delete(n int) *Op {
	if n <= 0 {
		return op
	}
	o := *op
	if k := len(o); k > 0 && o[k-1].N < 0 {
		o[k-1].N -= n
		return op
	}
	*op = append(o, Component{N: -n})
	return op
}

func (op *Op) add(c Component) {
	switch {
	case c.N > 0:
		op.Retain(c.N)
	case c.N < 0:
		op.Delete(-c.N)
	default:
		op.Insert(c.S)
	}
}

// Normalize returns op in canonical form. It fails on an empty component.
func Normalize(op Op) (Op, error) {
	out := make(Op, 0, len(op))
	for i, c := range op {
		if !c.valid() {
			return nil, fmt.Errorf("component %d is empty or ambiguous: %w", i, ErrBadOp)
		}
		out.add(c)
	}
	return out, nil
}

// BaseLen is the length, in UTF-16 units, of the text op applies to.
func (op Op) BaseLen() int {
	n := 0
	for _, c := range op {
		if c.N > 0 {
			n += c.N
		} else {
			n -= c.N
		}
	}
	return n
}

// TargetLen is the length, in UTF-16 units, of the text op produces.
func (op Op) TargetLen() int {
	n := 0
	for _, c := range op {
		if c.N > 0 {
			n += c.N
		} else if c.N == 0 {
			n += Len(c.S)
		}
	}
	return n
}

// IsNoop reports whether op changes nothing: it is empty or one retain.
func (op Op) IsNoop() bool {
	return len(op) == 0 || (len(op) == 1 && op[0].N > 0)
}

// String renders op in its JSON form, for messages and tests.
func (op Op) String() string {
	b, err := op.MarshalJSON()
	if err != nil {
		return fmt.Sprintf("%#v", []Component(op))
	}
	return string(b)
}

// Len returns the length of s in UTF-16 code units. s must be valid UTF-8.
func Len(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b&0xC0 != 0x80 {
			n++
		}
		if b >= 0xF0 {
			n++ // a four-byte sequence is an astral rune: two units
		}
	}
	return n
}

// splitAt splits s at UTF-16 offset k. It fails when k falls inside an
// astral character, which a Go string cannot represent half of.
func splitAt(s string, k int) (string, string, error) {
	u := 0
	for i, r := range s {
		if u == k {
			return s[:i], s[i:], nil
		}
		if r >= 0x10000 {
			u += 2
		} else {
			u++
		}
		if u > k {
			return "", "", fmt.Errorf("offset %d falls inside %q: %w", k, r, ErrSurrogateSplit)
		}
	}
	if u == k {
		return s, "", nil
	}
	return "", "", fmt.Errorf("offset %d is past the end of a %d-unit insert: %w", k, u, ErrBaseLength)
}

func validText(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("insert %q: %w", s, ErrInvalidUnicode)
	}
	return nil
}
