package presence

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tandem-editor/tandem/ot"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestApplyMovesEveryCursor(t *testing.T) {
	cases := []struct {
		name string
		sel  []ot.Range
		op   ot.Op
		want []ot.Range
	}{
		{"cursor after an insertion point moves right", []ot.Range{{Anchor: 5, Head: 5}}, ot.Op{ot.Retain(2), ot.Insert("xyz"), ot.Retain(4)}, []ot.Range{{Anchor: 8, Head: 8}}},
		{"cursor before an insertion point stays", []ot.Range{{Anchor: 1, Head: 1}}, ot.Op{ot.Retain(2), ot.Insert("xyz"), ot.Retain(4)}, []ot.Range{{Anchor: 1, Head: 1}}},
		{"cursor exactly at an insertion point moves after it", []ot.Range{{Anchor: 2, Head: 2}}, ot.Op{ot.Retain(2), ot.Insert("xyz"), ot.Retain(4)}, []ot.Range{{Anchor: 5, Head: 5}}},
		{"cursor inside a deleted range goes to its start", []ot.Range{{Anchor: 4, Head: 4}}, ot.Op{ot.Retain(2), ot.Delete(3), ot.Retain(1)}, []ot.Range{{Anchor: 2, Head: 2}}},
		{"selection ends move independently", []ot.Range{{Anchor: 1, Head: 5}}, ot.Op{ot.Retain(3), ot.Insert("ab"), ot.Retain(3)}, []ot.Range{{Anchor: 1, Head: 7}}},
		{"emoji counts two units", []ot.Range{{Anchor: 3, Head: 3}}, ot.Op{ot.Insert("😀"), ot.Retain(6)}, []ot.Range{{Anchor: 5, Head: 5}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			s.Join("a", "Ada", "#d33", t0)
			s.Update("a", tc.sel)
			s.Apply(tc.op)
			got, _ := s.Get("a")
			if diff := cmp.Diff(tc.want, got.Sel); diff != "" {
				t.Fatalf("sel (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDueRelaysAtMostOncePerInterval(t *testing.T) {
	s := New()
	s.Join("a", "Ada", "#d33", t0)
	s.Join("b", "Bo", "#36c", t0)
	if due, next := s.Due(t0); len(due) != 0 || !next.IsZero() {
		t.Fatalf("nothing changed: due %v next %v, want none", due, next)
	}
	s.Update("a", []ot.Range{{Anchor: 1, Head: 1}})
	now := t0.Add(10 * time.Millisecond)
	due, next := s.Due(now)
	if len(due) != 0 || !next.Equal(t0.Add(Interval)) {
		t.Fatalf("within the interval of the join: due %v next %v, want none until %v", due, next, t0.Add(Interval))
	}
	now = t0.Add(Interval)
	due, _ = s.Due(now)
	if len(due) != 1 || due[0].Client != "a" {
		t.Fatalf("due %v, want a", due)
	}
	s.Update("a", []ot.Range{{Anchor: 2, Head: 2}})
	s.Update("a", []ot.Range{{Anchor: 3, Head: 3}})
	if due, _ := s.Due(now.Add(Interval - time.Millisecond)); len(due) != 0 {
		t.Fatalf("relayed twice within %v: %v", Interval, due)
	}
	due, _ = s.Due(now.Add(Interval))
	if len(due) != 1 || !cmp.Equal(due[0].Sel, []ot.Range{{Anchor: 3, Head: 3}}) {
		t.Fatalf("due %v, want a at 3 (the latest)", due)
	}
}

func TestLeaveRemovesThePeer(t *testing.T) {
	s := New()
	s.Join("a", "Ada", "#d33", t0)
	s.Join("b", "Bo", "#36c", t0)
	if !s.Leave("a") || s.Leave("a") {
		t.Fatal("Leave should report true once, then false")
	}
	if got := s.All(); len(got) != 1 || got[0].Client != "b" {
		t.Fatalf("All = %v, want only b", got)
	}
	s.Update("a", []ot.Range{{Anchor: 1, Head: 1}}) // unknown peers are ignored
	if _, ok := s.Get("a"); ok {
		t.Fatal("a is back after Update")
	}
}
