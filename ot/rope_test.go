package ot

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

var ropeSeed = flag.Uint64("rope.seed", 0, "extra seed for TestDocRandomAgainstApply (0: fixed seeds only)")

// Small chunk bounds put chunk ropeBoundaries every few characters, so short
// test texts cross many of them.
const (
	ropeTestMax = 32
	ropeTestMin = 8
)

func smallRope(s string) *Doc { return newDoc(s, ropeTestMax, ropeTestMin) }

// checkRope fails unless d holds want and its chunks keep their invariants.
func checkRope(t *testing.T, d *Doc, want string) {
	t.Helper()
	if got := d.String(); got != want {
		t.Fatalf("text: got %q, want %q", ropeClip(got), ropeClip(want))
	}
	if got, w := d.Len(), Len(want); got != w {
		t.Fatalf("Len: got %d, want %d", got, w)
	}
	if err := d.invariantErr(); err != nil {
		t.Fatal(err)
	}
}

// invariantErr reports the first broken chunk invariant.
func (d *Doc) invariantErr() error { return d.checkChunks(true) }

// checkChunks checks chunk sizes and cached totals and, if deep, the
// content and cached length of every chunk.
func (d *Doc) checkChunks(deep bool) error {
	maxBytes, minBytes := d.limits()
	n, bytes := 0, 0
	for i, c := range d.chunks {
		switch {
		case len(c.b) == 0:
			return fmt.Errorf("chunk %d of %d is empty", i, len(d.chunks))
		case deep && !utf8.Valid(c.b):
			return fmt.Errorf("chunk %d of %d is not valid UTF-8", i, len(d.chunks))
		case deep && !c.astral && strings.ContainsFunc(string(c.b), func(r rune) bool { return r > 0xFFFF }):
			return fmt.Errorf("chunk %d of %d holds an astral character but is not marked as possibly holding one", i, len(d.chunks))
		case deep && c.n != Len(string(c.b)):
			return fmt.Errorf("chunk %d of %d caches length %d, holds %d", i, len(d.chunks), c.n, Len(string(c.b)))
		case len(c.b) > maxBytes:
			return fmt.Errorf("chunk %d of %d has %d bytes, over the maximum %d", i, len(d.chunks), len(c.b), maxBytes)
		case len(d.chunks) > 1 && len(c.b) < minBytes:
			return fmt.Errorf("chunk %d of %d has %d bytes, under the minimum %d", i, len(d.chunks), len(c.b), minBytes)
		}
		n += c.n
		bytes += len(c.b)
	}
	if n != d.n || bytes != d.bytes {
		return fmt.Errorf("cached totals %d units, %d bytes; chunks hold %d, %d", d.n, d.bytes, n, bytes)
	}
	return nil
}

// chunkTexts returns the text of each chunk of d.
func chunkTexts(d *Doc) []string {
	var out []string
	for _, c := range d.chunks {
		out = append(out, string(c.b))
	}
	return out
}

func ropeClip(s string) string {
	if len(s) > 200 {
		return s[:100] + "…" + s[len(s)-100:]
	}
	return s
}

// ropeBoundaries returns the offset of every inner chunk boundary of d.
func ropeBoundaries(d *Doc) []int {
	var out []int
	p := 0
	for _, c := range d.chunks[:max(len(d.chunks)-1, 0)] {
		p += c.n
		out = append(out, p)
	}
	return out
}

// rawOp builds an Op from components, without normalising.
func rawOp(cs ...Component) Op { return Op(cs) }

func TestDocApplyBoundaries(t *testing.T) {
	long := strings.Repeat("abcdefghij", 20) // 200 units, several chunks
	emoji := strings.Repeat("x", 31) + "😀" + strings.Repeat("y", 40)
	tests := []struct {
		name string
		doc  string
		op   Op
		want string
	}{
		{"insert into empty", "", rawOp(Insert("héllo")), "héllo"},
		{"insert at 0", long, rawOp(Insert("<"), Retain(200)), "<" + long},
		{"insert at end", long, rawOp(Retain(200), Insert(">")), long + ">"},
		{"insert at a chunk boundary", long, rawOp(Retain(30), Insert("|"), Retain(170)), long[:30] + "|" + long[30:]},
		{"delete everything", long, rawOp(Delete(200)), ""},
		{"delete across several chunks", long, rawOp(Retain(5), Delete(150), Retain(45)), long[:5] + long[155:]},
		{"replace across chunks", long, rawOp(Retain(10), Insert("中文"), Delete(100), Retain(90)), long[:10] + "中文" + long[110:]},
		{"two edits far apart", long, rawOp(Retain(3), Insert("A"), Retain(190), Delete(2), Insert("B"), Retain(5)), long[:3] + "A" + long[3:193] + "B" + long[195:]},
		{"large insert", "ab", rawOp(Retain(1), Insert(long+long), Retain(1)), "a" + long + long + "b"},
		{"retain only", long, rawOp(Retain(100), Retain(100)), long},
		{"empty op on empty doc", "", nil, ""},
		{"emoji at a chunk boundary: insert before", emoji, rawOp(Retain(31), Insert("!"), Retain(42)), emoji[:31] + "!" + emoji[31:]},
		{"emoji at a chunk boundary: insert after", emoji, rawOp(Retain(33), Insert("!"), Retain(40)), emoji[:35] + "!" + emoji[35:]},
		{"emoji at a chunk boundary: delete it", emoji, rawOp(Retain(31), Delete(2), Retain(40)), emoji[:31] + emoji[35:]},
		{"insert emoji between emoji", "😀😀", rawOp(Retain(2), Insert("👍🏽"), Retain(2)), "😀👍🏽😀"},
		{"combining mark kept apart", "e\u0301", rawOp(Retain(1), Insert("x"), Retain(1)), "ex\u0301"},
	}
	for _, tc := range tests {
		for _, cfg := range []struct {
			name string
			make func(string) *Doc
		}{{"small", smallRope}, {"default", NewDoc}} {
			t.Run(tc.name+"/"+cfg.name, func(t *testing.T) {
				d := cfg.make(tc.doc)
				checkRope(t, d, tc.doc)
				want, err := Apply(tc.doc, tc.op)
				if err != nil || want != tc.want {
					t.Fatalf("test case disagrees with Apply: got %q, %v", want, err)
				}
				if err := d.Apply(tc.op); err != nil {
					t.Fatalf("Apply(%v): %v", tc.op, err)
				}
				checkRope(t, d, tc.want)
			})
		}
	}
}

func TestDocEmojiNeverStraddlesChunks(t *testing.T) {
	// Every chunk cut lands on a character start, whatever the width mix.
	s := strings.Repeat("a😀中é𝄞", 50)
	d := smallRope(s)
	checkRope(t, d, s)
	if len(d.chunks) < 5 {
		t.Fatalf("got %d chunks, want many with small bounds", len(d.chunks))
	}
	for _, p := range ropeBoundaries(d) {
		if d.InPair(p) {
			t.Errorf("chunk boundary %d falls inside a surrogate pair", p)
		}
	}
}

func TestDocApplyRefusals(t *testing.T) {
	// "x😀y" has the pair at units 1-2, so offset 2 cuts it.
	pair := "x😀y"
	long := strings.Repeat("q", 40) + "😀" + strings.Repeat("r", 40)
	tests := []struct {
		name string
		doc  string
		op   Op
		want error
	}{
		{"base too short", "abc", rawOp(Retain(2)), ErrBaseLength},
		{"base too long", "abc", rawOp(Retain(4)), ErrBaseLength},
		{"delete past end", "abc", rawOp(Retain(1), Delete(3)), ErrBaseLength},
		{"insert on a nonempty doc", "abc", rawOp(Insert("x")), ErrBaseLength},
		{"retain ends inside a pair", pair, rawOp(Retain(2), Insert("!"), Retain(2)), ErrSurrogateSplit},
		{"delete ends inside a pair", pair, rawOp(Retain(1), Delete(1), Retain(2)), ErrSurrogateSplit},
		{"delete starts inside a pair", pair, rawOp(Retain(2), Delete(1), Retain(1)), ErrSurrogateSplit},
		{"split retains inside a pair", pair, rawOp(Retain(2), Retain(2)), ErrSurrogateSplit},
		{"pair split far from the start", long, rawOp(Retain(41), Delete(41)), ErrSurrogateSplit},
		{"invalid UTF-8 insert", "abc", rawOp(Retain(1), Insert("\xff"), Retain(2)), ErrInvalidUnicode},
		{"encoded lone surrogate", "abc", rawOp(Insert("\xed\xa0\x80"), Retain(3)), ErrInvalidUnicode},
		{"empty component", "abc", rawOp(Retain(1), Component{}, Retain(2)), ErrBadOp},
		{"valid edit then a bad one", long, rawOp(Insert("ok"), Delete(10), Retain(31), Insert("!"), Retain(41)), ErrSurrogateSplit},
		{"valid edit then bad text", long, rawOp(Delete(10), Insert("ok"), Retain(72), Insert("\xc0")), ErrInvalidUnicode},
	}
	for _, tc := range tests {
		for _, cfg := range []struct {
			name string
			make func(string) *Doc
		}{{"small", smallRope}, {"default", NewDoc}} {
			t.Run(tc.name+"/"+cfg.name, func(t *testing.T) {
				if _, err := Apply(tc.doc, tc.op); !errors.Is(err, tc.want) {
					t.Fatalf("test case disagrees with Apply: got %v, want %v", err, tc.want)
				}
				d := cfg.make(tc.doc)
				before := chunkTexts(d)
				err := d.Apply(tc.op)
				if !errors.Is(err, tc.want) {
					t.Fatalf("Apply(%v): got error %v, want %v", tc.op, err, tc.want)
				}
				checkRope(t, d, tc.doc)
				if !slices.Equal(before, chunkTexts(d)) {
					t.Fatal("a refused op changed the chunk list")
				}
			})
		}
	}
}

func TestDocNewDocSanitizes(t *testing.T) {
	d := NewDoc("a\xffb")
	checkRope(t, d, "a\uFFFDb")
}

func TestDocZeroValue(t *testing.T) {
	var d Doc
	checkRope(t, &d, "")
	if err := d.Apply(rawOp(Insert("hi"))); err != nil {
		t.Fatal(err)
	}
	checkRope(t, &d, "hi")
	if err := d.Apply(rawOp(Delete(2))); err != nil {
		t.Fatal(err)
	}
	checkRope(t, &d, "")
	if len(d.chunks) != 0 {
		t.Errorf("empty doc keeps %d chunks, want 0", len(d.chunks))
	}
}

func TestDocSliceAndInPair(t *testing.T) {
	s := strings.Repeat("ab😀中e\u0301𝄞", 12)
	units := utf16.Encode([]rune(s))
	for _, d := range []*Doc{smallRope(s), NewDoc(s)} {
		checkSliceAndInPair(t, d, units, ropeAllRanges(len(units)))
	}
	if _, err := NewDoc("abc").Slice(2, 1); !errors.Is(err, ErrBaseLength) {
		t.Errorf("Slice(2, 1): got %v, want ErrBaseLength", err)
	}
	if _, err := NewDoc("abc").Slice(0, 4); !errors.Is(err, ErrBaseLength) {
		t.Errorf("Slice(0, 4): got %v, want ErrBaseLength", err)
	}
	if _, err := NewDoc("abc").Slice(-1, 1); !errors.Is(err, ErrBaseLength) {
		t.Errorf("Slice(-1, 1): got %v, want ErrBaseLength", err)
	}
	for _, p := range []int{-1, 0, 3, 4} {
		if NewDoc("a😀").InPair(p) {
			t.Errorf("InPair(%d) on \"a😀\": got true, want false", p)
		}
	}
	if !NewDoc("a😀").InPair(2) {
		t.Error("InPair(2) on \"a😀\": got false, want true")
	}
}

func ropeAllRanges(n int) [][2]int {
	var out [][2]int
	for a := 0; a <= n; a++ {
		for b := a; b <= n; b++ {
			out = append(out, [2]int{a, b})
		}
	}
	return out
}

// checkSliceAndInPair compares Slice, on ranges, and InPair, at both ends
// of every range and one unit either side, with a UTF-16 reference.
func checkSliceAndInPair(t *testing.T, d *Doc, units []uint16, ranges [][2]int) {
	t.Helper()
	inPair := func(p int) bool {
		return p > 0 && p < len(units) && units[p-1] >= 0xD800 && units[p-1] < 0xDC00
	}
	var probes []int
	for _, r := range ranges {
		probes = append(probes, r[0]-1, r[0], r[0]+1, r[1]-1, r[1], r[1]+1)
	}
	for _, p := range probes {
		if got, want := d.InPair(p), inPair(p); got != want {
			t.Fatalf("InPair(%d): got %v, want %v", p, got, want)
		}
	}
	for _, r := range ranges {
		got, err := d.Slice(r[0], r[1])
		if inPair(r[0]) || inPair(r[1]) {
			if !errors.Is(err, ErrSurrogateSplit) {
				t.Fatalf("Slice(%d, %d): got %q, %v, want ErrSurrogateSplit", r[0], r[1], got, err)
			}
			continue
		}
		want := string(utf16.Decode(units[r[0]:r[1]]))
		if err != nil || got != want {
			t.Fatalf("Slice(%d, %d): got %q, %v, want %q", r[0], r[1], ropeClip(got), err, ropeClip(want))
		}
	}
}

func TestDocCloneIsIndependent(t *testing.T) {
	s := strings.Repeat("clone me 😀 ", 20)
	d := smallRope(s)
	c := d.Clone()
	if err := d.Apply(rawOp(Retain(5), Delete(100), Insert("X"), Retain(Len(s)-105))); err != nil {
		t.Fatal(err)
	}
	checkRope(t, c, s)
	want, err := Apply(s, rawOp(Retain(5), Delete(100), Insert("X"), Retain(Len(s)-105)))
	if err != nil {
		t.Fatal(err)
	}
	checkRope(t, d, want)
	if err := c.Apply(rawOp(Insert("Y"), Retain(Len(s)))); err != nil {
		t.Fatal(err)
	}
	checkRope(t, c, "Y"+s)
	checkRope(t, d, want)
}

func TestDocBalanced(t *testing.T) {
	// Typing one character at a time, then deleting it all from the
	// front, keeps the chunk count proportional to the length.
	d := smallRope("")
	for i := range 2000 {
		ch := []string{"a", "b", "中", "😀"}[i%4]
		pos := d.Len() / 2
		if d.InPair(pos) {
			pos--
		}
		var op Op
		op.Retain(pos).Insert(ch).Retain(d.Len() - pos)
		if err := d.Apply(op); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.invariantErr(); err != nil {
		t.Fatal(err)
	}
	if bound := d.bytes/ropeTestMin + 1; len(d.chunks) > bound {
		t.Fatalf("got %d chunks for %d bytes, want at most %d", len(d.chunks), d.bytes, bound)
	}
	for d.Len() > 0 {
		n := min(3, d.Len())
		if d.InPair(n) {
			n++
		}
		var op Op
		op.Delete(n).Retain(d.Len() - n)
		if err := d.Apply(op); err != nil {
			t.Fatal(err)
		}
		if err := d.invariantErr(); err != nil {
			t.Fatal(err)
		}
	}
}

// Random property test: the same rawOp applied to a Doc and, with the
// package-level Apply, to a plain string give the same text and length, and
// are refused by both with the same kind of error.

var ropePieces = []string{
	"a", "b", "c", "x", "y", "z", " ", "\n", "Q",
	"中", "文", "字", "é",
	"e\u0301", "\u0301", // combining mark, alone too
	"😀", "👍🏽", "𝄞", // astral, astral with modifier
}

func ropeText(r *rand.Rand, units int) string {
	var b strings.Builder
	for n := 0; n < units; {
		p := ropePieces[r.IntN(len(ropePieces))]
		b.WriteString(p)
		n += Len(p)
	}
	return b.String()
}

// ropeLen picks a length, mostly small, sometimes spanning many chunks.
func ropeLen(r *rand.Rand, limit int) int {
	if limit <= 0 {
		return 0
	}
	switch r.IntN(10) {
	case 0:
		return r.IntN(limit + 1)
	case 1:
		return r.IntN(min(limit, 5000) + 1)
	default:
		return r.IntN(min(limit, 8) + 1)
	}
}

// ropeOp builds an op for units, usually valid. Offsets may land inside a
// pair (then both sides must refuse), and some rawOp are broken on purpose.
func ropeOp(r *rand.Rand, units []uint16, grow bool) Op {
	n := len(units)
	snap := func(p int) int {
		if r.IntN(20) > 0 && p > 0 && p < n && units[p-1] >= 0xD800 && units[p-1] < 0xDC00 {
			return p - 1
		}
		return p
	}
	var op Op
	p := 0
	edits := 1 + r.IntN(3)
	if r.IntN(4) == 0 {
		edits += r.IntN(6)
	}
	for range edits {
		at := snap(p + r.IntN(n-p+1))
		if at > p {
			op = append(op, Retain(at-p))
		}
		p = at
		ins := ""
		if grow || r.IntN(2) == 0 {
			k := ropeLen(r, 6000)
			if k > 0 {
				ins = ropeText(r, k)
			}
		}
		del := snap(p+ropeLen(r, n-p)) - p
		if !grow && r.IntN(3) == 0 {
			del = snap(p+r.IntN(n-p+1)) - p
		}
		if r.IntN(2) == 0 { // both orders, as a non-canonical op may hold
			if ins != "" {
				op = append(op, Insert(ins))
			}
			if del > 0 {
				op = append(op, Delete(del))
			}
		} else {
			if del > 0 {
				op = append(op, Delete(del))
			}
			if ins != "" {
				op = append(op, Insert(ins))
			}
		}
		p += del
	}
	if p < n {
		at := snap(p + r.IntN(n-p+1))
		if at > p && at < n && r.IntN(3) == 0 {
			op = append(op, Retain(at-p)) // a split retain
			p = at
		}
		op = append(op, Retain(n-p))
	}
	switch r.IntN(25) {
	case 0:
		op = append(op, Retain(1)) // too long
	case 1:
		if len(op) > 0 && op[len(op)-1].N > 1 {
			op[len(op)-1].N-- // too short
		}
	case 2:
		op = append(op[:len(op):len(op)], Insert("\xed\xb0\x80")) // encoded lone surrogate
	case 3:
		i := r.IntN(len(op) + 1)
		op = append(op[:i:i], append(Op{{}}, op[i:]...)...) // empty component
	}
	return op
}

// ropeUnits appends the UTF-16 encoding of s to u.
func ropeUnits(u []uint16, s string) []uint16 {
	for _, r := range s {
		u = utf16.AppendRune(u, r)
	}
	return u
}

var ropeSentinels = []error{ErrBaseLength, ErrSurrogateSplit, ErrInvalidUnicode, ErrBadOp}

func ropeSameKind(a, b error) bool {
	if (a == nil) != (b == nil) {
		return false
	}
	for _, s := range ropeSentinels {
		if errors.Is(a, s) != errors.Is(b, s) {
			return false
		}
	}
	return true
}

func TestDocRandomAgainstApply(t *testing.T) {
	seeds := []uint64{1}
	if *ropeSeed != 0 {
		seeds = append(seeds, *ropeSeed)
	}
	steps := 3000
	if testing.Short() {
		steps = 500
	}
	for _, seed := range seeds {
		for _, cfg := range []struct {
			name               string
			maxBytes, minBytes int
		}{{"small", ropeTestMax, ropeTestMin}, {"default", maxChunk, minChunk}} {
			t.Run(fmt.Sprintf("%s/seed=%d", cfg.name, seed), func(t *testing.T) {
				runRopeRandom(t, seed, steps, cfg.maxBytes, cfg.minBytes)
			})
		}
	}
}

func runRopeRandom(t *testing.T, seed uint64, steps, maxBytes, minBytes int) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 0x726f7065))
	text := ropeText(r, r.IntN(3000))
	d := newDoc(text, maxBytes, minBytes)
	var snap *Doc
	var snapText string
	refused := 0
	var units []uint16
	for step := range steps {
		units = ropeUnits(units[:0], text)
		grow := len(units) < 50_000 && r.IntN(5) > 0
		if len(units) > 40_000 {
			grow = false
		}
		op := ropeOp(r, units, grow)
		want, wantErr := Apply(text, op)
		gotErr := d.Apply(op)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("seed %d (rerun with -rope.seed=%d), step %d, op %.300s: "+format,
				append([]any{seed, seed, step, op.String()}, args...)...)
		}
		if !ropeSameKind(gotErr, wantErr) {
			fail("Doc.Apply error %v, Apply error %v", gotErr, wantErr)
		}
		if wantErr != nil {
			refused++
		} else {
			text = want
		}
		if got := d.String(); got != text {
			fail("text: got %q, want %q", ropeClip(got), ropeClip(text))
		}
		if d.Len() != Len(text) {
			fail("Len: got %d, want %d", d.Len(), Len(text))
		}
		if err := d.checkChunks(step%10 == 0); err != nil {
			fail("%v", err)
		}
		if step%10 == 0 {
			units = ropeUnits(units[:0], text)
			var ranges [][2]int
			for range 20 {
				a := r.IntN(len(units) + 1)
				b := a + ropeLen(r, len(units)-a)
				ranges = append(ranges, [2]int{a, b})
			}
			// Ranges from chunk ropeBoundaries, where offsets change hands.
			if bs := ropeBoundaries(d); len(bs) > 0 {
				for range 20 {
					p := bs[r.IntN(len(bs))]
					ranges = append(ranges, [2]int{p, min(p+1+r.IntN(10), len(units))})
				}
			}
			checkSliceAndInPair(t, d, units, ranges)
		}
		switch {
		case snap == nil && r.IntN(100) == 0:
			snap, snapText = d.Clone(), text
		case snap != nil && r.IntN(100) == 0:
			if got := snap.String(); got != snapText || snap.Len() != Len(snapText) {
				fail("a clone changed with its original: got %q, want %q", ropeClip(got), ropeClip(snapText))
			}
			snap = nil
		}
	}
	if refused == 0 || refused == steps {
		t.Fatalf("seed %d: %d of %d rawOp refused; the generator should mix valid and invalid rawOp", seed, refused, steps)
	}
}

// FuzzDocApply checks Doc.Apply against Apply on arbitrary text and rawOp.
func FuzzDocApply(f *testing.F) {
	f.Add("hello", []byte(`[1,"😀",-2,2]`))               // insert astral, delete
	f.Add("a😀b", []byte(`[2,"x",2]`))                    // split a pair
	f.Add(strings.Repeat("abc", 30), []byte(`[-80,10]`)) // delete across chunks
	f.Add("", []byte(`["\ud83d\ude00"]`))                // escaped pair into empty
	f.Add("中文", []byte(`[1,1,"é"]`))                     // split retain
	f.Fuzz(func(t *testing.T, doc string, raw []byte) {
		if !utf8.ValidString(doc) {
			return
		}
		var op Op
		if err := op.UnmarshalJSON(raw); err != nil {
			return
		}
		want, wantErr := Apply(doc, op)
		d := smallRope(doc)
		gotErr := d.Apply(op)
		if !ropeSameKind(gotErr, wantErr) {
			t.Fatalf("Doc.Apply error %v, Apply error %v", gotErr, wantErr)
		}
		if wantErr != nil {
			want = doc
		}
		checkRope(t, d, want)
	})
}

// TestDocKeystrokesWithClones types, deletes and overwrites a few units at a
// time (the edits made in place) on a Doc and on clones of it taken along
// the way, each edited on its own, and checks every one against a plain
// UTF-16 reference after every step: a clone shares its chunks with its
// original, so an edit in place on a shared chunk would show up in the
// other.
func TestDocKeystrokesWithClones(t *testing.T) {
	steps := 2500
	if testing.Short() {
		steps = 1000
	}
	for _, cfg := range []struct {
		name               string
		maxBytes, minBytes int
	}{{"small", ropeTestMax, ropeTestMin}, {"default", maxChunk, minChunk}} {
		t.Run(cfg.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, 0x6b657973))
			type replica struct {
				d     *Doc
				units []uint16 // the reference text
			}
			start := ropeText(r, 3000)
			reps := []*replica{{newDoc(start, cfg.maxBytes, cfg.minBytes), ropeUnits(nil, start)}}
			for step := range steps {
				if r.IntN(200) == 0 && len(reps) < 6 {
					src := reps[r.IntN(len(reps))]
					reps = append(reps, &replica{src.d.Clone(), slices.Clone(src.units)})
				}
				x := reps[r.IntN(len(reps))]
				n := len(x.units)
				pos := r.IntN(n + 1)
				if pos > 0 && pos < n && utf16.IsSurrogate(rune(x.units[pos-1])) && x.units[pos-1] < 0xDC00 {
					pos-- // not inside a pair
				}
				del := 0
				if r.IntN(3) == 0 {
					del = min(1+r.IntN(3), n-pos)
					if e := pos + del; e < n && x.units[e-1] >= 0xD800 && x.units[e-1] < 0xDC00 {
						del++
					}
				}
				ins := ""
				if del == 0 || r.IntN(2) == 0 {
					ins = ropePieces[r.IntN(len(ropePieces))]
				}
				var op Op
				op.Retain(pos).Insert(ins).Delete(del).Retain(n - pos - del)
				if err := x.d.Apply(op); err != nil {
					t.Fatalf("step %d: Apply(%v): %v", step, op, err)
				}
				x.units = slices.Concat(x.units[:pos:pos], ropeUnits(nil, ins), x.units[pos+del:])
				for i, y := range reps {
					want := string(utf16.Decode(y.units))
					if got := y.d.String(); got != want {
						t.Fatalf("step %d, replica %d of %d: got %q, want %q", step, i, len(reps), ropeClip(got), ropeClip(want))
					}
					if err := y.d.checkChunks(step%50 == 0); err != nil {
						t.Fatalf("step %d, replica %d: %v", step, i, err)
					}
				}
			}
			if len(reps) < 3 {
				t.Fatalf("only %d replicas; the test should clone more", len(reps))
			}
		})
	}
}

// TestDocEditsInPlace checks that a keystroke inside an unshared chunk
// allocates nothing, and that one in a chunk shared with a clone leaves the
// clone's buffer alone.
func TestDocEditsInPlace(t *testing.T) {
	d := NewDoc(strings.Repeat("lorem ipsum ", 2000))
	ins, del := ropeKeystroke(d.Len())
	if a := testing.AllocsPerRun(100, func() {
		if err := d.Apply(ins); err != nil {
			t.Fatal(err)
		}
		if err := d.Apply(del); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("keystroke and backspace: got %v allocations, want 0", a)
	}
	c := d.Clone()
	if err := d.Apply(ins); err != nil {
		t.Fatal(err)
	}
	checkRope(t, c, strings.Repeat("lorem ipsum ", 2000))
	ci, _ := d.find(d.Len() / 2)
	if &d.chunks[ci].b[0] == &c.chunks[ci].b[0] {
		t.Error("a keystroke in a chunk shared with a clone wrote the shared buffer")
	}
}
