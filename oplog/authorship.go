package oplog

import "github.com/tandem-editor/tandem/ot"

// Span is a run of text written by one author: Len UTF-16 units.
type Span struct {
	Len    int
	Author string
}

// Attribute moves the spans of a text through op, made by author: the text
// op keeps stays with its authors, deleted text goes, and inserted text is
// author's. Adjacent spans of one author are merged. The spans must cover
// op's base length; the result covers its target length.
func Attribute(spans []Span, op ot.Op, author string) []Span {
	out := make([]Span, 0, len(spans)+2)
	add := func(n int, a string) {
		if n == 0 {
			return
		}
		if k := len(out) - 1; k >= 0 && out[k].Author == a {
			out[k].Len += n
			return
		}
		out = append(out, Span{n, a})
	}
	i, used := 0, 0 // the span being consumed and how much of it is used
	take := func(n int, keep bool) {
		for n > 0 && i < len(spans) {
			k := min(n, spans[i].Len-used)
			if keep {
				add(k, spans[i].Author)
			}
			n -= k
			used += k
			if used == spans[i].Len {
				i, used = i+1, 0
			}
		}
	}
	for _, c := range op {
		switch {
		case c.IsRetain():
			take(c.N, true)
		case c.IsDelete():
			take(-c.N, false)
		default:
			add(ot.Len(c.S), author)
		}
	}
	take(1<<62, true) // anything past the op (there is none for a well-formed op)
	return out
}
