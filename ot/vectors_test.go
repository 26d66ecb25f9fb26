package ot_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tandem-editor/tandem/ot"
)

// The vectors in testdata/vectors were computed with ot.js 0.0.15 (see the
// README there). Every case must give exactly ot.js's results, except the
// ones listed here, which ot.js accepts and we refuse on purpose.
var refusedOnPurpose = map[string]string{
	// The current vector files contain none: they cut astral characters only
	// at character boundaries and use integer counts. A case that splits a
	// surrogate pair or uses a float count would be listed here with its
	// reason, e.g. "astral-17": "deletes the low half of 😀".
}

// TestRefusalsOTJSWouldAccept lists, beyond the vectors, the inputs ot.js
// 0.0.15 accepts and we refuse on purpose, each with the reason: they would
// leave invalid Unicode in the text, or are not the integers the format
// means.
func TestRefusalsOTJSWouldAccept(t *testing.T) {
	tests := []struct {
		name   string
		run    func() error
		want   error
		reason string
	}{
		{"float retain", decodeErr(`[1.5]`), ot.ErrBadOp, "ot.js keeps 1.5 and slices strings with it"},
		{"integral float", decodeErr(`[2.0]`), ot.ErrBadOp, "JSON.parse reads 2; we accept only integer syntax, as the protocol says"},
		{"exponent", decodeErr(`[1e1]`), ot.ErrBadOp, "JSON.parse reads 10; ditto"},
		{"huge count", decodeErr(`[1099511627777]`), ot.ErrBadOp, "no document is that long; the bound keeps sums from overflowing"},
		{"lone surrogate insert", decodeErr(`[1,"\ud83d"]`), ot.ErrInvalidUnicode, "ot.js inserts half a character"},
		{"insert between the halves of an emoji", applyErr("😀", op(1, "x", 1)), ot.ErrSurrogateSplit, "ot.js splits 😀 into two lone surrogates"},
		{"delete half an emoji", applyErr("😀", op(1, -1)), ot.ErrSurrogateSplit, "ot.js leaves a lone surrogate"},
		{"compose keeps half an inserted emoji", func() error {
			_, err := ot.Compose(op("😀"), op(1, -1))
			return err
		}, ot.ErrSurrogateSplit, "ot.js composes to [\"\\ud83d\"]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v (we refuse because %s)", err, tt.want, tt.reason)
			}
		})
	}
}

func decodeErr(s string) func() error {
	return func() error {
		var o ot.Op
		return json.Unmarshal([]byte(s), &o)
	}
}

func applyErr(doc string, o ot.Op) func() error {
	return func() error {
		_, err := ot.Apply(doc, o)
		return err
	}
}

// vectorOutcome holds every result field of every case kind; a case fills
// the fields of its kind. Ops are compared decoded, component by component.
type vectorOutcome struct {
	Normalized      ot.Op
	BaseLength      int
	TargetLength    int
	IsNoop          bool
	Result          string
	ResultLength    int
	Inverse         ot.Op
	InverseRestores bool

	APrime, BPrime           ot.Op
	DocA, DocB, DocAB, DocBA string
	Converged                bool

	Composed          ot.Op
	ComposedResult    string
	ComposeConsistent bool

	Steps    []vectorStep
	Revision int

	Selection []ot.Range
}

type vectorStep struct {
	Op       ot.Op
	Revision int
	Doc      string
}

type vectorCase struct {
	ID          string          `json:"id"`
	Kind        string          `json:"kind"`
	Doc         string          `json:"doc"`
	Op          json.RawMessage `json:"op"`
	A           json.RawMessage `json:"a"`
	B           json.RawMessage `json:"b"`
	Submissions []struct {
		Revision int             `json:"revision"`
		Op       json.RawMessage `json:"op"`
	} `json:"submissions"`
	Selection struct {
		Ranges []ot.Range `json:"ranges"`
	} `json:"selection"`
	Note string `json:"note"`
}

func TestVectorsAgreeWithOTJS(t *testing.T) {
	for _, set := range []struct{ cases, expected string }{
		{"cases.json", "expected.json"},
		{"cases-astral.json", "expected-astral.json"},
	} {
		t.Run(set.cases, func(t *testing.T) {
			cases, results := loadVectors(t, set.cases, set.expected)
			seen := 0
			for _, c := range cases {
				t.Run(c.ID, func(t *testing.T) {
					res, ok := results[c.ID]
					if !ok {
						t.Fatalf("no expected result for case %s", c.ID)
					}
					seen++
					checkVector(t, c, res)
				})
			}
			if seen != len(results) {
				t.Errorf("%d expected results, %d matched a case", len(results), seen)
			}
			if len(cases) < 100 {
				t.Errorf("only %d cases read from %s", len(cases), set.cases)
			}
		})
	}
	// Every id in the table must exist, or the table has gone stale.
	for id := range refusedOnPurpose {
		found := false
		for _, f := range []string{"cases.json", "cases-astral.json"} {
			b, err := os.ReadFile(filepath.Join("testdata", "vectors", f))
			if err != nil {
				t.Fatal(err)
			}
			found = found || bytes.Contains(b, []byte(`"id": "`+id+`"`))
		}
		if !found {
			t.Errorf("refusedOnPurpose lists %s, which is in no vector file", id)
		}
	}
}

func loadVectors(t *testing.T, casesFile, expectedFile string) ([]vectorCase, map[string]map[string]json.RawMessage) {
	t.Helper()
	var cases struct {
		Cases []vectorCase `json:"cases"`
	}
	var expected struct {
		Results []map[string]json.RawMessage `json:"results"`
	}
	for _, f := range []struct {
		name string
		dst  any
	}{{casesFile, &cases}, {expectedFile, &expected}} {
		b, err := os.ReadFile(filepath.Join("testdata", "vectors", f.name))
		if err != nil {
			t.Fatalf("read vectors: %v", err)
		}
		if err := json.Unmarshal(b, f.dst); err != nil {
			t.Fatalf("decode %s: %v", f.name, err)
		}
	}
	results := make(map[string]map[string]json.RawMessage, len(expected.Results))
	for _, r := range expected.Results {
		var id string
		if err := json.Unmarshal(r["id"], &id); err != nil || id == "" {
			t.Fatalf("%s: result without an id: %v", expectedFile, err)
		}
		results[id] = r
	}
	if len(cases.Cases) != len(results) {
		t.Errorf("%s has %d cases, %s %d results", casesFile, len(cases.Cases), expectedFile, len(results))
	}
	return cases.Cases, results
}

func checkVector(t *testing.T, c vectorCase, res map[string]json.RawMessage) {
	var okWant bool
	if err := json.Unmarshal(res["ok"], &okWant); err != nil {
		t.Fatalf("result has no ok field: %v", err)
	}
	got, err := runVector(t, c)
	reason, onPurpose := refusedOnPurpose[c.ID]
	switch {
	case !okWant && err == nil:
		t.Fatalf("ot.js refused this case (%s) but we accepted it: %+v", res["error"], got)
	case !okWant:
		if !isEngineError(err) {
			t.Errorf("refused with %v, want one of the engine's errors", err)
		}
		return
	case onPurpose && err == nil:
		t.Fatalf("listed as refused on purpose (%s) but we accept it; remove it from refusedOnPurpose", reason)
	case onPurpose:
		if !isEngineError(err) {
			t.Errorf("refused with %v, want one of the engine's errors", err)
		}
		t.Logf("ot.js accepts, we refuse on purpose (%s): %v", reason, err)
		return
	case err != nil:
		t.Fatalf("ot.js accepts this case, we refuse it: %v (case %s)", err, c.Note)
	}

	f := expectFields{t: t, m: res, used: map[string]bool{"id": true, "kind": true, "ok": true}}
	var want vectorOutcome
	switch c.Kind {
	case "normalize", "op":
		want.Normalized = f.op("normalized")
		f.get("base_length", &want.BaseLength)
		f.get("target_length", &want.TargetLength)
		f.get("is_noop", &want.IsNoop)
		if c.Kind == "op" {
			f.get("result", &want.Result)
			f.get("result_length", &want.ResultLength)
			want.Inverse = f.op("inverse")
			f.get("inverse_restores", &want.InverseRestores)
		}
	case "transform":
		want.APrime = f.op("a_prime")
		want.BPrime = f.op("b_prime")
		f.get("doc_a", &want.DocA)
		f.get("doc_b", &want.DocB)
		f.get("doc_ab", &want.DocAB)
		f.get("doc_ba", &want.DocBA)
		f.get("converged", &want.Converged)
		f.get("result", &want.Result)
	case "compose":
		want.Composed = f.op("composed")
		f.get("doc_a", &want.DocA)
		f.get("result", &want.Result)
		f.get("composed_result", &want.ComposedResult)
		f.get("compose_consistent", &want.ComposeConsistent)
	case "server":
		var steps []struct {
			Op       json.RawMessage `json:"op"`
			Revision int             `json:"revision"`
			Doc      string          `json:"doc"`
		}
		f.get("steps", &steps)
		for _, s := range steps {
			want.Steps = append(want.Steps, vectorStep{Op: literalOp(t, s.Op), Revision: s.Revision, Doc: s.Doc})
		}
		f.get("result", &want.Result)
		f.get("revision", &want.Revision)
	case "cursor":
		var sel struct {
			Ranges []ot.Range `json:"ranges"`
		}
		f.get("selection", &sel)
		want.Selection = sel.Ranges
		f.get("result", &want.Result)
	default:
		t.Fatalf("unknown case kind %q", c.Kind)
	}
	f.allUsed()
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("case %s (%s) on %q (%s): got %+v\nwant %+v\n(-want +got):\n%s", c.ID, c.Kind, c.Doc, c.Note, got, want, diff)
	}
}

func isEngineError(err error) bool {
	for _, e := range []error{ot.ErrBadOp, ot.ErrBaseLength, ot.ErrSurrogateSplit, ot.ErrInvalidUnicode} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// vectorRun computes our outcome for one case. Its first error means we
// refuse the case; an op the engine returns that is not canonical fails the
// test outright.
type vectorRun struct {
	t   *testing.T
	err error
}

func (r *vectorRun) decode(raw json.RawMessage) (ot.Op, error) {
	var op ot.Op
	if err := json.Unmarshal(raw, &op); err != nil {
		return nil, err
	}
	if err := isCanonical(op); err != nil {
		r.t.Errorf("decoded %s: %v", raw, err)
	}
	return op, nil
}

// apply records the first failure and lets the caller carry on, so that
// the steps below read as a plain sequence.
func (r *vectorRun) apply(doc string, op ot.Op) string {
	if err := isCanonical(op); err != nil {
		r.t.Errorf("engine returned %v", err)
	}
	s, err := ot.Apply(doc, op)
	if err != nil && r.err == nil {
		r.err = err
	}
	return s
}

func runVector(t *testing.T, c vectorCase) (vectorOutcome, error) {
	r := &vectorRun{t: t}
	var out vectorOutcome
	if err := r.steps(c, &out); err != nil {
		return out, err
	}
	return out, r.err
}

func (r *vectorRun) steps(c vectorCase, out *vectorOutcome) error {
	decode, apply := r.decode, r.apply
	switch c.Kind {
	case "normalize", "op":
		op, err := decode(c.Op)
		if err != nil {
			return err
		}
		out.Normalized, out.BaseLength, out.TargetLength, out.IsNoop = op, op.BaseLen(), op.TargetLen(), op.IsNoop()
		if c.Kind == "normalize" {
			return nil
		}
		out.Result = apply(c.Doc, op)
		out.ResultLength = ot.Len(out.Result)
		if out.Inverse, err = ot.Invert(op, c.Doc); err != nil {
			return err
		}
		out.InverseRestores = apply(out.Result, out.Inverse) == c.Doc
	case "transform":
		a, err := decode(c.A)
		if err != nil {
			return err
		}
		b, err := decode(c.B)
		if err != nil {
			return err
		}
		if out.APrime, out.BPrime, err = ot.Transform(a, b); err != nil {
			return err
		}
		out.DocA, out.DocB = apply(c.Doc, a), apply(c.Doc, b)
		out.DocAB, out.DocBA = apply(out.DocA, out.BPrime), apply(out.DocB, out.APrime)
		out.Converged = out.DocAB == out.DocBA
		out.Result = out.DocAB
	case "compose":
		a, err := decode(c.A)
		if err != nil {
			return err
		}
		b, err := decode(c.B)
		if err != nil {
			return err
		}
		out.DocA = apply(c.Doc, a)
		out.Result = apply(out.DocA, b)
		if out.Composed, err = ot.Compose(a, b); err != nil {
			return err
		}
		out.ComposedResult = apply(c.Doc, out.Composed)
		out.ComposeConsistent = out.ComposedResult == out.Result
	case "server":
		// ot.js's Server.receiveOperation: refuse a revision outside the
		// history, transform against every op applied since, apply, append.
		doc := c.Doc
		var history []ot.Op
		for i, s := range c.Submissions {
			op, err := decode(s.Op)
			if err != nil {
				return err
			}
			if s.Revision < 0 || s.Revision > len(history) {
				return fmt.Errorf("submission %d: revision %d outside 0..%d: %w", i, s.Revision, len(history), ot.ErrBaseLength)
			}
			for _, applied := range history[s.Revision:] {
				if op, _, err = ot.Transform(op, applied); err != nil {
					return err
				}
			}
			doc = apply(doc, op)
			history = append(history, op)
			out.Steps = append(out.Steps, vectorStep{Op: op, Revision: len(history), Doc: doc})
		}
		out.Result, out.Revision = doc, len(history)
	case "cursor":
		op, err := decode(c.Op)
		if err != nil {
			return err
		}
		out.Result = apply(c.Doc, op)
		out.Selection = ot.TransformSelection(c.Selection.Ranges, op)
	default:
		return fmt.Errorf("unknown kind %q", c.Kind)
	}
	return nil
}

// expectFields reads the result fields of one expected case and remembers
// which were read, so that a field the test does not check is noticed.
type expectFields struct {
	t    *testing.T
	m    map[string]json.RawMessage
	used map[string]bool
}

func (f *expectFields) get(name string, dst any) {
	f.t.Helper()
	raw, ok := f.m[name]
	if !ok {
		f.t.Errorf("expected result has no %q field", name)
		return
	}
	f.used[name] = true
	if err := json.Unmarshal(raw, dst); err != nil {
		f.t.Fatalf("decode expected %s = %s: %v", name, raw, err)
	}
}

func (f *expectFields) op(name string) ot.Op {
	f.t.Helper()
	var raw json.RawMessage
	f.get(name, &raw)
	return literalOp(f.t, raw)
}

func (f *expectFields) allUsed() {
	f.t.Helper()
	for name := range f.m {
		if !f.used[name] {
			f.t.Errorf("expected result field %q is not checked", name)
		}
	}
}

// literalOp decodes an expected op exactly as written, without our
// normalisation, so a non-canonical expectation would show as a difference.
func literalOp(t *testing.T, raw json.RawMessage) ot.Op {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var parts []any
	if err := d.Decode(&parts); err != nil {
		t.Fatalf("decode expected op %s: %v", raw, err)
	}
	op := ot.Op{}
	for _, p := range parts {
		switch v := p.(type) {
		case json.Number:
			n, err := v.Int64()
			if err != nil {
				t.Fatalf("expected op %s: %v", raw, err)
			}
			op = append(op, ot.Component{N: int(n)})
		case string:
			op = append(op, ot.Component{S: v})
		default:
			t.Fatalf("expected op %s holds %T", raw, p)
		}
	}
	return op
}
