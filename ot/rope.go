package ot

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"unicode/utf8"
)

// Doc layout. A Doc is a list of UTF-8 chunks, each with its UTF-16 length
// cached. UTF-8 rather than []uint16 because the text arrives and leaves as
// Go strings (inserts, String, Slice, storage), so nothing is converted and
// String is one copy. A chunk whose byte length equals its unit length is
// pure ASCII and maps offsets directly; any other chunk is scanned, at most
// maxChunk bytes, eight bytes at a time where it can. A chunk records
// whether it may hold a four-byte (astral) character: if not, its offsets
// need no surrogate-pair checks and a scan counts character starts. A chunk
// never holds part of a character, so no chunk boundary falls inside a
// surrogate pair.
//
// Edits in place. Real editing is keystrokes: an op that inserts and/or
// deletes a little inside one chunk. Such an edit moves the chunk's tail
// within its own buffer, allocated with room to grow, and allocates
// nothing (rebuilding the chunk instead cost a fresh ~3 KB chunk per
// keystroke). Any other edit builds new chunks for the stretch between its
// first and last change, copying each byte it keeps once, and splices them
// into the list.
//
// Sharing. Clone copies only the list, so both Docs then refer to the same
// buffers; it marks every chunk shared in both, and a shared chunk is never
// written: the first edit to it on either side takes the rebuilding way,
// which gives that side its own copy. A chunk not marked shared is
// referenced by one Doc only, which may write it.
//
// Balance: every chunk holds between minChunk and maxChunk bytes, except the
// only chunk of a short document; new chunks are filled to about 3/4 of
// maxChunk so that typing grows a chunk for a while before it splits. The
// chunk count thus stays under bytes/minChunk + 1 (about 350 for 1 MiB of
// fresh text), and finding an offset is a linear scan of the cached lengths
// from the nearer end, which at that size costs less than keeping an index
// up to date on every keystroke. 4 KiB chunks measured as fast as 2 KiB and
// clearly faster than 8 KiB for a keystroke on 1 MiB.
const (
	maxChunk = 4096
	minChunk = 1024
)

// chunk is a piece of the text.
type chunk struct {
	b      []byte // valid UTF-8, never empty; spare capacity is room to type
	n      int    // UTF-16 length of b
	astral bool   // b may hold a four-byte character; if false it holds none
	shared bool   // b may be referenced by another Doc (see Clone): read only
}

// byteAt returns the byte offset of UTF-16 offset u (0 <= u <= c.n) in c.b.
// If u falls between the halves of a surrogate pair, it returns the offset
// of that character and inPair = true.
func (c *chunk) byteAt(u int) (b int, inPair bool) {
	return c.seek(0, 0, u)
}

// seek is byteAt scanning from byte i, which is at offset k <= u.
func (c *chunk) seek(i, k, u int) (int, bool) {
	switch {
	case len(c.b) == c.n: // pure ASCII
		return u, false
	case !c.astral: // one unit per character
		return seekBMP(c.b, i, k, u), false
	}
	return seekAstral(c.b, i, k, u)
}

// seekBMP returns the byte offset of the u-th character start in b (len(b)
// if there are u), counting from byte i, a character start numbered k <= u.
// b holds no four-byte character, so characters are UTF-16 units.
func seekBMP(b []byte, i, k, u int) int {
	for len(b)-i >= 8 {
		// The starts in eight bytes are those not of the form 10xxxxxx.
		w := binary.LittleEndian.Uint64(b[i:])
		starts := 8 - bits.OnesCount64(w&^(w<<1)&0x8080808080808080)
		if k+starts > u {
			break
		}
		i += 8
		k += starts
	}
	for ; i < len(b); i++ {
		if b[i]&0xC0 != 0x80 {
			if k == u {
				return i
			}
			k++
		}
	}
	return len(b)
}

// seekAstral is seek for a chunk that may hold astral characters; inPair as
// for byteAt.
func seekAstral(b []byte, i, k, u int) (int, bool) {
	for i < len(b) && k < u {
		// Real text is mostly ASCII even in a chunk that is not: skip it
		// eight bytes at a time.
		for u-k >= 8 && len(b)-i >= 8 && binary.LittleEndian.Uint64(b[i:])&0x8080808080808080 == 0 {
			i += 8
			k += 8
		}
		if k == u {
			break
		}
		switch x := b[i]; {
		case x < 0x80:
			i++
			k++
		case x < 0xE0:
			i += 2
			k++
		case x < 0xF0:
			i += 3
			k++
		default:
			if k+1 == u {
				return i, true
			}
			i += 4
			k += 2
		}
	}
	return i, false
}

// measure returns the UTF-16 length of b, which must be valid UTF-8, and
// whether it holds a four-byte (astral) character.
func measure(b []byte) (n int, astral bool) {
	for _, x := range b {
		if x&0xC0 != 0x80 {
			n++
		}
		if x >= 0xF0 {
			n++ // a four-byte sequence is an astral rune: two units
			astral = true
		}
	}
	return n, astral
}

// hasAstral reports whether s holds a four-byte character.
func hasAstral(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0xF0 {
			return true
		}
	}
	return false
}

// Doc is a mutable text indexed by UTF-16 code units, kept as a list of
// chunks (see the layout note above) so that applying a keystroke to a
// large document touches one chunk, not the whole text, and usually
// allocates nothing. The zero value is an empty document. A Doc is not safe
// for concurrent use.
type Doc struct {
	chunks []chunk
	n      int // UTF-16 units
	bytes  int // UTF-8 bytes

	// Chunk size bounds; tests shrink them to exercise many boundaries.
	maxBytes, minBytes int

	// Scratch space reused by Apply.
	pend []piece
	out  []chunk
}

// NewDoc returns a Doc holding s. s should be valid UTF-8; invalid bytes
// are replaced with U+FFFD, since the document must stay valid Unicode.
func NewDoc(s string) *Doc {
	return newDoc(s, maxChunk, minChunk)
}

// newDoc builds a Doc with the given chunk bounds, which must satisfy
// maxBytes >= 12 and minBytes <= (maxBytes-maxBytes/4)/2 - 4 so that
// splitting can always honour both (see flush).
func newDoc(s string, maxBytes, minBytes int) *Doc {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	d := &Doc{maxBytes: maxBytes, minBytes: minBytes}
	e := d.emitter()
	e.text(s, Len(s))
	lo, hi := e.finish(0, 0)
	d.splice(lo, hi, e.out)
	d.n = Len(s)
	d.release(e)
	return d
}

// limits returns the chunk bounds, defaulting those of a zero Doc.
func (d *Doc) limits() (maxBytes, minBytes int) {
	if d.maxBytes == 0 {
		return maxChunk, minChunk
	}
	return d.maxBytes, d.minBytes
}

// Len returns the length of the text in UTF-16 code units.
func (d *Doc) Len() int { return d.n }

// String returns the whole text.
func (d *Doc) String() string {
	var b strings.Builder
	b.Grow(d.bytes)
	for _, c := range d.chunks {
		b.Write(c.b)
	}
	return b.String()
}

// Clone returns an independent copy of d. It copies the chunk list only
// and shares the chunks, which it marks shared in both Docs: whichever
// edits a shared chunk first copies it. Clone therefore writes to d (the
// marks) as well as reading it.
func (d *Doc) Clone() *Doc {
	for i := range d.chunks {
		d.chunks[i].shared = true
	}
	return &Doc{chunks: slices.Clone(d.chunks), n: d.n, bytes: d.bytes, maxBytes: d.maxBytes, minBytes: d.minBytes}
}

// find returns the index and starting offset of the chunk holding the unit
// just before p (start < p <= start+n), or chunk 0 when p is 0. An offset on
// a chunk boundary thus belongs to the chunk on its left, so typing at the
// end of a chunk extends it. It returns len(d.chunks) for an empty Doc.
func (d *Doc) find(p int) (ci, start int) {
	if p > d.n/2 { // scan from whichever end is nearer
		start = d.n
		for i := len(d.chunks) - 1; i >= 0; i-- {
			start -= d.chunks[i].n
			if p > start {
				return i, start
			}
		}
		return 0, 0
	}
	for i, c := range d.chunks {
		if p <= start+c.n {
			return i, start
		}
		start += c.n
	}
	return len(d.chunks), start
}

// InPair reports whether pos falls between the two halves of a surrogate
// pair, where no edit may fall; pos-1 is then the start of the pair. It is
// false for any offset outside (0, Len()).
func (d *Doc) InPair(pos int) bool {
	if pos <= 0 || pos >= d.n {
		return false
	}
	ci, start := d.find(pos)
	if !d.chunks[ci].astral {
		return false
	}
	_, in := d.chunks[ci].byteAt(pos - start)
	return in
}

// Slice returns the text between UTF-16 offsets from and to. It fails with
// ErrBaseLength unless 0 <= from <= to <= Len(), and with ErrSurrogateSplit
// if either end cuts a surrogate pair.
func (d *Doc) Slice(from, to int) (string, error) {
	if from < 0 || from > to || to > d.n {
		return "", fmt.Errorf("slice [%d, %d) of a %d-unit document: %w", from, to, d.n, ErrBaseLength)
	}
	for _, p := range [2]int{from, to} {
		if d.InPair(p) {
			return "", fmt.Errorf("slice end %d falls inside a surrogate pair: %w", p, ErrSurrogateSplit)
		}
	}
	if from == to {
		return "", nil
	}
	ci, start := d.find(from + 1) // the chunk holding unit from
	var b strings.Builder
	for from < to {
		c := &d.chunks[ci]
		end := min(to, start+c.n)
		b0, _ := c.byteAt(from - start)
		b1, _ := c.byteAt(end - start)
		if end == to && b.Len() == 0 {
			return string(c.b[b0:b1]), nil // within one chunk: one copy
		}
		b.Write(c.b[b0:b1])
		from, start, ci = end, start+c.n, ci+1
	}
	return b.String(), nil
}

// Apply applies op to d. It performs the same checks as the package-level
// Apply and returns the same kinds of error: ErrBaseLength if op does not
// span the text, ErrSurrogateSplit if a boundary cuts a surrogate pair,
// ErrInvalidUnicode for an insert that is not valid UTF-8, ErrBadOp for an
// empty component. Apply is atomic: the whole op is checked before anything
// changes, so on error d is unchanged.
//
// An edit inside one chunk that keeps it within the size bounds is made in
// place. Otherwise only the chunks between the first and the last edit are
// rebuilt; chunks retained whole inside that span are reused, not copied.
func (d *Doc) Apply(op Op) error {
	if err := d.check(op); err != nil {
		return err
	}
	// The edit span [lead, end) in base offsets: what lies outside the
	// leading and trailing retains.
	f := 0
	lead := 0
	for f < len(op) && op[f].N > 0 {
		lead += op[f].N
		f++
	}
	if f == len(op) {
		return nil // retains only
	}
	l := len(op) - 1
	trail := 0
	for op[l].N > 0 {
		trail += op[l].N
		l--
	}
	end := d.n - trail
	if d.editInPlace(op[f:l+1], lead, end) {
		return nil
	}

	lo, ws := d.find(lead)
	hi, he := lo, ws // hi: index of the chunk holding end; he: its start
	for hi < len(d.chunks) && end > he+d.chunks[hi].n {
		he += d.chunks[hi].n
		hi++
	}
	we := he // end of the window
	if hi < len(d.chunks) {
		we += d.chunks[hi].n
		hi++
	}

	e := d.emitter()
	r := rangeEmitter{d: d, e: e, ci: lo, start: ws}
	r.emit(ws, lead)
	p, n := lead, d.n
	for _, c := range op[f : l+1] {
		switch {
		case c.N > 0:
			r.emit(p, p+c.N)
			p += c.N
		case c.N < 0:
			p -= c.N
			n += c.N
		default:
			u := Len(c.S)
			e.text(c.S, u)
			n += u
		}
	}
	r.emit(end, we)
	lo, hi = e.finish(lo, hi)
	d.splice(lo, hi, e.out)
	d.n = n
	d.release(e)
	return nil
}

// editInPlace makes the edit mid, which replaces the units [lead, end) of
// the text, inside the chunk holding them if it can: mid must be an insert,
// a delete, or an insert then a delete (a keystroke, a backspace, typing
// over a selection), the chunk must not be shared, and its new size must be
// within the chunk bounds. It reports whether it made the edit. The op has
// been checked.
func (d *Doc) editInPlace(mid Op, lead, end int) bool {
	var ins string
	switch {
	case len(mid) == 1 && mid[0].N == 0:
		ins = mid[0].S
	case len(mid) == 1 && mid[0].N < 0:
	case len(mid) == 2 && mid[0].N == 0 && mid[1].N < 0:
		ins = mid[0].S
	default:
		return false
	}
	if len(d.chunks) == 0 {
		return false
	}
	ci, start := d.find(lead)
	if end > start+d.chunks[ci].n && lead == start+d.chunks[ci].n && ci+1 < len(d.chunks) {
		start += d.chunks[ci].n // a delete just after a chunk boundary
		ci++
	}
	c := &d.chunks[ci]
	if c.shared || end > start+c.n {
		return false
	}
	b0, _ := c.seek(0, 0, lead-start)
	b1, _ := c.seek(b0, lead-start, end-start)
	old := len(c.b)
	size := old - (b1 - b0) + len(ins)
	maxBytes, minBytes := d.limits()
	if size == 0 || size > maxBytes || (size < minBytes && len(d.chunks) > 1) {
		return false // the chunk must split, merge or go: rebuild
	}
	if size > cap(c.b) {
		// Double, so that typing into a small chunk grows it in a few
		// steps; size <= maxBytes, so the new buffer holds it.
		b := make([]byte, old, min(maxBytes, max(size, 2*old)))
		copy(b, c.b)
		c.b = b
	}
	c.b = c.b[:max(old, size)]
	copy(c.b[b0+len(ins):], c.b[b1:old]) // a memmove: the ranges may overlap
	copy(c.b[b0:], ins)
	c.b = c.b[:size]
	delta := Len(ins) - (end - lead)
	c.n += delta
	c.astral = c.astral || hasAstral(ins)
	d.n += delta
	d.bytes += size - old
	return true
}

// check validates op against d without changing anything, reporting the
// first fault in the order the package-level Apply meets them.
func (d *Doc) check(op Op) error {
	if n := op.BaseLen(); n != d.n {
		return fmt.Errorf("op spans %d units, document has %d: %w", n, d.n, ErrBaseLength)
	}
	// A cursor over the chunks: the first offset is found from the nearer
	// end of the list, later ones by moving forward, since offsets grow.
	ci, start, located := 0, 0, false
	p := 0
	for i, c := range op {
		switch {
		case c.N != 0:
			n := c.N
			if n < 0 {
				n = -n
			}
			if n <= 0 || n > d.n-p { // only on overflowing counts
				return fmt.Errorf("component %d: %d units past offset %d of a %d-unit document: %w", i, n, p, d.n, ErrBaseLength)
			}
			p += n
			if !located {
				ci, start = d.find(p)
				located = true
			}
			for ci < len(d.chunks) && p > start+d.chunks[ci].n {
				start += d.chunks[ci].n
				ci++
			}
			if ci < len(d.chunks) && p > start && p < start+d.chunks[ci].n && d.chunks[ci].astral {
				if _, in := d.chunks[ci].byteAt(p - start); in {
					return fmt.Errorf("component %d: offset %d falls inside a surrogate pair: %w", i, p, ErrSurrogateSplit)
				}
			}
		case c.S != "":
			if err := validText(c.S); err != nil {
				return fmt.Errorf("component %d: %w", i, err)
			}
		default:
			return fmt.Errorf("component %d is empty: %w", i, ErrBadOp)
		}
	}
	return nil
}

// splice replaces d.chunks[lo:hi] with out and updates the byte count.
func (d *Doc) splice(lo, hi int, out []chunk) {
	for _, c := range d.chunks[lo:hi] {
		d.bytes -= len(c.b)
	}
	for _, c := range out {
		d.bytes += len(c.b)
	}
	if len(out) == hi-lo {
		copy(d.chunks[lo:hi], out) // the usual keystroke: no shifting
		return
	}
	d.chunks = slices.Replace(d.chunks, lo, hi, out...)
}

// emitter hands out an emitter using d's scratch space.
func (d *Doc) emitter() *emitter {
	maxBytes, minBytes := d.limits()
	return &emitter{d: d, max: maxBytes, min: minBytes, pend: d.pend[:0], ascii: true, out: d.out[:0]}
}

// release keeps e's scratch space for the next Apply unless it grew large,
// and drops the references it holds to text.
func (d *Doc) release(e *emitter) {
	clear(e.out) // flush has already cleared pend
	d.pend, d.out = e.pend[:0], e.out[:0]
	if cap(d.out) > 4096 {
		d.out = nil
	}
	if cap(d.pend) > 256 {
		d.pend = nil
	}
}

// emitter turns a stream of text and whole chunks into balanced chunks.
// Pending text is held as references (pieces of chunks and inserts) and
// copied once, straight into the chunks it ends up in; a whole chunk of
// acceptable size passes through without being copied at all. No chunk is
// written while an emitter runs, so the references stay valid.
type emitter struct {
	d        *Doc
	max, min int
	pend     []piece // pending text, in order; every piece valid UTF-8
	pendB    int     // bytes in pend
	ascii    bool    // pend is pure ASCII: lengths need no counting
	out      []chunk
}

// piece is pending text: an insert (s) or part of a chunk (b), never empty.
type piece struct {
	s string
	b []byte
}

func (p piece) len() int {
	if p.b != nil {
		return len(p.b)
	}
	return len(p.s)
}

func (p piece) at(i int) byte {
	if p.b != nil {
		return p.b[i]
	}
	return p.s[i]
}

// copyTo copies p's bytes [from, to) to dst and returns the count.
func (p piece) copyTo(dst []byte, from, to int) int {
	if p.b != nil {
		return copy(dst, p.b[from:to])
	}
	return copy(dst, p.s[from:to])
}

// text appends s, of n UTF-16 units, to the output.
func (e *emitter) text(s string, n int) {
	if s != "" {
		e.add(piece{s: s}, len(s), n)
	}
}

// bytes appends b, part of a chunk, of n UTF-16 units, to the output.
func (e *emitter) bytes(b []byte, n int) {
	if len(b) > 0 {
		e.add(piece{b: b}, len(b), n)
	}
}

func (e *emitter) add(p piece, size, n int) {
	e.pend = append(e.pend, p)
	e.pendB += size
	e.ascii = e.ascii && n == size
}

// chunk appends the whole chunk c to the output.
func (e *emitter) chunk(c chunk) {
	if len(c.b) < e.min || (e.pendB > 0 && e.pendB < e.min) {
		e.bytes(c.b, c.n) // too small to stand alone, or needed to pad pend
		return
	}
	e.flush()
	e.out = append(e.out, c)
}

// flush turns all pending text into chunks, which must be allowed: either
// it holds at least min bytes or it is the whole document.
//
// Up to max bytes make one chunk. More are cut into k near-equal chunks of
// at most target = 3/4 max bytes, each cut moved back to a character start
// (at most 3 bytes): a chunk holds at most target+3 <= max bytes and, as
// the text exceeds (k-1)*target bytes, at least target/2-4 >= min. The
// quarter left free is room to type before a chunk splits again, and each
// buffer gets capacity for it (twice its size, at most max) so that the
// typing is done in place.
func (e *emitter) flush() {
	t := e.pendB
	if t == 0 {
		return
	}
	k := 1
	if t > e.max {
		target := e.max - e.max/4
		k = (t + target - 1) / target
	}
	// Two cursors over the pieces, each a piece at or before an offset and
	// that piece's offset: one finds the cuts, one copies up to them.
	pi, pstart := 0, 0
	ci, cstart := 0, 0
	from := 0
	for i := 1; i <= k; i++ {
		to := t
		if i < k {
			to = i * t / k
			for cstart+e.pend[ci].len() <= to {
				cstart += e.pend[ci].len()
				ci++
			}
			for to > cstart && !utf8.RuneStart(e.pend[ci].at(to-cstart)) {
				to--
			}
		}
		b := make([]byte, to-from, max(to-from, min(e.max, 2*(to-from))))
		for w := 0; from < to; {
			for pstart+e.pend[pi].len() <= from {
				pstart += e.pend[pi].len()
				pi++
			}
			p := e.pend[pi]
			c := p.copyTo(b[w:], from-pstart, min(p.len(), to-pstart))
			w += c
			from += c
		}
		n, astral := len(b), false
		if !e.ascii {
			n, astral = measure(b)
		}
		e.out = append(e.out, chunk{b: b, n: n, astral: astral})
	}
	clear(e.pend)
	e.pend, e.pendB, e.ascii = e.pend[:0], 0, true
}

// finish flushes the pending text for a window that replaces chunks
// [lo, hi) of the Doc. Text too short to be a chunk is merged with the last
// output chunk or, failing that, with a neighbouring chunk of the Doc, which
// widens the window; finish returns the window to replace.
func (e *emitter) finish(lo, hi int) (int, int) {
	chunks := e.d.chunks
	if e.pendB > 0 && e.pendB < e.min {
		switch {
		case len(e.out) > 0:
			last := e.out[len(e.out)-1]
			e.out = e.out[:len(e.out)-1]
			e.prepend(last)
		case hi < len(chunks):
			e.bytes(chunks[hi].b, chunks[hi].n)
			hi++
		case lo > 0:
			e.prepend(chunks[lo-1])
			lo--
		}
	}
	e.flush()
	return lo, hi
}

// prepend puts c's text before the pending text.
func (e *emitter) prepend(c chunk) {
	e.bytes(c.b, c.n)
	copy(e.pend[1:], e.pend[:len(e.pend)-1])
	e.pend[0] = piece{b: c.b}
}

// rangeEmitter feeds ranges of the Doc's current text, at increasing
// offsets, to an emitter: chunks covered whole are passed as chunks.
type rangeEmitter struct {
	d         *Doc
	e         *emitter
	ci, start int // a chunk at or before the next range, and its offset
}

func (r *rangeEmitter) emit(from, to int) {
	for from < to {
		c := &r.d.chunks[r.ci]
		if from >= r.start+c.n {
			r.start += c.n
			r.ci++
			continue
		}
		if from == r.start && to >= r.start+c.n {
			r.e.chunk(*c)
			from = r.start + c.n
			continue
		}
		end := min(to, r.start+c.n)
		b0, _ := c.byteAt(from - r.start)
		b1, _ := c.byteAt(end - r.start)
		r.e.bytes(c.b[b0:b1], end-from)
		from = end
	}
}
