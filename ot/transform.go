package ot

import "fmt"

// Transform takes two ops a and b made concurrently on the same text and
// returns a′ and b′ such that applying a then b′ gives the same text as
// applying b then a′ (TP1). When both insert at one position, a's text goes
// first. The results are canonical.
func Transform(a, b Op) (aPrime, bPrime Op, err error) {
	return transform(a, b, true)
}

// Rebase returns a′ of Transform(a, b) alone: a rewritten to apply after b,
// a's insert first on a tie. It is what a server does to an incoming op for
// each op applied since the op's base revision, at half the cost.
func Rebase(a, b Op) (Op, error) {
	aPrime, _, err := transform(a, b, false)
	return aPrime, err
}

func transform(a, b Op, wantB bool) (aPrime, bPrime Op, err error) {
	if a.BaseLen() != b.BaseLen() {
		return nil, nil, fmt.Errorf("transform: ops span %d and %d units: %w", a.BaseLen(), b.BaseLen(), ErrBaseLength)
	}
	// One allocation for both results, sized for the usual case (a
	// transformed op rarely has more than two components more than its
	// original). Each result is capped at its share, so a larger one grows
	// by reallocation and never writes over the other.
	ka, kb := len(a)+2, len(b)+2
	if !wantB {
		kb = 0
	}
	buf := make(Op, 0, ka+kb)
	aPrime, bPrime = buf[:0:ka], buf[ka:ka:ka+kb]
	i, j := 0, 0
	var x, y Component // the current, possibly partly consumed, components
	if i < len(a) {
		x, i = a[i], i+1
	}
	if j < len(b) {
		y, j = b[j], j+1
	}
	for x != (Component{}) || y != (Component{}) {
		if x.N == 0 && x.S != "" {
			aPrime.Insert(x.S)
			if wantB {
				bPrime.Retain(Len(x.S))
			}
			x, i = next(a, i)
			continue
		}
		if y.N == 0 && y.S != "" {
			aPrime.Retain(Len(y.S))
			if wantB {
				bPrime.Insert(y.S)
			}
			y, j = next(b, j)
			continue
		}
		if x.N == 0 || y.N == 0 {
			// Equal base lengths make this unreachable unless a component
			// is empty.
			return nil, nil, fmt.Errorf("transform: empty component: %w", ErrBadOp)
		}
		switch {
		case x.N > 0 && y.N > 0: // retain, retain
			m := min(x.N, y.N)
			aPrime.Retain(m)
			if wantB {
				bPrime.Retain(m)
			}
			x.N -= m
			y.N -= m
		case x.N < 0 && y.N < 0: // both delete: the overlap is gone already
			m := min(-x.N, -y.N)
			x.N += m
			y.N += m
		case x.N < 0 && y.N > 0: // a deletes what b keeps
			m := min(-x.N, y.N)
			aPrime.Delete(m)
			x.N += m
			y.N -= m
		default: // a keeps what b deletes
			m := min(x.N, -y.N)
			if wantB {
				bPrime.Delete(m)
			}
			x.N -= m
			y.N += m
		}
		if x.N == 0 {
			x, i = next(a, i)
		}
		if y.N == 0 {
			y, j = next(b, j)
		}
	}
	return aPrime, bPrime, nil
}

// next returns op[i] and i+1, or the zero Component at the end.
func next(op Op, i int) (Component, int) {
	if i < len(op) {
		return op[i], i + 1
	}
	return Component{}, i
}

// Compose returns one op with the effect of a followed by b: applying it
// equals applying a then b. b must apply to a's result.
func Compose(a, b Op) (Op, error) {
	if a.TargetLen() != b.BaseLen() {
		return nil, fmt.Errorf("compose: first op produces %d units, second spans %d: %w", a.TargetLen(), b.BaseLen(), ErrBaseLength)
	}
	out := make(Op, 0, len(a)+len(b))
	i, j := 0, 0
	var x, y Component
	x, i = next(a, i)
	y, j = next(b, j)
	for x != (Component{}) || y != (Component{}) {
		if x.N < 0 { // a's deletes stand
			out.Delete(-x.N)
			x, i = next(a, i)
			continue
		}
		if y.N == 0 && y.S != "" { // b's inserts stand
			out.Insert(y.S)
			y, j = next(b, j)
			continue
		}
		if x == (Component{}) || y == (Component{}) {
			return nil, fmt.Errorf("compose: empty component: %w", ErrBadOp)
		}
		switch {
		case x.N > 0 && y.N > 0: // retain, retain
			m := min(x.N, y.N)
			out.Retain(m)
			x.N -= m
			y.N -= m
			if x.N == 0 {
				x, i = next(a, i)
			}
			if y.N == 0 {
				y, j = next(b, j)
			}
		case x.N == 0 && y.N < 0: // b deletes what a inserted
			n := Len(x.S)
			switch {
			case n > -y.N:
				_, tail, err := splitAt(x.S, -y.N)
				if err != nil {
					return nil, fmt.Errorf("compose: %w", err)
				}
				x.S = tail
				y, j = next(b, j)
			case n == -y.N:
				x, i = next(a, i)
				y, j = next(b, j)
			default:
				y.N += n
				x, i = next(a, i)
			}
		case x.N == 0 && y.N > 0: // b keeps what a inserted
			n := Len(x.S)
			switch {
			case n > y.N:
				head, tail, err := splitAt(x.S, y.N)
				if err != nil {
					return nil, fmt.Errorf("compose: %w", err)
				}
				out.Insert(head)
				x.S = tail
				y, j = next(b, j)
			case n == y.N:
				out.Insert(x.S)
				x, i = next(a, i)
				y, j = next(b, j)
			default:
				out.Insert(x.S)
				y.N -= n
				x, i = next(a, i)
			}
		default: // a keeps, b deletes
			m := min(x.N, -y.N)
			out.Delete(m)
			x.N -= m
			y.N += m
			if x.N == 0 {
				x, i = next(a, i)
			}
			if y.N == 0 {
				y, j = next(b, j)
			}
		}
	}
	return out, nil
}
