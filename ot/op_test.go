package ot_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-editor/tandem/ot"
)

func TestLenCountsUTF16Units(t *testing.T) {
	tests := []struct {
		s    string
		want int
	}{
		{"", 0},
		{"abc", 3},
		{"é", 1},          // U+00E9, two UTF-8 bytes
		{"e\u0301", 2},    // e + combining acute: two units
		{"中文", 2},         // three UTF-8 bytes each, one unit each
		{"😀", 2},          // astral: a surrogate pair
		{"a😀b🎉", 6},       // mixed
		{"👍🏽", 4},         // emoji + skin tone modifier: two astral runes
		{"\uffff", 1},     // last BMP code point
		{"\U00010000", 2}, // first astral code point
	}
	for _, tt := range tests {
		if got := ot.Len(tt.s); got != tt.want {
			t.Errorf("Len(%q) = %d, want %d", tt.s, got, tt.want)
		}
	}
}

func TestBuilderKeepsCanonicalForm(t *testing.T) {
	tests := []struct {
		name  string
		build func(op *ot.Op)
		want  ot.Op
	}{
		{"adjacent retains merge", func(op *ot.Op) { op.Retain(1).Retain(2) }, ot.Op{ot.Retain(3)}},
		{"adjacent inserts merge", func(op *ot.Op) { op.Insert("a").Insert("b") }, ot.Op{ot.Insert("ab")}},
		{"adjacent deletes merge", func(op *ot.Op) { op.Delete(1).Delete(2) }, ot.Op{ot.Delete(3)}},
		{"insert moves before a delete", func(op *ot.Op) { op.Retain(1).Delete(2).Insert("x") },
			ot.Op{ot.Retain(1), ot.Insert("x"), ot.Delete(2)}},
		{"insert after insert+delete joins the insert", func(op *ot.Op) { op.Insert("a").Delete(1).Insert("b") },
			ot.Op{ot.Insert("ab"), ot.Delete(1)}},
		{"delete, insert, delete becomes insert then one delete", func(op *ot.Op) { op.Retain(2).Delete(1).Insert("x").Delete(2).Retain(3) },
			ot.Op{ot.Retain(2), ot.Insert("x"), ot.Delete(3), ot.Retain(3)}},
		{"empty insert is dropped", func(op *ot.Op) { op.Retain(1).Insert("").Retain(2) }, ot.Op{ot.Retain(3)}},
		{"zero retain and delete are dropped", func(op *ot.Op) { op.Retain(0).Delete(0).Insert("a") }, ot.Op{ot.Insert("a")}},
		{"trailing retain is kept", func(op *ot.Op) { op.Insert("a").Retain(3) }, ot.Op{ot.Insert("a"), ot.Retain(3)}},
		{"nothing built is the empty op", func(op *ot.Op) {}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var op ot.Op
			tt.build(&op)
			if diff := cmp.Diff(tt.want, op); diff != "" {
				t.Errorf("built %v, want %v (-want +got):\n%s", op, tt.want, diff)
			}
			if err := isCanonical(op); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestNormalizeMatchesOTJS(t *testing.T) {
	// The same cases as the ot.js vectors edge-norm-*.
	tests := []struct {
		name string
		in   ot.Op
		want ot.Op
	}{
		{"merge", ot.Op{ot.Retain(1), ot.Retain(1), ot.Insert("a"), ot.Insert("b"), ot.Delete(1), ot.Delete(1)},
			ot.Op{ot.Retain(2), ot.Insert("ab"), ot.Delete(2)}},
		{"delete then insert", ot.Op{ot.Delete(1), ot.Insert("a")}, ot.Op{ot.Insert("a"), ot.Delete(1)}},
		{"insert delete insert", ot.Op{ot.Insert("a"), ot.Delete(1), ot.Insert("b")}, ot.Op{ot.Insert("ab"), ot.Delete(1)}},
		{"delete insert delete", ot.Op{ot.Retain(2), ot.Delete(1), ot.Insert("x"), ot.Delete(2), ot.Retain(3)},
			ot.Op{ot.Retain(2), ot.Insert("x"), ot.Delete(3), ot.Retain(3)}},
		{"empty", ot.Op{}, ot.Op{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.in)
			got, err := ot.Normalize(tt.in)
			if err != nil {
				t.Fatalf("Normalize(%v): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Normalize(%v) = %v, want %v (-want +got):\n%s", tt.in, got, tt.want, diff)
			}
			if diff := cmp.Diff(in, tt.in); diff != "" {
				t.Errorf("Normalize changed its argument (-before +after):\n%s", diff)
			}
		})
	}
}

func TestNormalizeRefusesEmptyOrAmbiguousComponent(t *testing.T) {
	for _, in := range []ot.Op{
		{ot.Retain(1), {}},
		{{N: 2, S: "x"}},
		{ot.Insert("a"), {N: 0, S: ""}},
	} {
		if got, err := ot.Normalize(in); !errors.Is(err, ot.ErrBadOp) {
			t.Errorf("Normalize(%#v) = %v, %v; want ErrBadOp", in, got, err)
		}
	}
}

func TestLengthsAndNoop(t *testing.T) {
	tests := []struct {
		op           ot.Op
		base, target int
		noop         bool
	}{
		{nil, 0, 0, true},
		{ot.Op{ot.Retain(3)}, 3, 3, true},
		{ot.Op{ot.Insert("hello")}, 0, 5, false},
		{ot.Op{ot.Delete(5)}, 5, 0, false},
		{ot.Op{ot.Retain(1), ot.Insert("🚀"), ot.Retain(1)}, 2, 4, false},
		{ot.Op{ot.Retain(2), ot.Insert("中文"), ot.Delete(2)}, 4, 4, false},
		{ot.Op{ot.Retain(1), ot.Delete(2), ot.Retain(1)}, 4, 2, false},
	}
	for _, tt := range tests {
		if got := tt.op.BaseLen(); got != tt.base {
			t.Errorf("%v.BaseLen() = %d, want %d", tt.op, got, tt.base)
		}
		if got := tt.op.TargetLen(); got != tt.target {
			t.Errorf("%v.TargetLen() = %d, want %d", tt.op, got, tt.target)
		}
		if got := tt.op.IsNoop(); got != tt.noop {
			t.Errorf("%v.IsNoop() = %v, want %v", tt.op, got, tt.noop)
		}
	}
}
