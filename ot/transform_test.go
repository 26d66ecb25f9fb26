package ot_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-editor/tandem/ot"
)

// op is shorthand for tables: ints are retains (>0) or deletes (<0),
// strings are inserts. It builds the components literally, without
// normalising, so tables show exactly what the engine returns.
func op(parts ...any) ot.Op {
	out := ot.Op{}
	for _, p := range parts {
		switch v := p.(type) {
		case int:
			out = append(out, ot.Component{N: v})
		case string:
			out = append(out, ot.Component{S: v})
		default:
			panic("op: want int or string")
		}
	}
	return out
}

func TestTransformTieBreakPutsFirstOpLeft(t *testing.T) {
	tests := []struct {
		name           string
		doc            string
		a, b           ot.Op
		aPrime, bPrime ot.Op
		want           string
	}{
		{"middle", "abc", op(1, "X", 2), op(1, "Y", 2), op(1, "X", 3), op(2, "Y", 2), "aXYbc"},
		{"middle swapped", "abc", op(1, "Y", 2), op(1, "X", 2), op(1, "Y", 3), op(2, "X", 2), "aYXbc"},
		{"start", "abc", op("X", 3), op("Y", 3), op("X", 4), op(1, "Y", 3), "XYabc"},
		{"end", "abc", op(3, "X"), op(3, "Y"), op(3, "X", 1), op(4, "Y"), "abcXY"},
		{"empty document", "", op("X"), op("Y"), op("X", 1), op(1, "Y"), "XY"},
		{"identical inserts are both kept", "ab", op(1, "X", 1), op(1, "X", 1), op(1, "X", 2), op(2, "X", 1), "aXXb"},
		{"astral", "😀😀", op(2, "🎉", 2), op(2, "👍", 2), op(2, "🎉", 4), op(4, "👍", 2), "😀🎉👍😀"},
		{"replace the same range", "abc", op(1, "X", -1, 1), op(1, "Y", -1, 1), op(1, "X", 2), op(2, "Y", 1), "aXYc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkTransform(t, tt.doc, tt.a, tt.b, tt.aPrime, tt.bPrime, tt.want)
		})
	}
}

func TestTransformInsertInsideDeletionSurvives(t *testing.T) {
	tests := []struct {
		name           string
		doc            string
		a, b           ot.Op
		aPrime, bPrime ot.Op
		want           string
	}{
		{"inside", "abcdef", op(1, -4, 1), op(3, "X", 3), op(1, -2, 1, -2, 1), op(1, "X", 1), "aXf"},
		{"inside, roles swapped", "abcdef", op(3, "X", 3), op(1, -4, 1), op(1, "X", 1), op(1, -2, 1, -2, 1), "aXf"},
		{"at the start of the deletion", "abcdef", op(1, -4, 1), op(1, "X", 5), op(2, -4, 1), op(1, "X", 1), "aXf"},
		{"at the end of the deletion", "abcdef", op(1, -4, 1), op(5, "X", 1), op(1, -4, 2), op(1, "X", 1), "aXf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkTransform(t, tt.doc, tt.a, tt.b, tt.aPrime, tt.bPrime, tt.want)
		})
	}
}

func TestTransformOverlappingDeletesDeleteOnce(t *testing.T) {
	tests := []struct {
		name           string
		doc            string
		a, b           ot.Op
		aPrime, bPrime ot.Op
		want           string
	}{
		{"overlap", "abcdef", op(1, -3, 2), op(2, -3, 1), op(1, -1, 1), op(1, -1, 1), "af"},
		{"identical", "abcdef", op(1, -2, 3), op(1, -2, 3), op(4), op(4), "adef"},
		{"containing", "abcdef", op(-6), op(2, -2, 2), op(-4), op(), ""},
		{"no-op against insert", "abc", op(3), op(1, "X", 2), op(4), op(1, "X", 2), "aXbc"},
		{"empty against empty", "", op(), op(), op(), op(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkTransform(t, tt.doc, tt.a, tt.b, tt.aPrime, tt.bPrime, tt.want)
		})
	}
}

// checkTransform checks Transform's results against the expected ops, and
// the converged text computed by the reference (never by Apply).
func checkTransform(t *testing.T, doc string, a, b, wantA, wantB ot.Op, want string) {
	t.Helper()
	aPrime, bPrime, err := ot.Transform(a, b)
	if err != nil {
		t.Fatalf("Transform(%v, %v): %v", a, b, err)
	}
	if diff := cmp.Diff(wantA, aPrime); diff != "" {
		t.Errorf("Transform(%v, %v) a′ = %v, want %v (-want +got):\n%s", a, b, aPrime, wantA, diff)
	}
	if diff := cmp.Diff(wantB, bPrime); diff != "" {
		t.Errorf("Transform(%v, %v) b′ = %v, want %v (-want +got):\n%s", a, b, bPrime, wantB, diff)
	}
	if got := refMerge(doc, a, b); got != want {
		t.Fatalf("reference merge of %v and %v on %q = %q, want %q (bad table row)", a, b, doc, got, want)
	}
	docA, _ := refApply(doc, a)
	docB, _ := refApply(doc, b)
	for _, step := range []struct {
		name string
		doc  string
		op   ot.Op
	}{{"b′ after a", docA, bPrime}, {"a′ after b", docB, aPrime}} {
		got, err := ot.Apply(step.doc, step.op)
		if err != nil || got != want {
			t.Errorf("%s: Apply(%q, %v) = %q, %v; want %q", step.name, step.doc, step.op, got, err, want)
		}
	}
}

func TestTransformRefusesDifferentBases(t *testing.T) {
	a, b := op(3, "x"), op(2)
	if ap, bp, err := ot.Transform(a, b); !errors.Is(err, ot.ErrBaseLength) {
		t.Errorf("Transform(%v, %v) = %v, %v, %v; want ErrBaseLength", a, b, ap, bp, err)
	}
}

func TestComposeMatchesSequentialApply(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		a, b ot.Op
		want ot.Op
	}{
		{"insert then delete it cancels", "ab", op(1, "XYZ", 1), op(1, -3, 1), op(2)},
		{"delete then insert becomes insert before delete", "abc", op(1, -1, 1), op(1, "X", 1), op(1, "X", -1, 1)},
		{"typing", "", op("a"), op(1, "b"), op("ab")},
		{"empty", "", op(), op(), op()},
		{"partial delete of an insert", "xy", op(1, "héllo", 1), op(2, -2, 3), op(1, "hlo", 1)},
		{"keep part of an astral insert", "", op("😀🎉"), op(2, -2), op("😀")},
		{"delete part of an astral insert", "", op("a😀b"), op(1, -2, 1), op("ab")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ot.Compose(tt.a, tt.b)
			if err != nil {
				t.Fatalf("Compose(%v, %v): %v", tt.a, tt.b, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Compose(%v, %v) = %v, want %v (-want +got):\n%s", tt.a, tt.b, got, tt.want, diff)
			}
			mid, err := refApply(tt.doc, tt.a)
			if err != nil {
				t.Fatal(err)
			}
			want, err := refApply(mid, tt.b)
			if err != nil {
				t.Fatal(err)
			}
			if res, err := ot.Apply(tt.doc, got); err != nil || res != want {
				t.Errorf("Apply(%q, %v) = %q, %v; want %q", tt.doc, got, res, err, want)
			}
		})
	}
}

func TestComposeRefusesSplittingAstralInsert(t *testing.T) {
	tests := []struct {
		name string
		a, b ot.Op
	}{
		{"retain half of an inserted emoji", op("😀"), op(1, -1)},
		{"delete half of an inserted emoji", op("😀"), op(-1, 1)},
		{"insert between the halves of an inserted emoji", op(1, "a😀"), op(3, "x", 1)},
		{"delete from the middle of one emoji into the next", op("😀🎉"), op(1, -2, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := ot.Compose(tt.a, tt.b); !errors.Is(err, ot.ErrSurrogateSplit) {
				t.Errorf("Compose(%v, %v) = %v, %v; want ErrSurrogateSplit", tt.a, tt.b, got, err)
			}
		})
	}
}

func TestComposeRefusesNonConsecutiveOps(t *testing.T) {
	a, b := op(1, "x"), op(1)
	if got, err := ot.Compose(a, b); !errors.Is(err, ot.ErrBaseLength) {
		t.Errorf("Compose(%v, %v) = %v, %v; want ErrBaseLength", a, b, got, err)
	}
}
