package ot_test

import (
	"flag"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tandem-editor/tandem/ot"
)

// Rerun a failure with: go test ./ot/ -run TestProperty -args -ot.seed=N
var (
	propSeed  = flag.Uint64("ot.seed", 0, "seed for the random property tests (0: from the clock)")
	propIters = flag.Int("ot.iters", 2000, "iterations of each random property test")
)

// propRand returns a generator seeded from -ot.seed or the clock, and logs
// the seed so that any failure can be replayed.
func propRand(t *testing.T) *rand.Rand {
	t.Helper()
	seed := *propSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replay with: go test ./ot/ -run '^%s$' -args -ot.seed=%d", t.Name(), seed)
		}
	})
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

func TestPropertyApplyAgreesWithReference(t *testing.T) {
	r := propRand(t)
	for i := range *propIters {
		doc := randText(r, 12)
		a := randOp(r, doc)
		if err := isCanonical(a); err != nil {
			t.Fatalf("iteration %d: generated op: %v", i, err)
		}
		if a.BaseLen() != ot.Len(doc) {
			t.Fatalf("iteration %d: %v.BaseLen() = %d, want Len(%q) = %d", i, a, a.BaseLen(), doc, ot.Len(doc))
		}
		want, err := refApply(doc, a)
		if err != nil {
			t.Fatalf("iteration %d: reference apply %v to %q: %v", i, a, doc, err)
		}
		got, err := ot.Apply(doc, a)
		if err != nil || got != want {
			t.Fatalf("iteration %d: Apply(%q, %v) = %q, %v; want %q", i, doc, a, got, err, want)
		}
		if a.TargetLen() != ot.Len(want) || len(units(want)) != ot.Len(want) {
			t.Fatalf("iteration %d: %v.TargetLen() = %d, Len(%q) = %d, want %d", i, a, a.TargetLen(), want, ot.Len(want), len(units(want)))
		}
		if a.IsNoop() != (len(a) == 0 || (len(a) == 1 && a[0].IsRetain())) {
			t.Fatalf("iteration %d: %v.IsNoop() = %v", i, a, a.IsNoop())
		}
	}
}

func TestPropertyTransformConverges(t *testing.T) {
	r := propRand(t)
	for i := range *propIters {
		doc := randText(r, 12)
		a, b := randOp(r, doc), randOp(r, doc)
		aPrime, bPrime, err := ot.Transform(a, b)
		if err != nil {
			t.Fatalf("iteration %d: Transform(%v, %v): %v", i, a, b, err)
		}
		for _, p := range []ot.Op{aPrime, bPrime} {
			if err := isCanonical(p); err != nil {
				t.Fatalf("iteration %d: Transform(%v, %v): %v", i, a, b, err)
			}
		}
		want := refMerge(doc, a, b)
		docA, errA := refApply(doc, a)
		docB, errB := refApply(doc, b)
		if errA != nil || errB != nil {
			t.Fatalf("iteration %d: reference apply: %v, %v", i, errA, errB)
		}
		// TP1: apply(apply(d, a), b′) == apply(apply(d, b), a′), and both are
		// the merge the reference predicts.
		ab, err := refApply(docA, bPrime)
		if err != nil || ab != want {
			t.Fatalf("iteration %d: doc %q, a %v, b %v: b′ %v on %q gives %q, %v; want %q", i, doc, a, b, bPrime, docA, ab, err, want)
		}
		ba, err := refApply(docB, aPrime)
		if err != nil || ba != want {
			t.Fatalf("iteration %d: doc %q, a %v, b %v: a′ %v on %q gives %q, %v; want %q", i, doc, a, b, aPrime, docB, ba, err, want)
		}
		// The engine's Apply agrees with the reference on the primes too.
		if got, err := ot.Apply(docA, bPrime); err != nil || got != want {
			t.Fatalf("iteration %d: Apply(%q, %v) = %q, %v; want %q", i, docA, bPrime, got, err, want)
		}
		if got, err := ot.Apply(docB, aPrime); err != nil || got != want {
			t.Fatalf("iteration %d: Apply(%q, %v) = %q, %v; want %q", i, docB, aPrime, got, err, want)
		}
		if aPrime.BaseLen() != b.TargetLen() || bPrime.BaseLen() != a.TargetLen() ||
			aPrime.TargetLen() != ot.Len(want) || bPrime.TargetLen() != ot.Len(want) {
			t.Fatalf("iteration %d: lengths of a′ %v and b′ %v do not fit a %v, b %v, result %q", i, aPrime, bPrime, a, b, want)
		}
	}
}

func TestPropertyComposeEqualsSequentialApply(t *testing.T) {
	r := propRand(t)
	for i := range *propIters {
		doc := randText(r, 12)
		a := randOp(r, doc)
		mid, err := refApply(doc, a)
		if err != nil {
			t.Fatalf("iteration %d: reference apply: %v", i, err)
		}
		b := randOp(r, mid)
		want, err := refApply(mid, b)
		if err != nil {
			t.Fatalf("iteration %d: reference apply: %v", i, err)
		}
		ab, err := ot.Compose(a, b)
		if err != nil {
			t.Fatalf("iteration %d: Compose(%v, %v): %v", i, a, b, err)
		}
		if err := isCanonical(ab); err != nil {
			t.Fatalf("iteration %d: Compose(%v, %v) = %v: %v", i, a, b, ab, err)
		}
		if ab.BaseLen() != a.BaseLen() || ab.TargetLen() != b.TargetLen() {
			t.Fatalf("iteration %d: Compose(%v, %v) = %v spans %d→%d, want %d→%d", i, a, b, ab, ab.BaseLen(), ab.TargetLen(), a.BaseLen(), b.TargetLen())
		}
		if got, err := refApply(doc, ab); err != nil || got != want {
			t.Fatalf("iteration %d: reference apply of Compose(%v, %v) = %v to %q = %q, %v; want %q", i, a, b, ab, doc, got, err, want)
		}
		if got, err := ot.Apply(doc, ab); err != nil || got != want {
			t.Fatalf("iteration %d: Apply(%q, %v) = %q, %v; want %q", i, doc, ab, got, err, want)
		}
	}
}

func TestPropertyInvertUndoes(t *testing.T) {
	r := propRand(t)
	for i := range *propIters {
		doc := randText(r, 12)
		a := randOp(r, doc)
		inv, err := ot.Invert(a, doc)
		if err != nil {
			t.Fatalf("iteration %d: Invert(%v, %q): %v", i, a, doc, err)
		}
		if err := isCanonical(inv); err != nil {
			t.Fatalf("iteration %d: Invert(%v, %q) = %v: %v", i, a, doc, inv, err)
		}
		after, err := refApply(doc, a)
		if err != nil {
			t.Fatalf("iteration %d: reference apply: %v", i, err)
		}
		if inv.BaseLen() != a.TargetLen() || inv.TargetLen() != a.BaseLen() {
			t.Fatalf("iteration %d: Invert(%v) = %v spans %d→%d, want %d→%d", i, a, inv, inv.BaseLen(), inv.TargetLen(), a.TargetLen(), a.BaseLen())
		}
		if back, err := refApply(after, inv); err != nil || back != doc {
			t.Fatalf("iteration %d: %v then its inverse %v on %q gives %q, %v", i, a, inv, doc, back, err)
		}
		if back, err := ot.Apply(after, inv); err != nil || back != doc {
			t.Fatalf("iteration %d: Apply(%q, %v) = %q, %v; want %q", i, after, inv, back, err, doc)
		}
	}
}

func TestPropertyCursorFollowsText(t *testing.T) {
	r := propRand(t)
	for i := range *propIters {
		doc := randText(r, 12)
		a := randOp(r, doc)
		n := ot.Len(doc)
		for pos := 0; pos <= n; pos++ {
			want := refIndex(pos, a)
			if got := ot.TransformIndex(pos, a); got != want {
				t.Fatalf("iteration %d: TransformIndex(%d, %v) on %q = %d, want %d", i, pos, a, doc, got, want)
			}
		}
	}
}

func TestPropertyServerOrdersConcurrentOps(t *testing.T) {
	// A server history: several clients each submit an op made against some
	// past revision; the server transforms it against everything applied
	// since (transform(incoming, applied)[0]) and applies it. Each client's
	// view is then checked: its op composed with the ops it missed must
	// reach the server text too.
	r := propRand(t)
	for i := range *propIters / 10 {
		texts := []string{randText(r, 10)}
		var history []ot.Op
		for range 8 {
			rev := r.IntN(len(texts))
			incoming := randOp(r, texts[rev])
			mine := incoming
			for _, applied := range history[rev:] {
				var err error
				incoming, _, err = ot.Transform(incoming, applied)
				if err != nil {
					t.Fatalf("iteration %d: Transform: %v", i, err)
				}
			}
			next, err := refApply(texts[len(texts)-1], incoming)
			if err != nil {
				t.Fatalf("iteration %d: transformed op %v does not apply to %q: %v", i, incoming, texts[len(texts)-1], err)
			}
			// The client that sent mine applied it locally on texts[rev] and
			// must transform the missed ops against it the other way round.
			local, err := refApply(texts[rev], mine)
			if err != nil {
				t.Fatal(err)
			}
			for _, applied := range history[rev:] {
				var missed ot.Op
				mine, missed, err = ot.Transform(mine, applied)
				if err != nil {
					t.Fatal(err)
				}
				if local, err = refApply(local, missed); err != nil {
					t.Fatalf("iteration %d: missed op %v does not apply to %q: %v", i, missed, local, err)
				}
			}
			if local != next {
				t.Fatalf("iteration %d: client at revision %d sees %q, server %q", i, rev, local, next)
			}
			history = append(history, incoming)
			texts = append(texts, next)
		}
	}
}

func TestPropertyRebaseIsTransformsFirstResult(t *testing.T) {
	r := propRand(t)
	for i := range *propIters {
		doc := randText(r, 12)
		a, b := randOp(r, doc), randOp(r, doc)
		want, _, err := ot.Transform(a, b)
		if err != nil {
			t.Fatalf("iteration %d: Transform(%v, %v): %v", i, a, b, err)
		}
		got, err := ot.Rebase(a, b)
		if err != nil {
			t.Fatalf("iteration %d: Rebase(%v, %v): %v", i, a, b, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("iteration %d: Rebase(%v, %v) differs from Transform's a′ (-want +got):\n%s", i, a, b, diff)
		}
	}
}
