package oplog

import "github.com/tandem-editor/tandem/ot"

// Span is a run of text written by one author: Len UTF-16 units.
type Span struct {
	Len    int
	Author string
}

// Attribute moves the spans of a text through op, made by author: the text
// op keeps stays with its authors, deleted text goes, and inserted text is
// author's — or, if inserts is not nil, the authors it gives for the op's
// inserted text taken end to end (a restore puts back text with the
// authors who wrote it). Adjacent spans of one author are merged. The spans
// must cover op's base length; the result covers its target length.
func Attribute(spans []Span, op ot.Op, author string, inserts []Span) []Span {
	inserts = append([]Span(nil), inserts...) // consumed below
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
			n := ot.Len(c.S)
			for n > 0 && len(inserts) > 0 {
				k := min(n, inserts[0].Len)
				add(k, inserts[0].Author)
				n -= k
				if inserts[0].Len -= k; inserts[0].Len == 0 {
					inserts = inserts[1:]
				}
			}
			add(n, author) // beyond what inserts covers: author's
		}
	}
	take(1<<62, true) // anything past the op (there is none for a well-formed op)
	return out
}

// Slice returns the spans covering [from, to) of the text spans cover.
func Slice(spans []Span, from, to int) []Span {
	var out []Span
	pos := 0
	for _, s := range spans {
		lo, hi := max(from, pos), min(to, pos+s.Len)
		if lo < hi {
			if k := len(out) - 1; k >= 0 && out[k].Author == s.Author {
				out[k].Len += hi - lo
			} else {
				out = append(out, Span{hi - lo, s.Author})
			}
		}
		pos += s.Len
		if pos >= to {
			break
		}
	}
	return out
}
