package ot_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-editor/tandem/ot"
)

func TestApplyCountsUTF16Units(t *testing.T) {
	tests := []struct {
		doc  string
		op   ot.Op
		want string
	}{
		{"", nil, ""},
		{"abc", ot.Op{ot.Retain(3)}, "abc"},
		{"", ot.Op{ot.Insert("hello")}, "hello"},
		{"héllo", ot.Op{ot.Delete(5)}, ""},
		{"你好世界", ot.Op{ot.Retain(2), ot.Insert("中文"), ot.Delete(2)}, "你好中文"},
		{"cafe\u0301", ot.Op{ot.Retain(4), ot.Delete(1)}, "cafe"},
		{"a😀b", ot.Op{ot.Retain(1), ot.Delete(2), ot.Retain(1)}, "ab"},
		{"ab", ot.Op{ot.Retain(1), ot.Insert("🚀"), ot.Retain(1)}, "a🚀b"},
		{"😀😀", ot.Op{ot.Retain(2), ot.Insert("x"), ot.Retain(2)}, "😀x😀"},
	}
	for _, tt := range tests {
		got, err := ot.Apply(tt.doc, tt.op)
		if err != nil {
			t.Errorf("Apply(%q, %v): %v", tt.doc, tt.op, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Apply(%q, %v) = %q, want %q", tt.doc, tt.op, got, tt.want)
		}
	}
}

func TestApplyRefusesWrongBaseLength(t *testing.T) {
	tests := []struct {
		doc string
		op  ot.Op
	}{
		{"abcd", ot.Op{ot.Retain(2), ot.Insert("x")}}, // too short
		{"ab", ot.Op{ot.Retain(3)}},                   // too long
		{"abc", nil},                                  // the empty op only fits ""
		{"", ot.Op{ot.Retain(1)}},
		{"😀", ot.Op{ot.Retain(1)}}, // counts runes, not units
		{"中", ot.Op{ot.Retain(3)}}, // counts bytes, not units
		{"é", ot.Op{ot.Delete(2)}}, // ditto
	}
	for _, tt := range tests {
		if got, err := ot.Apply(tt.doc, tt.op); !errors.Is(err, ot.ErrBaseLength) {
			t.Errorf("Apply(%q, %v) = %q, %v; want ErrBaseLength", tt.doc, tt.op, got, err)
		}
		if got, err := ot.Invert(tt.op, tt.doc); !errors.Is(err, ot.ErrBaseLength) {
			t.Errorf("Invert(%v, %q) = %v, %v; want ErrBaseLength", tt.op, tt.doc, got, err)
		}
	}
}

func TestApplyRefusesSurrogateSplit(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		op   ot.Op
	}{
		{"retain into the middle of an emoji", "😀", ot.Op{ot.Retain(1), ot.Delete(1)}},
		{"retain ends mid-pair, rest retained", "a😀b", ot.Op{ot.Retain(2), ot.Retain(2)}},
		{"delete the high half", "😀", ot.Op{ot.Delete(1), ot.Retain(1)}},
		{"delete the low half", "a😀", ot.Op{ot.Retain(2), ot.Delete(1)}},
		{"delete across the middle of two emoji", "😀🎉", ot.Op{ot.Retain(1), ot.Delete(2), ot.Retain(1)}},
		{"insert between the halves", "😀", ot.Op{ot.Retain(1), ot.Insert("x"), ot.Retain(1)}},
		{"insert an emoji between the halves", "a😀", ot.Op{ot.Retain(2), ot.Insert("🎉"), ot.Retain(1)}},
		{"second of two emoji", "😀🎉", ot.Op{ot.Retain(3), ot.Delete(1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := ot.Apply(tt.doc, tt.op); !errors.Is(err, ot.ErrSurrogateSplit) {
				t.Errorf("Apply(%q, %v) = %q, %v; want ErrSurrogateSplit", tt.doc, tt.op, got, err)
			}
			if got, err := ot.Invert(tt.op, tt.doc); !errors.Is(err, ot.ErrSurrogateSplit) {
				t.Errorf("Invert(%v, %q) = %v, %v; want ErrSurrogateSplit", tt.op, tt.doc, got, err)
			}
		})
	}
}

func TestApplyRefusesInvalidInsert(t *testing.T) {
	// Ops built in Go bypass the JSON checks; Apply must still refuse text
	// that is not valid Unicode.
	for _, s := range []string{"\xff", "a\xed\xa0\xbdb", "\xf0\x9f\x98"} {
		op := ot.Op{ot.Retain(1), ot.Insert(s)}
		if got, err := ot.Apply("a", op); !errors.Is(err, ot.ErrInvalidUnicode) {
			t.Errorf("Apply(%q, %#v) = %q, %v; want ErrInvalidUnicode", "a", op, got, err)
		}
	}
}

func TestApplyRefusesEmptyComponent(t *testing.T) {
	op := ot.Op{ot.Retain(1), {}}
	if got, err := ot.Apply("a", op); !errors.Is(err, ot.ErrBadOp) {
		t.Errorf("Apply(%q, %#v) = %q, %v; want ErrBadOp", "a", op, got, err)
	}
}

func TestInvertRestoresText(t *testing.T) {
	tests := []struct {
		doc  string
		op   ot.Op
		want ot.Op
	}{
		{"", nil, ot.Op{}},
		{"abc", ot.Op{ot.Retain(3)}, ot.Op{ot.Retain(3)}},
		{"", ot.Op{ot.Insert("hello")}, ot.Op{ot.Delete(5)}},
		{"héllo", ot.Op{ot.Delete(5)}, ot.Op{ot.Insert("héllo")}},
		{"你好世界", ot.Op{ot.Retain(2), ot.Insert("中文"), ot.Delete(2)}, ot.Op{ot.Retain(2), ot.Insert("世界"), ot.Delete(2)}},
		{"cafe\u0301", ot.Op{ot.Retain(4), ot.Delete(1)}, ot.Op{ot.Retain(4), ot.Insert("\u0301")}},
		{"a😀b", ot.Op{ot.Retain(1), ot.Delete(2), ot.Retain(1)}, ot.Op{ot.Retain(1), ot.Insert("😀"), ot.Retain(1)}},
		{"ab", ot.Op{ot.Retain(1), ot.Insert("🚀"), ot.Retain(1)}, ot.Op{ot.Retain(1), ot.Delete(2), ot.Retain(1)}},
	}
	for _, tt := range tests {
		inv, err := ot.Invert(tt.op, tt.doc)
		if err != nil {
			t.Fatalf("Invert(%v, %q): %v", tt.op, tt.doc, err)
		}
		if diff := cmp.Diff(tt.want, inv); diff != "" {
			t.Errorf("Invert(%v, %q) = %v, want %v (-want +got):\n%s", tt.op, tt.doc, inv, tt.want, diff)
		}
		after, err := refApply(tt.doc, tt.op)
		if err != nil {
			t.Fatalf("reference apply %v to %q: %v", tt.op, tt.doc, err)
		}
		if back, err := refApply(after, inv); err != nil || back != tt.doc {
			t.Errorf("applying inverse %v to %q = %q, %v; want %q", inv, after, back, err, tt.doc)
		}
	}
}

func TestTransformIndexMovesCursorAfterInsertAtIt(t *testing.T) {
	tests := []struct {
		name string
		pos  int
		op   ot.Op
		want int
	}{
		{"insert exactly at the cursor", 1, ot.Op{ot.Retain(1), ot.Insert("X"), ot.Retain(2)}, 2},
		{"insert at the start with the cursor there", 0, ot.Op{ot.Insert("XY"), ot.Retain(3)}, 2},
		{"insert at the end with the cursor there", 3, ot.Op{ot.Retain(3), ot.Insert("X")}, 4},
		{"insert before the cursor", 2, ot.Op{ot.Retain(1), ot.Insert("X"), ot.Retain(2)}, 3},
		{"insert after the cursor", 1, ot.Op{ot.Retain(2), ot.Insert("X"), ot.Retain(1)}, 1},
		{"astral insert counts two", 1, ot.Op{ot.Retain(1), ot.Insert("😀"), ot.Retain(2)}, 3},
		{"replace at the cursor: insert then delete", 1, ot.Op{ot.Retain(1), ot.Insert("X"), ot.Delete(1), ot.Retain(1)}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ot.TransformIndex(tt.pos, tt.op); got != tt.want {
				t.Errorf("TransformIndex(%d, %v) = %d, want %d", tt.pos, tt.op, got, tt.want)
			}
		})
	}
}

func TestTransformIndexPullsCursorInDeletionToItsStart(t *testing.T) {
	op := ot.Op{ot.Retain(1), ot.Delete(4), ot.Retain(1)} // "abcdef" -> "af"
	for pos, want := range []int{0, 1, 1, 1, 1, 1, 2} {
		if got := ot.TransformIndex(pos, op); got != want {
			t.Errorf("TransformIndex(%d, %v) = %d, want %d", pos, op, got, want)
		}
	}
	all := ot.Op{ot.Delete(3)}
	for pos := 0; pos <= 3; pos++ {
		if got := ot.TransformIndex(pos, all); got != 0 {
			t.Errorf("TransformIndex(%d, %v) = %d, want 0", pos, all, got)
		}
	}
}

func TestTransformSelectionMovesEveryEnd(t *testing.T) {
	op := ot.Op{ot.Retain(1), ot.Insert("X"), ot.Delete(4), ot.Retain(1)} // "abcdef" -> "aXf"
	sel := []ot.Range{{Anchor: 3, Head: 5}, {Anchor: 1, Head: 1}, {Anchor: 6, Head: 0}}
	want := []ot.Range{{Anchor: 2, Head: 2}, {Anchor: 2, Head: 2}, {Anchor: 3, Head: 0}}
	got := ot.TransformSelection(sel, op)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("TransformSelection(%v, %v) (-want +got):\n%s", sel, op, diff)
	}
	if sel[0] != (ot.Range{Anchor: 3, Head: 5}) {
		t.Errorf("TransformSelection changed its argument: %v", sel)
	}
	if got := ot.TransformSelection(nil, op); len(got) != 0 {
		t.Errorf("TransformSelection(nil) = %v, want empty", got)
	}
}
