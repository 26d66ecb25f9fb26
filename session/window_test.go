package session

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tandem-editor/tandem/wire"
)

// typeAhead writes n ops by a fresh client "w" so that the document is at
// revision n with a 2-op window (Config.History 2).
func typeAhead(t *testing.T, m *Manager, n int) {
	t.Helper()
	_, cw := joinPeer(t, m, "w")
	for i := range n {
		cw.Op(opMsg(t, i, i+1, insertAt(i, "w")))
	}
	synctest.Wait()
}

// Catch-up from before the window is read from the store off the hub
// goroutine, in pages bounded in bytes; meanwhile the others' ops are
// acknowledged (the hub does not wait on the store for a join).
func TestCatchUpFromBeforeTheWindowDoesNotHoldTheDocument(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore("d")
		// Pages of about 3 entries: several fetches per catch-up.
		m := NewManager(st, Config{History: 2, CatchUpBytes: 3 * 80})
		defer m.Shutdown(context.Background())
		typeAhead(t, m, 30)
		a, ca := joinPeer(t, m, "a")

		hold := make(chan struct{})
		var fetches int
		st.fetchHook = func() {
			fetches++
			if fetches == 1 {
				<-hold
			}
		}
		c := &fakePeer{}
		if _, err := m.Join("d", c, joinMsg("c", wire.IntPtr(3)), Rights{Edit: true}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // c's first page is being read, and held
		ca.Op(opMsg(t, 30, 1, insertAt(30, "A")))
		synctest.Wait()
		if got := only(a.take(), wire.TypeAck); len(got) != 1 || *got[0].Rev != 31 {
			t.Fatalf("while a catch-up is read: a got acks %+v, want one at rev 31", got)
		}
		if got := c.take(); len(got) != 0 {
			t.Fatalf("catching-up peer was sent %v before its catch-up", types(got))
		}
		close(hold)
		synctest.Wait()
		got := c.take()
		if fetches < 3 {
			t.Fatalf("%d fetches, want pages of about 3 entries", fetches)
		}
		// Every op after revision 3, in order (a's op among them), then joined.
		if len(got) != 31-3+1 {
			t.Fatalf("catch-up: %d messages %v, want 28 ops and joined", len(got), types(got))
		}
		for i, msg := range got[:len(got)-1] {
			if msg.Type != wire.TypeOp || *msg.Rev != 4+i {
				t.Fatalf("catch-up message %d is %s rev %v, want op rev %d", i, msg.Type, msg.Rev, 4+i)
			}
		}
		if j := got[len(got)-1]; j.Type != wire.TypeJoined || *j.Rev != 31 {
			t.Fatalf("last message %+v, want joined at 31", j)
		}
	})
}

// A peer that leaves while its catch-up is read is forgotten: the answer
// is dropped.
func TestCatchUpAnswerForAPeerThatLeftIsDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore("d")
		m := NewManager(st, Config{History: 2})
		defer m.Shutdown(context.Background())
		typeAhead(t, m, 10)
		hold := make(chan struct{})
		st.fetchHook = func() { <-hold }
		c := &fakePeer{}
		cc, err := m.Join("d", c, joinMsg("c", wire.IntPtr(0)), Rights{Edit: true})
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		cc.Leave()
		synctest.Wait()
		close(hold)
		synctest.Wait()
		if got := c.take(); len(got) != 0 {
			t.Fatalf("peer that left got %v", types(got))
		}
	})
}

// Ops, duplicates and cursors that name a revision older than the window
// cost the hub nothing: the op is refused as stale (close 4001: rejoin
// with that revision and resend), the cursor is ignored. The client's
// rejoin then catches up, its own op acting as its acknowledgement.
func TestBeforeTheWindowIsStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore("d")
		m := NewManager(st, Config{History: 2})
		defer m.Shutdown(context.Background())
		a, ca := joinPeer(t, m, "a")
		ca.Op(opMsg(t, 0, 1, `["a"]`))
		synctest.Wait()
		_, cw := joinPeer(t, m, "w")
		for i := 1; i < 20; i++ {
			cw.Op(opMsg(t, i, i, insertAt(i, "w")))
		}
		synctest.Wait()
		a.take()

		// An old duplicate: its revision is outside the window.
		ca.Op(opMsg(t, 0, 1, `["zzz"]`))
		synctest.Wait()
		got := a.take()
		if len(got) != 1 || got[0].Code != wire.CodeStale || a.closeCode() != wire.CloseTooSlow {
			t.Fatalf("old duplicate: got %+v closed %d, want stale and 4001", got, a.closeCode())
		}
		// The rejoin from revision 0 brings the client's own op back.
		a2 := &fakePeer{}
		if _, err := m.Join("d", a2, joinMsg("a", wire.IntPtr(0)), Rights{Edit: true}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		got = a2.take()
		if len(got) != 21 || got[0].Client != "a" || *got[0].Seq != 1 || *got[0].Rev != 1 || got[20].Type != wire.TypeJoined {
			t.Fatalf("rejoin from 0: %d messages, first %+v; want 20 ops starting with a's seq 1, then joined", len(got), got[0])
		}

		// An op based before the window.
		b, cb := joinPeer(t, m, "b")
		cb.Op(opMsg(t, 1, 1, `["B",1]`))
		synctest.Wait()
		if got := b.take(); len(got) != 1 || got[0].Code != wire.CodeStale || b.closeCode() != wire.CloseTooSlow {
			t.Fatalf("op based on revision 1: got %+v closed %d, want stale and 4001", got, b.closeCode())
		}
		if n := len(st.entries("d")); n != 20 {
			t.Fatalf("log has %d entries, want 20", n)
		}

		// A cursor at an old revision is ignored: no error, no relay.
		c, cc := joinPeer(t, m, "c")
		a2.take()
		time.Sleep(time.Second) // past the relay interval
		cc.Presence(Cursor{Rev: wire.IntPtr(1), Sel: []wire.Range{{1, 1}}})
		synctest.Wait()
		if got := append(c.take(), only(a2.take(), wire.TypePresence)...); len(got) != 0 || c.closeCode() != 0 {
			t.Fatalf("cursor at an old revision: got %+v, closed %d; want nothing", got, c.closeCode())
		}
	})
}

// One op may cost the hub a bounded amount of transform work: a large op
// far behind is refused as stale while a small op as far behind is
// applied, and so is the large op at the current revision. Ops over the
// component limit are refused outright.
func TestTransformWorkIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore("d")
		m := NewManager(st, Config{MaxTransform: 500})
		defer m.Shutdown(context.Background())
		typeAhead(t, m, 100) // "w" × 100 at revision 100
		// 101 components: delete every second unit of the 100, then "x".
		big := "[" + strings.Repeat("-1,1,", 50) + `"x"]`
		submit := func(client string, rev int, op string) (*fakePeer, []wire.Message) {
			p, c := joinPeer(t, m, client)
			c.Op(opMsg(t, rev, 1, op))
			synctest.Wait()
			return p, p.take()
		}
		if _, got := submit("big-now", 100, big); len(got) != 1 || got[0].Type != wire.TypeAck {
			t.Fatalf("big op at the current revision: got %+v, want ack", got)
		}
		// Ten more ops, each based on revision 100: each is transformed past
		// the ones before it (cheap).
		for i := range 10 {
			if _, got := submit("w"+strconv.Itoa(i), 100, `["w",100]`); len(got) != 1 || got[0].Type != wire.TypeAck {
				t.Fatalf("small op %d: got %+v, want ack", i, got)
			}
		}
		// 11 revisions behind, past ops of 101 and 2 components: over 500 steps.
		// 100 components that survive transformation: an insert every
		// second unit.
		spread := "[" + strings.TrimSuffix(strings.Repeat(`"y",2,`, 50), ",") + "]"
		p, got := submit("big-late", 100, spread)
		if len(got) != 1 || got[0].Code != wire.CodeStale || p.closeCode() != wire.CloseTooSlow {
			t.Fatalf("big op 11 behind: got %+v closed %d, want stale and 4001", got, p.closeCode())
		}
		if _, got := submit("small-late", 100, `[100,"s"]`); len(got) != 1 || got[0].Type != wire.TypeAck {
			t.Fatalf("small op 11 behind: got %+v, want ack", got)
		}
		huge := "[" + strings.Repeat(`"y",1,`, wire.MaxOpComponents/2+1) + `1]`
		p, got = submit("huge", 0, huge)
		if len(got) != 1 || got[0].Code != wire.CodeBadOp || p.closeCode() != wire.CloseResync {
			t.Fatalf("op over the component limit: got %+v closed %d, want bad_op and 4000", got, p.closeCode())
		}
	})
}

// People joining, typing a character and leaving do not write a snapshot
// each time: a stopping hub saves one only after SnapshotOnStop ops.
func TestStoppingHubSavesASnapshotOnlyAfterEnoughOps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore("d")
		m := NewManager(st, Config{SnapshotEvery: 100}) // on stop: after 10
		defer m.Shutdown(context.Background())
		for i := range 20 {
			_, c := joinPeer(t, m, "a")
			c.Op(opMsg(t, i, i+1, insertAt(i, "a")))
			synctest.Wait()
			c.Leave()
			synctest.Wait()
			st.mu.Lock()
			saves := st.saves
			st.mu.Unlock()
			if want := (i + 1) / 10; saves != want {
				t.Fatalf("after %d rounds: %d snapshots saved, want %d", i+1, saves, want)
			}
		}
	})
}
