package ot_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tandem-editor/tandem/ot"
)

// This file holds the test oracle: a deliberately naive model of the
// operation format that works on UTF-16 code units one component at a time,
// so that no property test computes its expected text with the engine.

// isCanonical reports why op is not in canonical form, or nil: every
// component is exactly one of retain, insert, delete; no two neighbours have
// the same kind; no insert directly follows a delete; inserts are valid
// UTF-8.
func isCanonical(op ot.Op) error {
	for i, c := range op {
		kinds := 0
		for _, k := range []bool{c.IsRetain(), c.IsInsert(), c.IsDelete()} {
			if k {
				kinds++
			}
		}
		if kinds != 1 || (c.N != 0 && c.S != "") {
			return fmt.Errorf("component %d %#v is not exactly one kind", i, c)
		}
		if c.IsInsert() && !utf8.ValidString(c.S) {
			return fmt.Errorf("component %d inserts invalid UTF-8 %q", i, c.S)
		}
		if i == 0 {
			continue
		}
		p := op[i-1]
		switch {
		case p.IsRetain() && c.IsRetain(), p.IsInsert() && c.IsInsert(), p.IsDelete() && c.IsDelete():
			return fmt.Errorf("components %d and %d have the same kind: %v", i-1, i, op)
		case p.IsDelete() && c.IsInsert():
			return fmt.Errorf("insert %d follows a delete: %v", i, op)
		}
	}
	return nil
}

func units(s string) []uint16 { return utf16.Encode([]rune(s)) }

func isHigh(u uint16) bool { return u >= 0xD800 && u < 0xDC00 }
func isLow(u uint16) bool  { return u >= 0xDC00 && u < 0xE000 }

// insidePair reports whether offset p of u falls between the two halves of
// a surrogate pair.
func insidePair(u []uint16, p int) bool {
	return p > 0 && p < len(u) && isHigh(u[p-1]) && isLow(u[p])
}

var (
	errRefBaseLength = errors.New("reference: base length")
	errRefSplit      = errors.New("reference: split pair")
)

// refApply applies op to doc unit by unit. It reports errRefBaseLength when
// op does not span doc and errRefSplit when a component boundary falls
// inside a surrogate pair, which is what Apply must refuse.
func refApply(doc string, op ot.Op) (string, error) {
	src := units(doc)
	base := 0
	for _, c := range op {
		if c.N > 0 {
			base += c.N
		} else {
			base -= c.N
		}
	}
	if base != len(src) {
		return "", errRefBaseLength
	}
	var out []uint16
	pos := 0
	for _, c := range op {
		switch {
		case c.N > 0:
			out = append(out, src[pos:pos+c.N]...)
			pos += c.N
		case c.N < 0:
			pos -= c.N
		default:
			if insidePair(src, pos) {
				return "", errRefSplit
			}
			out = append(out, units(c.S)...)
		}
		if insidePair(src, pos) {
			return "", errRefSplit
		}
	}
	return string(utf16.Decode(out)), nil
}

// gaps describes op as a plain edit of its base text: ins[g] is the text
// inserted at gap g (before unit g), del[i] whether unit i is removed.
func gaps(op ot.Op) (ins []string, del []bool) {
	n := op.BaseLen()
	ins = make([]string, n+1)
	del = make([]bool, n)
	pos := 0
	for _, c := range op {
		switch {
		case c.N > 0:
			pos += c.N
		case c.N < 0:
			for k := 0; k < -c.N; k++ {
				del[pos+k] = true
			}
			pos -= c.N
		default:
			ins[pos] += c.S
		}
	}
	return ins, del
}

// refMerge is the text both sides must converge to after concurrent
// canonical ops a and b on doc: at every gap a's insert then b's, and every
// unit that neither deleted. It knows nothing of Transform.
func refMerge(doc string, a, b ot.Op) string {
	src := units(doc)
	ia, da := gaps(a)
	ib, db := gaps(b)
	var out []uint16
	for g := 0; g <= len(src); g++ {
		out = append(out, units(ia[g])...)
		out = append(out, units(ib[g])...)
		if g < len(src) && !da[g] && !db[g] {
			out = append(out, src[g])
		}
	}
	return string(utf16.Decode(out))
}

// refIndex moves pos through canonical op by counting: the units before pos
// that survive, plus the text inserted at or before pos (so a cursor at an
// insertion point ends after it, one inside a deletion at its start).
func refIndex(pos int, op ot.Op) int {
	ins, del := gaps(op)
	out := 0
	for g := 0; g <= pos && g < len(ins); g++ {
		out += ot.Len(ins[g])
		if g < pos && g < len(del) && !del[g] {
			out++
		}
	}
	return out
}

// pieces mixes ASCII, Latin with a combining mark, CJK, Greek and astral
// characters (two UTF-16 units each).
var pieces = []string{"a", "b", "z", " ", "\n", "é", "e\u0301", "\u0301", "中", "文", "λ", "ж", "😀", "🎉", "👍🏽", "𝄞"}

func randText(r *rand.Rand, maxPieces int) string {
	var b strings.Builder
	for n := r.IntN(maxPieces + 1); n > 0; n-- {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

// randOp returns a random op on doc whose boundaries all fall between
// characters. It builds the op either with the canonical builder or as a raw,
// possibly non-canonical component list passed through Normalize.
func randOp(r *rand.Rand, doc string) ot.Op {
	runes := []rune(doc)
	var raw []ot.Component
	for i := 0; i < len(runes) || r.IntN(3) == 0; {
		if r.IntN(4) == 0 {
			raw = append(raw, ot.Insert(randText(r, 3)))
			if i >= len(runes) {
				break
			}
			continue
		}
		if i >= len(runes) {
			break
		}
		k := 1 + r.IntN(min(len(runes)-i, 6))
		n := ot.Len(string(runes[i : i+k]))
		i += k
		if r.IntN(3) == 0 {
			raw = append(raw, ot.Delete(n))
		} else {
			raw = append(raw, ot.Retain(n))
		}
	}
	if r.IntN(2) == 0 {
		var op ot.Op
		for _, c := range raw {
			switch {
			case c.IsRetain():
				op.Retain(c.N)
			case c.IsDelete():
				op.Delete(-c.N)
			default:
				op.Insert(c.S)
			}
		}
		return op
	}
	// Normalize refuses empty components, which randText can produce.
	kept := raw[:0]
	for _, c := range raw {
		if c.N != 0 || c.S != "" {
			kept = append(kept, c)
		}
	}
	op, err := ot.Normalize(ot.Op(kept))
	if err != nil {
		panic(fmt.Sprintf("normalize %v: %v", kept, err))
	}
	return op
}
