package ot_test

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-editor/tandem/ot"
)

// Run a target with, for example:
//
//	go test -run '^$' -fuzz '^FuzzDecode$' -fuzztime 30s ./ot/
//
// Seeds live in testdata/fuzz/<target>/ and in the f.Add calls below; a
// failure the fuzzer finds is written there too and then runs as a plain
// test on every go test.

// FuzzDecode checks the JSON decoder against a naive reference decoder
// written here: it never panics, accepts exactly what the reference accepts
// (with ErrBadOp or ErrInvalidUnicode otherwise), gives the reference's
// canonical op, and re-encodes to JSON that decodes to the same op.
func FuzzDecode(f *testing.F) {
	f.Add(`[5,"abc",-3]`)                   // the documented example
	f.Add(`[1,1,"a","b",-1,-1]`)            // merging
	f.Add(`[2,-1,"x",-2,3]`)                // insert moved before a delete
	f.Add(`[1,"",2]`)                       // empty insert dropped
	f.Add(`[1,"\ud83d\ude00",1]`)           // escaped surrogate pair: valid
	f.Add(`["\ud83d"]`)                     // lone high surrogate
	f.Add(`["a\ud83dxb"]`)                  // high surrogate then a plain character
	f.Add(`["\ude00"]`)                     // lone low surrogate
	f.Add(`["\\ud83d"]`)                    // an escaped backslash, not an escape
	f.Add(`[0]`)                            // zero
	f.Add(`[-0]`)                           // negative zero
	f.Add(`[1.5, 2.0, 1e1]`)                // non-integers
	f.Add(`[null, true, [1], {"a":1}]`)     // other JSON types
	f.Add(`null`)                           // not an array
	f.Add("[\"\xff\"]")                     // raw invalid UTF-8
	f.Add(`[1099511627776,-1099511627777]`) // at and past the count bound
	f.Fuzz(func(t *testing.T, in string) {
		var got ot.Op
		err := got.UnmarshalJSON([]byte(in))
		want, wantErr := refDecode(in)
		switch {
		case err != nil && wantErr != nil:
			if !errors.Is(err, ot.ErrBadOp) && !errors.Is(err, ot.ErrInvalidUnicode) {
				t.Fatalf("decode %q: error %v is neither ErrBadOp nor ErrInvalidUnicode", in, err)
			}
			if errors.Is(wantErr, ot.ErrInvalidUnicode) != errors.Is(err, ot.ErrInvalidUnicode) {
				t.Fatalf("decode %q: error %v, reference says %v", in, err, wantErr)
			}
			return
		case err != nil:
			t.Fatalf("decode %q: %v; reference accepts it as %v", in, err, want)
		case wantErr != nil:
			t.Fatalf("decode %q = %v; reference refuses it: %v", in, got, wantErr)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("decode %q = %v, reference %v (-reference +got):\n%s", in, got, want, diff)
		}
		if err := isCanonical(got); err != nil {
			t.Fatalf("decode %q: %v", in, err)
		}
		b, err := json.Marshal(got)
		if err != nil {
			t.Fatalf("encode %v: %v", got, err)
		}
		var again ot.Op
		if err := json.Unmarshal(b, &again); err != nil {
			t.Fatalf("decode of re-encoded %s: %v", b, err)
		}
		if diff := cmp.Diff(got, again); diff != "" {
			t.Fatalf("%q decodes to %v, re-encodes to %s, which decodes to %v", in, got, b, again)
		}
	})
}

// refDecode is the reference decoder: encoding/json splits the array, then
// each element is checked by hand. Strings are decoded escape by escape into
// UTF-16 units, so lone surrogates are seen rather than replaced. The
// canonical op is built by grouping: retains merge; between two retains all
// inserts concatenate and all deletes add up, insert first.
func refDecode(in string) (ot.Op, error) {
	if strings.TrimSpace(in) == "null" {
		return nil, ot.ErrBadOp
	}
	var elems []json.RawMessage
	if err := json.Unmarshal([]byte(in), &elems); err != nil {
		return nil, ot.ErrBadOp
	}
	out := ot.Op{}
	var ins strings.Builder
	del, span := 0, 0
	flush := func() {
		if ins.Len() > 0 {
			out = append(out, ot.Insert(ins.String()))
			ins.Reset()
		}
		if del > 0 {
			out = append(out, ot.Delete(del))
			del = 0
		}
	}
	var firstErr error
	fail := func(err error) {
		if firstErr == nil {
			firstErr = err
		}
	}
	for _, e := range elems {
		s := string(e)
		switch {
		case strings.HasPrefix(s, `"`):
			u, err := refString(s)
			if err != nil {
				fail(err)
				continue
			}
			ins.WriteString(string(utf16.Decode(u)))
		default:
			n, ok := refCount(s)
			if !ok {
				fail(ot.ErrBadOp)
				continue
			}
			// Merged counts past the bound would not decode again.
			if span += max(n, -n); span > 1<<40 {
				fail(ot.ErrBadOp)
			}
			if n < 0 {
				del -= n
				continue
			}
			flush()
			if k := len(out); k > 0 && out[k-1].IsRetain() {
				out[k-1].N += n
			} else {
				out = append(out, ot.Retain(n))
			}
		}
	}
	flush()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// refCount accepts only the JSON integers -?[1-9][0-9]* of magnitude at most
// 2^40; the op as a whole must span at most 2^40 units too.
func refCount(s string) (int, bool) {
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || digits[0] < '1' || digits[0] > '9' || len(digits) > 13 {
		return 0, false
	}
	for _, d := range digits {
		if d < '0' || d > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > 1<<40 || n < -(1<<40) {
		return 0, false
	}
	return n, true
}

// refString decodes a JSON string literal (already known to be valid JSON)
// into UTF-16 units and refuses invalid UTF-8 and lone surrogates.
func refString(s string) ([]uint16, error) {
	if !utf8.ValidString(s) {
		return nil, ot.ErrInvalidUnicode
	}
	body := s[1 : len(s)-1]
	var u []uint16
	for i := 0; i < len(body); {
		if body[i] != '\\' {
			r, size := utf8.DecodeRuneInString(body[i:])
			u = utf16.AppendRune(u, r)
			i += size
			continue
		}
		esc := body[i+1]
		i += 2
		switch esc {
		case 'u':
			v, err := strconv.ParseUint(body[i:i+4], 16, 16)
			if err != nil {
				return nil, ot.ErrBadOp
			}
			u = append(u, uint16(v))
			i += 4
		case 'b':
			u = append(u, '\b')
		case 'f':
			u = append(u, '\f')
		case 'n':
			u = append(u, '\n')
		case 'r':
			u = append(u, '\r')
		case 't':
			u = append(u, '\t')
		default: // " \ /
			u = append(u, uint16(esc))
		}
	}
	for i := 0; i < len(u); i++ {
		switch {
		case isHigh(u[i]) && i+1 < len(u) && isLow(u[i+1]):
			i++
		case isHigh(u[i]) || isLow(u[i]):
			return nil, ot.ErrInvalidUnicode
		}
	}
	return u, nil
}

// FuzzApplyTransformCompose builds a document and two ops on it from the
// fuzzer's input, then checks Apply against the reference (including which
// ops must be refused for cutting a surrogate pair), TP1 for Transform, and
// Compose against two applies. Nothing may panic.
//
// Each program drives one op: each byte pair chooses a component (retain, delete,
// insert) and its size or text; a size with the high bit set may end inside
// a surrogate pair, otherwise it is moved to the next character boundary.
func FuzzApplyTransformCompose(f *testing.F) {
	// Each seed: document, then the programs of a and b (both on the
	// document) and of c (on a's result, for Compose).
	f.Add("abc", []byte{0, 0, 2, 0}, []byte{0, 0, 2, 1}, []byte{0, 1, 1, 0})    // inserts "a" and "b" at 1: the tie-break
	f.Add("abcdef", []byte{0, 0, 1, 3}, []byte{0, 2, 2, 5}, []byte{0, 0, 2, 8}) // insert inside a concurrent deletion
	f.Add("a😀b", []byte{0, 0, 1, 1}, []byte{0, 3, 2, 12}, []byte{1, 0})         // delete an emoji against typing one
	f.Add("😀🎉", []byte{0, 0x80, 2, 3}, []byte{1, 2}, []byte(nil))               // a retains half an emoji: refused
	f.Add("中文e\u0301", []byte{1, 3, 2, 7}, []byte{2, 14, 0, 1}, []byte{1, 0})   // CJK and a combining mark
	f.Add("", []byte{2, 12}, []byte{2, 13}, []byte{0, 0x80, 2, 0})              // c keeps half of a's inserted emoji: Compose refuses
	f.Fuzz(func(t *testing.T, doc string, progA, progB, progC []byte) {
		doc = strings.ToValidUTF8(doc, "?")
		if len(doc) > 256 {
			doc = doc[:256]
			doc = strings.ToValidUTF8(doc, "")
		}
		a := fuzzOp(doc, progA)
		b := fuzzOp(doc, progB)
		for _, op := range []ot.Op{a, b} {
			if err := isCanonical(op); err != nil {
				t.Fatalf("fuzzOp built %v", err)
			}
		}
		aPrime, bPrime, err := ot.Transform(a, b)
		if err != nil {
			t.Fatalf("Transform(%v, %v): %v", a, b, err)
		}
		docA, errA := checkApply(t, doc, a)
		docB, errB := checkApply(t, doc, b)
		if errA == nil && errB == nil {
			want := refMerge(doc, a, b)
			if got, err := checkApply(t, docA, bPrime); err != nil || got != want {
				t.Fatalf("doc %q, a %v, b %v: b′ %v on %q = %q, %v; want %q", doc, a, b, bPrime, docA, got, err, want)
			}
			if got, err := checkApply(t, docB, aPrime); err != nil || got != want {
				t.Fatalf("doc %q, a %v, b %v: a′ %v on %q = %q, %v; want %q", doc, a, b, aPrime, docB, got, err, want)
			}
		}
		if errA != nil {
			return
		}
		// Compose: a second op, on a's result.
		c := fuzzOp(docA, progC)
		ac, err := ot.Compose(a, c)
		want, errC := checkApply(t, docA, c)
		switch {
		case err != nil && !errors.Is(err, ot.ErrSurrogateSplit):
			t.Fatalf("Compose(%v, %v): %v", a, c, err)
		case err != nil && errC == nil:
			t.Fatalf("Compose(%v, %v): %v, but %v applies to %q", a, c, err, c, docA)
		case err != nil:
			return
		}
		if err := isCanonical(ac); err != nil {
			t.Fatalf("Compose(%v, %v) = %v: %v", a, c, ac, err)
		}
		if errC != nil {
			// c cuts a pair of a's result; the composed op must cut one of
			// doc, or the pair was inside a's insert (refused above).
			if _, err := ot.Apply(doc, ac); err == nil {
				t.Fatalf("%v cuts a pair of %q but Compose(%v, %v) = %v applies to %q", c, docA, a, c, ac, doc)
			}
			return
		}
		if got, err := checkApply(t, doc, ac); err != nil || got != want {
			t.Fatalf("Apply(%q, Compose(%v, %v) = %v) = %q, %v; want %q", doc, a, c, ac, got, err, want)
		}
	})
}

// checkApply runs Apply and the reference on the same input and fails the
// test unless they agree on the text or on the kind of refusal.
func checkApply(t *testing.T, doc string, op ot.Op) (string, error) {
	t.Helper()
	want, refErr := refApply(doc, op)
	got, err := ot.Apply(doc, op)
	switch {
	case refErr == nil && err == nil:
		if got != want {
			t.Fatalf("Apply(%q, %v) = %q, reference %q", doc, op, got, want)
		}
		return got, nil
	case errors.Is(refErr, errRefSplit) && errors.Is(err, ot.ErrSurrogateSplit),
		errors.Is(refErr, errRefBaseLength) && errors.Is(err, ot.ErrBaseLength):
		return "", err
	default:
		t.Fatalf("Apply(%q, %v) = %q, %v; reference %q, %v", doc, op, got, err, want, refErr)
		return "", nil
	}
}

// fuzzOp interprets prog as an op on doc, always spanning all of doc.
func fuzzOp(doc string, prog []byte) ot.Op {
	u := units(doc)
	var op ot.Op
	pos := 0
	for i := 0; i+1 < len(prog); i += 2 {
		kind, arg := prog[i]%3, prog[i+1]
		if kind == 2 {
			op.Insert(pieces[int(arg)%len(pieces)])
			continue
		}
		if pos == len(u) {
			continue
		}
		n := min(1+int(arg&0x7f)%8, len(u)-pos)
		if arg&0x80 == 0 && insidePair(u, pos+n) {
			n++ // move to the character boundary
		}
		if kind == 0 {
			op.Retain(n)
		} else {
			op.Delete(n)
		}
		pos += n
	}
	if rest := len(u) - pos; rest > 0 {
		op.Retain(rest)
	}
	return op
}
