package session

import (
	"errors"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tandem-editor/tandem/wire"
)

// Hostile and edge-case inputs to the hub that the adapter's tests cannot
// pin down deterministically: events queued behind a commit, a delete or a
// store failure, and budgets that run out at one exact message.

// holdFirstAppend makes the first commit wait until the returned function
// is called, so that later events queue up into one batch.
func holdFirstAppend(st *memStore) (release func()) {
	ch := make(chan struct{})
	first := true
	st.appendHook = func() {
		if first {
			first = false
			<-ch
		}
	}
	return func() { close(ch) }
}

// A client may pipeline many ops (the protocol asks for one in flight, but
// the server does not rely on it). A resubmission of one of them that
// arrives in the same batch, before the batch is committed, is acknowledged
// with its revision, and nobody is disconnected.
func TestDuplicateOfUncommittedOpInALongBatchIsAcked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		a, ca := e.join("a", nil)
		b, _ := e.join("b", nil)
		release := holdFirstAppend(e.st)
		ca.Op(opMsg(t, 0, 1, `["x"]`))
		synctest.Wait() // held in the first commit
		const n = 80    // more than the hub's recent seq memory
		for seq := 2; seq <= n; seq++ {
			ca.Op(opMsg(t, seq-1, seq, insertAt(seq-1, "x")))
		}
		ca.Op(opMsg(t, 1, 2, `[1,"x"]`)) // seq 2 again, still uncommitted
		release()
		synctest.Wait()
		if ac, bc := a.closeCode(), b.closeCode(); ac != 0 || bc != 0 {
			t.Fatalf("a duplicate seq closed the peers: a %d, b %d (a's last messages %+v)", ac, bc, last(a.take(), 3))
		}
		var acks []int
		for _, m := range a.take() {
			if m.Type == wire.TypeAck && *m.Seq == 2 {
				acks = append(acks, *m.Rev)
			}
		}
		if len(acks) != 2 || acks[0] != 2 || acks[1] != 2 {
			t.Fatalf("acks of seq 2: revisions %v, want [2 2]", acks)
		}
		if got := len(e.st.entries("d")); got != n {
			t.Fatalf("log has %d entries, want %d", got, n)
		}
	})
}

// A join that reaches a hub after the document was deleted, but before the
// hub handled the deletion, must still be answered (not_found and 4004),
// not left waiting on a socket that nothing serves.
func TestJoinQueuedBehindADeleteIsAnswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		_, ca := e.join("a", nil)
		release := holdFirstAppend(e.st)
		ca.Op(opMsg(t, 0, 1, `["x"]`))
		synctest.Wait() // the hub is busy committing
		e.st.mu.Lock()
		delete(e.st.docs, "d") // as the server does: the store first
		e.st.mu.Unlock()
		e.m.Deleted("d")
		late := &fakePeer{}
		joinErr := make(chan error, 1)
		go func() { // Join may wait for the hub: it ends once the hub is free
			_, err := e.m.Join("d", late, joinMsg("late", nil), Rights{Edit: true})
			joinErr <- err
		}()
		synctest.Wait()
		release()
		synctest.Wait()
		if err := <-joinErr; err != nil {
			t.Fatalf("join: %v", err)
		}
		got := late.take()
		if late.closeCode() == 0 {
			t.Fatalf("a join queued behind the delete got %+v and no close: its socket hangs unanswered", got)
		}
		if len(got) == 0 || got[len(got)-1].Code != wire.CodeNotFound || late.closeCode() != wire.CloseNotFound {
			t.Fatalf("late join got %+v, closed %d; want error not_found, close 4004", got, late.closeCode())
		}
	})
}

// The same for a join queued behind a commit that fails: it must be
// answered (error internal, 1011, so the client retries).
func TestJoinQueuedBehindAStoreFailureIsAnswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		a, ca := e.join("a", nil)
		release := holdFirstAppend(e.st)
		e.st.failNext = errors.New("disk on fire")
		ca.Op(opMsg(t, 0, 1, `["x"]`))
		synctest.Wait() // held in the commit that will fail
		late := &fakePeer{}
		joinErr := make(chan error, 1)
		go func() { // Join may wait for the hub: it ends once the hub is free
			_, err := e.m.Join("d", late, joinMsg("late", nil), Rights{Edit: true})
			joinErr <- err
		}()
		synctest.Wait()
		release()
		synctest.Wait()
		if err := <-joinErr; err != nil {
			t.Fatalf("join: %v", err)
		}
		if a.closeCode() != wire.CloseInternal {
			t.Fatalf("a closed with %d, want 1011", a.closeCode())
		}
		// Either answer will do: joined (the document reloaded), or an
		// error and a close.
		got := late.take()
		switch {
		case late.closeCode() == 0 && (len(got) == 0 || got[len(got)-1].Type != wire.TypeJoined):
			t.Fatalf("a join queued behind a failed commit got %+v and no close: its socket hangs unanswered", got)
		case late.closeCode() != 0 && (len(got) == 0 || got[len(got)-1].Type != wire.TypeError):
			t.Fatalf("late join got %+v, closed %d, without an error first", got, late.closeCode())
		}
	})
}

// A newcomer whose joined message overflows its budget is closed as too
// slow; the others must not be told it is present after being told it
// left (a cursor that never goes away).
func TestJoinedOverBudgetLeavesNoGhost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		a, ca := e.join("a", nil)
		for i := range 3 {
			ca.Op(opMsg(t, i, i+1, insertAt(i, "x")))
			synctest.Wait()
		}
		a.take()
		// Three catch-up ops fit; joined does not.
		slow := &fakePeer{budget: 3}
		if _, err := e.m.Join("d", slow, joinMsg("s", wire.IntPtr(0)), Rights{Edit: true}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if slow.closeCode() != wire.CloseTooSlow {
			t.Fatalf("slow newcomer closed with %d, want 4001", slow.closeCode())
		}
		present := false
		var seen []string
		for _, m := range a.take() {
			if m.Client != "s" {
				continue
			}
			seen = append(seen, m.Type)
			switch m.Type {
			case wire.TypePresence:
				present = true
			case wire.TypeLeave:
				present = false
			}
		}
		if present {
			t.Fatalf("a saw %v for the closed newcomer: it stays present for ever", seen)
		}
	})
}

// A cursor inside a surrogate pair of the current text moves to the pair's
// start, whether it was sent at the current revision or moved there by
// later ops.
func TestPresenceInsideASurrogatePairMovesToItsStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		a, ca := e.join("a", nil)
		b, cb := e.join("b", nil)
		ca.Op(opMsg(t, 0, 1, `["a😀b😀"]`)) // a=0, 😀=1..2, b=3, 😀=4..5
		synctest.Wait()
		a.take()
		b.take()
		time.Sleep(time.Second) // past the relay interval
		cb.Presence(Cursor{Rev: wire.IntPtr(1), Sel: []wire.Range{{2, 5}, {0, 2}, {6, 3}}})
		synctest.Wait()
		relayed := func() []wire.Range {
			t.Helper()
			for _, m := range a.take() {
				if m.Type == wire.TypePresence && m.Client == "b" {
					return m.Sel
				}
			}
			t.Fatalf("no presence relayed")
			return nil
		}
		if got, want := relayed(), []wire.Range{{1, 4}, {0, 1}, {6, 3}}; !equalRanges(got, want) {
			t.Fatalf("relayed %v, want %v", got, want)
		}
		// An op inserts "xy" at 0; b's cursor, sent at revision 1 between
		// "a" and the pair, moves to 4, inside the pair, hence to 3.
		ca.Op(opMsg(t, 1, 2, `["xy",6]`))
		synctest.Wait()
		a.take()
		b.take()
		time.Sleep(time.Second) // past the relay interval
		cb.Presence(Cursor{Rev: wire.IntPtr(1), Sel: []wire.Range{{2, 2}}})
		synctest.Wait()
		if got, want := relayed(), []wire.Range{{3, 3}}; !equalRanges(got, want) {
			t.Fatalf("relayed %v, want %v", got, want)
		}
		if b.closeCode() != 0 {
			t.Fatalf("b closed with %d", b.closeCode())
		}
	})
}

func equalRanges(a, b []wire.Range) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// only returns the messages of type typ.
func only(ms []wire.Message, typ string) []wire.Message {
	var out []wire.Message
	for _, m := range ms {
		if m.Type == typ {
			out = append(out, m)
		}
	}
	return out
}

func last(ms []wire.Message, n int) []wire.Message {
	if len(ms) > n {
		return ms[len(ms)-n:]
	}
	return ms
}

// insertAt returns the JSON op that inserts s at the end of an n-unit text.
func insertAt(n int, s string) string {
	if n == 0 {
		return `["` + s + `"]`
	}
	return `[` + strconv.Itoa(n) + `,"` + s + `"]`
}
