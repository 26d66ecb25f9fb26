package session

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tandem-editor/tandem/wire"
)

// env is a Manager over a memStore holding document "d", inside a synctest
// bubble so the test decides when the hub has run (synctest.Wait).
type env struct {
	t  *testing.T
	m  *Manager
	st *memStore
}

func newEnv(t *testing.T) *env {
	st := newMemStore("d")
	return &env{t: t, m: NewManager(st, Config{SnapshotEvery: 5}), st: st}
}

func (e *env) join(client string, rev *int) (*fakePeer, *Conn) {
	e.t.Helper()
	p := &fakePeer{}
	c, err := e.m.Join("d", p, joinMsg(client, rev), Rights{Edit: true})
	if err != nil {
		e.t.Fatalf("join %s: %v", client, err)
	}
	synctest.Wait()
	return p, c
}

func (e *env) close() {
	if err := e.m.Shutdown(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

func TestJoinNewDocumentGetsSnapshotThenJoined(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		p, _ := e.join("a", nil)
		got := p.take()
		if diff := cmp.Diff([]string{"snapshot", "joined"}, types(got)); diff != "" {
			t.Fatalf("messages (-want +got):\n%s", diff)
		}
		if *got[0].Text != "" || *got[0].Rev != 0 || *got[1].Rev != 0 || *got[1].Seq != 0 {
			t.Fatalf("got snapshot %q rev %d, joined rev %d seq %d; want empty at 0", *got[0].Text, *got[0].Rev, *got[1].Rev, *got[1].Seq)
		}
	})
}

func TestOpIsPersistedThenAckedThenBroadcast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		a, ca := e.join("a", nil)
		b, _ := e.join("b", nil)
		a.take()
		b.take()
		// While Append runs, nothing may have been sent yet.
		e.st.appendHook = func() {
			a.mu.Lock()
			b.mu.Lock()
			n := len(a.msgs) + len(b.msgs)
			b.mu.Unlock()
			a.mu.Unlock()
			if n != 0 {
				t.Errorf("%d messages sent before the op was persisted", n)
			}
		}
		ca.Op(opMsg(t, 0, 1, `["hi"]`))
		synctest.Wait()
		if got := e.st.entries("d"); len(got) != 1 || got[0].Client != "a" || got[0].Seq != 1 || got[0].Rev != 1 {
			t.Fatalf("log = %+v, want one entry a/1 at rev 1", got)
		}
		am, bm := a.take(), b.take()
		if len(am) != 1 || am[0].Type != wire.TypeAck || *am[0].Seq != 1 || *am[0].Rev != 1 {
			t.Fatalf("author got %+v, want ack seq 1 rev 1", am)
		}
		if len(bm) != 1 || bm[0].Type != wire.TypeOp || bm[0].Client != "a" || bm[0].Op.String() != `["hi"]` {
			t.Fatalf("other got %+v, want op [\"hi\"] from a", bm)
		}
	})
}

func TestLaterArrivingInsertAtSamePositionLandsLeft(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		a, ca := e.join("a", nil)
		_, cb := e.join("b", nil)
		ca.Op(opMsg(t, 0, 1, `["abc"]`))
		synctest.Wait()
		ca.Op(opMsg(t, 1, 2, `[1,"X",2]`))
		cb.Op(opMsg(t, 1, 1, `[1,"Y",2]`)) // made against revision 1 too
		synctest.Wait()
		_ = a
		p, _ := e.join("c", nil)
		msgs := p.take()
		if got := *msgs[0].Text; got != "aYXbc" {
			t.Fatalf("text = %q, want %q", got, "aYXbc")
		}
	})
}

func TestDuplicateSeqIsAckedAgainWithItsRevision(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		a, ca := e.join("a", nil)
		ca.Op(opMsg(t, 0, 1, `["x"]`))
		ca.Op(opMsg(t, 1, 2, `[1,"y"]`))
		synctest.Wait()
		a.take()
		ca.Op(opMsg(t, 0, 1, `["x"]`)) // resubmitted after a lost ack
		synctest.Wait()
		got := a.take()
		if len(got) != 1 || got[0].Type != wire.TypeAck || *got[0].Seq != 1 || *got[0].Rev != 1 {
			t.Fatalf("got %+v, want ack seq 1 rev 1", got)
		}
		if n := len(e.st.entries("d")); n != 2 {
			t.Fatalf("log has %d entries, want 2", n)
		}
	})
}

func TestRefusedOpClosesOnlyItsAuthor(t *testing.T) {
	cases := []struct {
		name string
		msg  func(t *testing.T) Submit
		code string
	}{
		{"seq skips ahead", func(t *testing.T) Submit { return opMsg(t, 0, 5, `["x"]`) }, wire.CodeBadSeq},
		{"rev in the future", func(t *testing.T) Submit { return opMsg(t, 9, 1, `["x"]`) }, wire.CodeBadRev},
		{"wrong base length", func(t *testing.T) Submit { return opMsg(t, 0, 1, `[3,"x"]`) }, wire.CodeBaseLength},
		{"missing op", func(t *testing.T) Submit {
			return Submit{Rev: wire.IntPtr(0), Seq: wire.IntPtr(1)}
		}, wire.CodeBadOp},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t)
				defer e.close()
				a, ca := e.join("a", nil)
				b, cb := e.join("b", nil)
				a.take()
				ca.Op(tc.msg(t))
				synctest.Wait()
				got := a.take()
				if len(got) != 1 || got[0].Type != wire.TypeError || got[0].Code != tc.code {
					t.Fatalf("author got %+v, want error %s", got, tc.code)
				}
				if want := tc.msg(t).Seq; got[0].Seq == nil || *got[0].Seq != *want {
					t.Fatalf("error names seq %v, want %d", got[0].Seq, *want)
				}
				if c := a.closeCode(); c != wire.CloseResync {
					t.Fatalf("author closed with %d, want %d", c, wire.CloseResync)
				}
				// The other peer sees a leave and carries on.
				cb.Op(opMsg(t, 0, 1, `["ok"]`))
				synctest.Wait()
				if b.closeCode() != 0 {
					t.Fatalf("other peer closed with %d", b.closeCode())
				}
				if n := len(e.st.entries("d")); n != 1 {
					t.Fatalf("log has %d entries, want 1", n)
				}
			})
		})
	}
}

func TestSurrogateSplitAfterTransformIsRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		a, ca := e.join("a", nil)
		ca.Op(opMsg(t, 0, 1, `["😀"]`))
		synctest.Wait()
		a.take()
		ca.Op(opMsg(t, 1, 2, `[1,"x",1]`)) // between the two halves
		synctest.Wait()
		if got := a.take(); len(got) != 1 || got[0].Code != wire.CodeSurrogateSplit {
			t.Fatalf("got %+v, want error surrogate_split", got)
		}
	})
}

func TestCatchUpSendsEveryOpAfterTheClientsRevision(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		_, ca := e.join("a", nil)
		for i, js := range []string{`["a"]`, `[1,"b"]`, `[2,"c"]`} {
			ca.Op(opMsg(t, i, i+1, js))
			synctest.Wait()
		}
		p, _ := e.join("b", wire.IntPtr(1))
		got := p.take()
		if diff := cmp.Diff([]string{"op", "op", "joined"}, types(got)); diff != "" {
			t.Fatalf("messages (-want +got):\n%s", diff)
		}
		if *got[0].Rev != 2 || *got[1].Rev != 3 || *got[2].Rev != 3 {
			t.Fatalf("revisions %d %d %d, want 2 3 3", *got[0].Rev, *got[1].Rev, *got[2].Rev)
		}
	})
}

func TestRejoinReportsHighestAppliedSeq(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		a, ca := e.join("a", nil)
		ca.Op(opMsg(t, 0, 1, `["x"]`))
		synctest.Wait()
		ca.Leave()
		synctest.Wait()
		_ = a
		p, _ := e.join("a", wire.IntPtr(0))
		got := p.take()
		// Its own op comes back in the catch-up, then joined says seq 1.
		if len(got) != 2 || got[0].Client != "a" || *got[0].Seq != 1 || *got[1].Seq != 1 {
			t.Fatalf("got %+v, want catch-up op a/1 then joined seq 1", got)
		}
	})
}

func TestSecondJoinWithSameClientReplacesTheFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		old, _ := e.join("a", nil)
		e.join("a", nil)
		if c := old.closeCode(); c != wire.CloseReplaced {
			t.Fatalf("old socket closed with %d, want %d", c, wire.CloseReplaced)
		}
	})
}

func TestSlowPeerIsClosedNotSkipped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		_, ca := e.join("a", nil)
		slow := &fakePeer{budget: 3}
		if _, err := e.m.Join("d", slow, joinMsg("s", nil), Rights{Edit: true}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		for i := range 5 {
			ca.Op(opMsg(t, i, i+1, insertAt(i, "x")))
			synctest.Wait()
		}
		if c := slow.closeCode(); c != wire.CloseTooSlow {
			t.Fatalf("slow peer closed with %d, want %d", c, wire.CloseTooSlow)
		}
	})
}

func TestStoreFailureClosesPeersAndReloads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		a, ca := e.join("a", nil)
		ca.Op(opMsg(t, 0, 1, `["keep"]`))
		synctest.Wait()
		a.take()
		e.st.failNext = errors.New("disk full")
		ca.Op(opMsg(t, 1, 2, `[4,"lost"]`))
		synctest.Wait()
		got := a.take()
		for _, m := range got {
			if m.Type == wire.TypeAck {
				t.Fatalf("an op that was not persisted was acked: %+v", got)
			}
		}
		if c := a.closeCode(); c != wire.CloseInternal {
			t.Fatalf("closed with %d, want %d", c, wire.CloseInternal)
		}
		ca.Leave()
		p, _ := e.join("b", nil)
		if msgs := p.take(); *msgs[0].Text != "keep" {
			t.Fatalf("after reload text = %q, want %q", *msgs[0].Text, "keep")
		}
	})
}

func TestUnknownDocumentIsNotFound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		p := &fakePeer{}
		if _, err := e.m.Join("nope", p, joinMsg("a", nil), Rights{Edit: true}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		got := p.take()
		if len(got) != 1 || got[0].Code != wire.CodeNotFound || p.closeCode() != wire.CloseNotFound {
			t.Fatalf("got %+v closed %d, want not_found and 4004", got, p.closeCode())
		}
	})
}

func TestBadJoinIsRefusedWithoutRegistering(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		for _, m := range []*wire.Message{
			{Type: "join", Client: ""},
			{Type: "join", Client: "has space"},
			{Type: "join", Client: "a", Color: "red"},
		} {
			_, err := e.m.Join("d", &fakePeer{}, m, Rights{Edit: true})
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("join %+v: err = %v, want *Error", m, err)
			}
		}
		if n := e.m.Editors("d"); n != 0 {
			t.Fatalf("editors = %d, want 0", n)
		}
	})
}

func TestPresenceIsTransformedAndCoalesced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		a, ca := e.join("a", nil)
		b, cb := e.join("b", nil)
		ca.Op(opMsg(t, 0, 1, `["hello"]`))
		synctest.Wait()
		a.take()
		b.take()
		time.Sleep(time.Second)
		// b's cursor at 3 in revision 1; a inserts at 0 meanwhile.
		ca.Op(opMsg(t, 1, 2, `["__",5]`))
		cb.Presence(Cursor{Rev: wire.IntPtr(1), Sel: []wire.Range{{3, 3}}})
		for i := range 5 { // a burst: relayed at most once per 50 ms
			cb.Presence(Cursor{Rev: wire.IntPtr(1), Sel: []wire.Range{{i, i + 1}}})
		}
		// Out of range for revision 1 ("hello"): refused, not relayed.
		cb.Presence(Cursor{Rev: wire.IntPtr(1), Sel: []wire.Range{{6, 6}}})
		synctest.Wait()
		var pres []wire.Message
		for _, m := range a.take() {
			if m.Type == wire.TypePresence {
				pres = append(pres, m)
			}
		}
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		for _, m := range a.take() {
			if m.Type == wire.TypePresence {
				pres = append(pres, m)
			}
		}
		if len(pres) != 1 {
			t.Fatalf("got %d presence relays in one burst, want 1: %+v", len(pres), pres)
		}
		if got, want := pres[0].Sel, []wire.Range{{6, 7}}; !cmp.Equal(got, want) || *pres[0].Rev != 2 {
			t.Fatalf("relayed sel %v at rev %d, want %v at 2", got, *pres[0].Rev, want)
		}
		// Leaving removes the cursor for the others.
		if got := b.take(); len(got) != 2 || got[1].Code != wire.CodeBadPresence || b.closeCode() != 0 {
			t.Fatalf("b got %+v, closed %d; want one bad_presence, socket open", got, b.closeCode())
		}
		cb.Leave()
		synctest.Wait()
		got := a.take()
		if len(got) != 1 || got[0].Type != wire.TypeLeave || got[0].Client != "b" {
			t.Fatalf("got %+v, want leave b", got)
		}
	})
}

func TestLastLeaveSavesSnapshotAndStopsHub(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		_, ca := e.join("a", nil)
		ca.Op(opMsg(t, 0, 1, `["abc"]`))
		synctest.Wait()
		ca.Leave()
		synctest.Wait()
		if _, open, _ := e.m.Stats(); open != 0 {
			t.Fatalf("%d hubs open, want 0", open)
		}
		rev, text, _ := e.st.Snapshot(context.Background(), "d")
		if rev != 1 || text != "abc" {
			t.Fatalf("snapshot %d %q, want 1 %q", rev, text, "abc")
		}
	})
}

func TestShutdownClosesPeersGoingAway(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		a, _ := e.join("a", nil)
		e.close()
		if c := a.closeCode(); c != wire.CloseGoingAway {
			t.Fatalf("closed with %d, want %d", c, wire.CloseGoingAway)
		}
		if _, err := e.m.Join("d", &fakePeer{}, joinMsg("b", nil), Rights{Edit: true}); !errors.Is(err, ErrClosed) {
			t.Fatalf("join after shutdown: err = %v, want ErrClosed", err)
		}
	})
}

func TestDeletedDocumentClosesPeers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		a, _ := e.join("a", nil)
		a.take()
		e.m.Deleted("d")
		synctest.Wait()
		if got := a.take(); len(got) != 1 || got[0].Code != wire.CodeNotFound || a.closeCode() != wire.CloseNotFound {
			t.Fatalf("got %+v closed %d, want not_found and 4004", got, a.closeCode())
		}
	})
}

func TestOpsThatArriveTogetherShareOneCommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		_, ca := e.join("a", nil)
		_, cb := e.join("b", nil)
		_, cc := e.join("c", nil)
		release := holdFirstAppend(e.st) // more ops queue up meanwhile
		ca.Op(opMsg(t, 0, 1, `["a"]`))
		synctest.Wait()
		cb.Op(opMsg(t, 0, 1, `["b"]`))
		cc.Op(opMsg(t, 0, 1, `["c"]`))
		ca.Op(opMsg(t, 1, 2, `[1,"A"]`))
		release()
		synctest.Wait()
		if got := len(e.st.entries("d")); got != 4 {
			t.Fatalf("log has %d entries, want 4", got)
		}
		if e.st.appends != 2 {
			t.Fatalf("%d commits, want 2 (one for the op that came alone, one for the three that queued)", e.st.appends)
		}
	})
}

func joinPeer(t *testing.T, m *Manager, client string) (*fakePeer, *Conn) {
	t.Helper()
	p := &fakePeer{}
	c, err := m.Join("d", p, joinMsg(client, nil), Rights{Edit: true})
	if err != nil {
		t.Fatalf("join %s: %v", client, err)
	}
	synctest.Wait()
	p.take()
	return p, c
}

func TestBusyDocumentWaitsForCompany(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore("d")
		m := NewManager(st, Config{BatchWait: time.Millisecond})
		defer m.Shutdown(context.Background())
		a, ca := joinPeer(t, m, "a")
		b, cb := joinPeer(t, m, "b")

		// The first op of a quiet document is committed at once.
		ca.Op(opMsg(t, 0, 1, `["a"]`))
		synctest.Wait()
		if st.appends != 1 {
			t.Fatalf("%d commits after a lone op, want 1 (no wait)", st.appends)
		}
		// The document is now busy: the next op waits up to BatchWait,
		// and one arriving meanwhile shares its commit.
		ca.Op(opMsg(t, 1, 2, `[1,"b"]`))
		synctest.Wait()
		if st.appends != 1 {
			t.Fatalf("%d commits before the wait ended, want 1", st.appends)
		}
		if n := len(only(a.take(), "ack")); n != 1 {
			t.Fatalf("%d acks before the wait ended, want 1 (the first op's)", n)
		}
		cb.Op(opMsg(t, 1, 1, `[1,"c"]`))
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if st.appends != 2 || len(st.entries("d")) != 3 {
			t.Fatalf("%d commits holding %d entries, want 2 holding 3", st.appends, len(st.entries("d")))
		}
		if n := len(only(a.take(), "ack")); n != 1 {
			t.Fatalf("a got %d acks after the wait, want 1", n)
		}
		if n := len(only(b.take(), "ack")); n != 1 {
			t.Fatalf("b got %d acks after the wait, want 1", n)
		}
		// A join is not kept waiting by a busy document.
		ca.Op(opMsg(t, 3, 3, `[3,"d"]`))
		synctest.Wait()
		c := &fakePeer{}
		if _, err := m.Join("d", c, joinMsg("c", nil), Rights{Edit: true}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := types(c.take()); len(got) == 0 || got[len(got)-1] != "joined" {
			t.Fatalf("joiner got %v before any time passed, want its joined", got)
		}
	})
}
