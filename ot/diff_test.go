package ot

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestDiff(t *testing.T) {
	cases := [][2]string{
		{"", ""}, {"", "abc"}, {"abc", ""}, {"abc", "abc"},
		{"hello world", "hello brave new world"},
		{"😀a😀", "😀b😀"}, {"😀", "😁"}, // pairs share a high surrogate: never cut
		{"中文字", "中字"}, {"line 1\nline 2\nline 3\n", "line 1\nline 3\nline 2\n"},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", "\n", "😀", "中", " "}
	gen := func(n int) string {
		var sb strings.Builder
		for range n {
			sb.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return sb.String()
	}
	for range 300 {
		cases = append(cases, [2]string{gen(rng.IntN(60)), gen(rng.IntN(60))})
	}
	for _, c := range cases {
		op := Diff(c[0], c[1], time.Second)
		got, err := Apply(c[0], op)
		if err != nil || got != c[1] {
			t.Fatalf("Diff(%q, %q) = %v: applies to %q, %v", c[0], c[1], op, got, err)
		}
	}
	// Unchanged text is retained: a cursor in it stays.
	op := Diff("keep this; change that", "keep this; alter that", time.Second)
	if p := TransformIndex(4, op); p != 4 {
		t.Fatalf("a cursor in unchanged text moved to %d", p)
	}
	if p := TransformIndex(18, op); p != 17 {
		t.Fatalf("a cursor after the change is at %d, want 17", p)
	}
}

func TestDiffBoundsComponents(t *testing.T) {
	// Every other character differs: a fine diff has far more components
	// than the bound.
	a := strings.Repeat("ab", 20000)
	b := strings.Repeat("ac", 20000)
	op := Diff(a, b, time.Second)
	if len(op) > MaxDiffComponents {
		t.Fatalf("%d components", len(op))
	}
	if got, err := Apply(a, op); err != nil || got != b {
		t.Fatal("the coarse diff does not turn a into b")
	}
	if op := replaceMiddle("x😀y", "x😁y"); len(op) != 4 {
		t.Fatalf("replaceMiddle cut inside a pair: %v", op)
	}
}
