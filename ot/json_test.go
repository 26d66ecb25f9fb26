package ot_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-editor/tandem/ot"
)

func decode(t *testing.T, s string) ot.Op {
	t.Helper()
	var op ot.Op
	if err := json.Unmarshal([]byte(s), &op); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return op
}

func TestDecodeNormalizesLikeOTJS(t *testing.T) {
	tests := []struct {
		in   string
		want ot.Op
	}{
		{`[]`, ot.Op{}},
		{`[3]`, ot.Op{ot.Retain(3)}},
		{`[5, "abc", -3]`, ot.Op{ot.Retain(5), ot.Insert("abc"), ot.Delete(3)}},
		{`[1, 1, "a", "b", -1, -1]`, ot.Op{ot.Retain(2), ot.Insert("ab"), ot.Delete(2)}},
		{`[-1, "a"]`, ot.Op{ot.Insert("a"), ot.Delete(1)}},
		{`["a", -1, "b"]`, ot.Op{ot.Insert("ab"), ot.Delete(1)}},
		{`[2, -1, "x", -2, 3]`, ot.Op{ot.Retain(2), ot.Insert("x"), ot.Delete(3), ot.Retain(3)}},
		{`[1, "", 2]`, ot.Op{ot.Retain(3)}},
		{`[""]`, ot.Op{}},
		{` [ 1 , "x" ] `, ot.Op{ot.Retain(1), ot.Insert("x")}},
		// A valid escaped surrogate pair is one astral character.
		{`[1, "\ud83d\ude00"]`, ot.Op{ot.Retain(1), ot.Insert("😀")}},
		{`["\u00e9\n\t\"\\\/"]`, ot.Op{ot.Insert("é\n\t\"\\/")}},
		// An escaped backslash followed by "ud83d" is plain text, not an escape.
		{`["\\ud83d"]`, ot.Op{ot.Insert(`\ud83d`)}},
		{`[1099511627776]`, ot.Op{ot.Retain(1 << 40)}},
	}
	for _, tt := range tests {
		got := decode(t, tt.in)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("decode %s = %v, want %v (-want +got):\n%s", tt.in, got, tt.want, diff)
		}
		if err := isCanonical(got); err != nil {
			t.Errorf("decode %s: %v", tt.in, err)
		}
	}
}

func TestDecodeRefusesMalformed(t *testing.T) {
	for _, in := range []string{
		`[1, 0, 2]`,                 // zero is neither retain nor delete
		`[0]`,                       // ditto
		`[-0]`,                      // negative zero is still zero
		`[1.5]`,                     // not an integer
		`[2.0]`,                     // integral, but written as a float
		`[1e1]`,                     // exponent form
		`[-1E2]`,                    // exponent form
		`[1, null]`,                 // null component
		`[true]`,                    // boolean
		`[false]`,                   // boolean
		`[[1]]`,                     // nested array
		`[{"retain": 1}]`,           // object
		`{"ops": [1]}`,              // not an array
		`"abc"`,                     // not an array
		`3`,                         // not an array
		`null`,                      // not an array (ot.js throws too)
		``,                          // empty input
		`[1,`,                       // truncated
		`[1099511627777]`,           // count beyond the overflow guard
		`[-1099511627777]`,          // ditto, negative
		`[1, 1099511627776]`,        // merged, the retain would pass the bound
		`[1099511627776, -1]`,       // the whole op spans past the bound
		`[99999999999999999999999]`, // does not fit an int
		`[1] [2]`,                   // trailing data
	} {
		var op ot.Op
		err := json.Unmarshal([]byte(in), &op)
		if !errors.Is(err, ot.ErrBadOp) {
			// encoding/json itself refuses syntax errors before our method
			// runs; call the method directly to check its own answer.
			err = op.UnmarshalJSON([]byte(in))
		}
		if !errors.Is(err, ot.ErrBadOp) {
			t.Errorf("decode %s = %v, %v; want ErrBadOp", in, op, err)
		}
	}
}

func TestDecodeRefusesFloat(t *testing.T) {
	// Kept separate and explicit: ot.js accepts a float retain (and then
	// misbehaves), so this is a deliberate difference.
	for _, in := range []string{`[1.5]`, `[2.0]`, `[1e1]`, `[3, 1.0]`} {
		var op ot.Op
		if err := op.UnmarshalJSON([]byte(in)); !errors.Is(err, ot.ErrBadOp) {
			t.Errorf("decode %s = %v, %v; want ErrBadOp", in, op, err)
		}
	}
}

func TestDecodeRefusesInvalidUnicode(t *testing.T) {
	for _, in := range []string{
		`["\ud83d"]`,          // lone high surrogate
		`["\ude00"]`,          // lone low surrogate
		`["a\ud83dxb"]`,       // high surrogate followed by a plain character
		`["\ud83d\u0041"]`,    // high surrogate followed by a BMP escape
		`["\ud83d\ud83d"]`,    // two high surrogates
		`["\ude00\ud83d"]`,    // pair in the wrong order
		`["\ud83d\n"]`,        // high surrogate followed by another escape
		`["ok", "x\udfff"]`,   // the second element is the bad one
		"[\"\xff\"]",          // raw invalid UTF-8
		"[\"a\xed\xa0\xbd\"]", // UTF-8 encoding of a surrogate (CESU-8)
		"[\"\xc3\"]",          // truncated UTF-8 sequence
	} {
		var op ot.Op
		if err := op.UnmarshalJSON([]byte(in)); !errors.Is(err, ot.ErrInvalidUnicode) {
			t.Errorf("decode %q = %v, %v; want ErrInvalidUnicode", in, op, err)
		}
	}
}

func TestEncodeIsOTJSForm(t *testing.T) {
	tests := []struct {
		op   ot.Op
		want string
	}{
		{nil, `[]`},
		{ot.Op{}, `[]`},
		{ot.Op{ot.Retain(5), ot.Insert("abc"), ot.Delete(3)}, `[5,"abc",-3]`},
		{ot.Op{ot.Insert("😀\"\n")}, `["😀\"\n"]`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.op)
		if err != nil {
			t.Fatalf("marshal %#v: %v", tt.op, err)
		}
		// Compare decoded values, not bytes: escaping choices are free.
		var got, want any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("marshal %#v produced invalid JSON %s: %v", tt.op, b, err)
		}
		if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("marshal %#v = %s, want %s (-want +got):\n%s", tt.op, b, tt.want, diff)
		}
		if s := tt.op.String(); s != string(b) {
			t.Errorf("String() = %s, want the JSON form %s", s, b)
		}
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, op := range []ot.Op{
		{},
		{ot.Retain(3)},
		{ot.Retain(1), ot.Insert("中文😀e\u0301<&>"), ot.Delete(2), ot.Retain(1<<40 - 3)}, // spans exactly the bound
		{ot.Insert("\x00\u2028\u2029")},
	} {
		b, err := json.Marshal(op)
		if err != nil {
			t.Fatalf("marshal %#v: %v", op, err)
		}
		var got ot.Op
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		if diff := cmp.Diff(op, got); diff != "" {
			t.Errorf("round trip of %#v through %s (-want +got):\n%s", op, b, diff)
		}
	}
}

func TestDecodeInsideStruct(t *testing.T) {
	// The wire protocol embeds an op in a message; a bad op must fail the
	// whole message with our error.
	var m struct {
		Op ot.Op `json:"op"`
	}
	if err := json.Unmarshal([]byte(`{"op":[1,"\ud83d"]}`), &m); !errors.Is(err, ot.ErrInvalidUnicode) {
		t.Errorf("decode message with lone surrogate: %v, want ErrInvalidUnicode", err)
	}
	// encoding/json hands null to UnmarshalJSON; it is not the empty op.
	if err := json.Unmarshal([]byte(`{"op":null}`), &m); !errors.Is(err, ot.ErrBadOp) {
		t.Errorf("decode message with a null op: %v, want ErrBadOp", err)
	}
	if err := json.Unmarshal([]byte(`{"op":[2,"x",-1]}`), &m); err != nil {
		t.Fatal(err)
	}
	want := ot.Op{ot.Retain(2), ot.Insert("x"), ot.Delete(1)}
	if diff := cmp.Diff(want, m.Op); diff != "" {
		t.Errorf("decoded message op (-want +got):\n%s", diff)
	}
}
