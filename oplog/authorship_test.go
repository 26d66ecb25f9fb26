package oplog

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tandem-editor/tandem/ot"
)

// The spans agree with a reference that keeps one author per UTF-16 unit
// and moves it through every op, for random ops by random authors.
func TestAttributeAgreesWithAReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	authors := []string{"ada", "bo", "", "cy"}
	for trial := range 200 {
		var spans []Span
		var ref []string // author of each unit
		text := ""
		for step := range 40 {
			op := randomOp(rng, text)
			who := authors[rng.IntN(len(authors))]
			next, err := ot.Apply(text, op)
			if err != nil {
				t.Fatal(err)
			}
			// The reference, unit by unit.
			var out []string
			pos := 0
			for _, c := range op {
				switch {
				case c.IsRetain():
					out = append(out, ref[pos:pos+c.N]...)
					pos += c.N
				case c.IsDelete():
					pos += -c.N
				default:
					for range ot.Len(c.S) {
						out = append(out, who)
					}
				}
			}
			ref, text = out, next
			spans = Attribute(spans, op, who, nil)
			var flat []string
			for k, s := range spans {
				if s.Len <= 0 || (k > 0 && spans[k-1].Author == s.Author) {
					t.Fatalf("trial %d step %d: spans %v not merged or empty", trial, step, spans)
				}
				for range s.Len {
					flat = append(flat, s.Author)
				}
			}
			if strings.Join(flat, ",") != strings.Join(ref, ",") {
				t.Fatalf("trial %d step %d: spans %v, reference %v", trial, step, spans, ref)
			}
		}
	}
}

func randomOp(rng *rand.Rand, text string) ot.Op {
	n := ot.Len(text)
	var op ot.Op
	pos := 0
	for pos < n {
		k := 1 + rng.IntN(n-pos)
		switch rng.IntN(3) {
		case 0:
			op.Retain(k)
		case 1:
			op.Delete(k)
		default:
			op.Insert(strings.Repeat("x", 1+rng.IntN(3)))
			continue
		}
		pos += k
	}
	if rng.IntN(2) == 0 {
		op.Insert("yz")
	}
	return op
}

func TestAttributeWithInsertAuthors(t *testing.T) {
	// "hello" by ada; an op keeps "he", deletes "ll", inserts "LL" (by bo
	// and cy, as the inserts say) and "!" (beyond them: the op's author).
	spans := []Span{{5, "ada"}}
	op := ot.Op{ot.Retain(2), ot.Delete(2), ot.Insert("LL"), ot.Retain(1), ot.Insert("!")}
	got := Attribute(spans, op, "dan", []Span{{1, "bo"}, {1, "cy"}})
	want := []Span{{2, "ada"}, {1, "bo"}, {1, "cy"}, {1, "ada"}, {1, "dan"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if s := Slice([]Span{{3, "a"}, {2, "b"}, {4, "a"}}, 2, 7); fmt.Sprint(s) != fmt.Sprint([]Span{{1, "a"}, {2, "b"}, {2, "a"}}) {
		t.Fatalf("Slice: %v", s)
	}
}
