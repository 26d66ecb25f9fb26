package edittrace

import (
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tandem-editor/tandem/ot"
)

// TestReplayPlainStrings replays the smaller stored traces with the simplest
// possible reference, string splicing in UTF-16 units without package ot,
// and checks that the recorded final text comes out. It guards the loader
// (field order, one op per patch in order) independently of the engine.
func TestReplayPlainStrings(t *testing.T) {
	for _, name := range []string{"sveltecomponent", "friendsforever_flat", "clownschool_flat"} {
		t.Run(name, func(t *testing.T) {
			tr, err := Load(filepath.Join("..", "..", "bench", "traces", name+".json.gz"))
			if err != nil {
				t.Fatal(err)
			}
			text := []rune(tr.Start) // BMP only: one rune per unit
			for _, p := range tr.Patches {
				if p.Pos+p.Del > len(text) {
					t.Fatalf("patch %+v past the end of a %d-unit text", p, len(text))
				}
				text = slices.Replace(text, p.Pos, p.Pos+p.Del, []rune(p.Ins)...)
			}
			if got := string(text); got != tr.End {
				t.Fatalf("final text: got %d units, want %d (they differ)", len(text), len([]rune(tr.End)))
			}
		})
	}
}

func TestPatchOp(t *testing.T) {
	cases := []struct {
		name string
		p    Patch
		n    int
		want string
	}{
		{"insert in the middle", Patch{Pos: 2, Ins: "x"}, 5, "[2,\"x\",3]"},
		{"delete at the start", Patch{Pos: 0, Del: 1}, 5, "[-1,4]"},
		{"replace at the end", Patch{Pos: 3, Del: 2, Ins: "é"}, 5, "[3,\"é\",-2]"},
	}
	buf := make(ot.Op, 0, 4)
	for _, c := range cases {
		op := c.p.Op(buf, c.n)
		got, err := op.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
}

func TestLoadRefusesAstral(t *testing.T) {
	path := filepath.Join(t.TempDir(), "astral.json.gz")
	writeGzip(t, path, `{"startContent":"","endContent":"😀","txns":[{"patches":[[0,0,"😀"]]}]}`)
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), ErrAstral.Error()) {
		t.Fatalf("got %v, want %v", err, ErrAstral)
	}
}

func writeGzip(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	z := gzip.NewWriter(f)
	if _, err := z.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
