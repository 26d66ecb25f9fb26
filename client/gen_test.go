package client

import (
	"math/rand/v2"
	"strings"
	"unicode/utf16"

	"github.com/tandem-editor/tandem/ot"
)

// alphabet mixes one-unit ASCII and CJK with two-unit emoji, so that ops
// and cursors cross surrogate pairs.
var alphabet = []rune("abcxyz \n中文字😀🎉👍")

func randText(r *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteRune(alphabet[r.IntN(len(alphabet))])
	}
	return b.String()
}

// boundaries returns the UTF-16 offsets of every character boundary of s,
// from 0 to its length.
func boundaries(s string) []int {
	out := []int{0}
	u := 0
	for _, c := range s {
		u += len(utf16.Encode([]rune{c}))
		out = append(out, u)
	}
	return out
}

// randOp returns a random op on text with every boundary at a character
// boundary: an insert, a delete, or a replacement.
func randOp(r *rand.Rand, text string) ot.Op {
	b := boundaries(text)
	n := b[len(b)-1]
	i := r.IntN(len(b))
	j := i + r.IntN(min(4, len(b)-i))
	from, to := b[i], b[j]
	ins := ""
	if to == from || r.IntN(3) == 0 {
		ins = randText(r, 1+r.IntN(4))
	}
	var op ot.Op
	op.Retain(from).Delete(to - from).Insert(ins).Retain(n - to)
	return op
}

// randSel returns a random selection of text at character boundaries.
func randSel(r *rand.Rand, text string) []ot.Range {
	b := boundaries(text)
	sel := make([]ot.Range, r.IntN(3))
	for i := range sel {
		sel[i] = ot.Range{Anchor: b[r.IntN(len(b))], Head: b[r.IntN(len(b))]}
	}
	return sel
}
