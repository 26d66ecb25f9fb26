package session

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/tandem-editor/tandem/wire"
)

// fakeLeases hands out leases of documents that no one else holds
// (others), and lets the test take one away.
type fakeLeases struct {
	mu       sync.Mutex
	others   map[string]string // doc → another process holding it
	acquired int
	released int
	live     []*fakeLease
}

type fakeLease struct {
	l     *fakeLeases
	lost  chan struct{}
	once  sync.Once
	held  bool
	gone  bool
	relCt int
}

func (f *fakeLeases) Acquire(_ context.Context, doc string) (Lease, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if o := f.others[doc]; o != "" {
		return nil, &NotOwnerError{Doc: doc, Owner: o}
	}
	f.acquired++
	l := &fakeLease{l: f, lost: make(chan struct{}), held: true}
	f.live = append(f.live, l)
	return l, nil
}

func (l *fakeLease) Held() bool {
	l.l.mu.Lock()
	defer l.l.mu.Unlock()
	return l.held
}

func (l *fakeLease) Lost() <-chan struct{} { return l.lost }

func (l *fakeLease) Release() {
	l.l.mu.Lock()
	defer l.l.mu.Unlock()
	l.relCt++
	if l.relCt == 1 {
		l.l.released++
	}
}

// lose takes every live lease away, as a failed renewal does.
func (f *fakeLeases) lose() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range f.live {
		l.held = false
		l.once.Do(func() { close(l.lost) })
	}
}

func (f *fakeLeases) counts() (acquired, released int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.acquired, f.released
}

// TestJoinElsewhereOwnedIsReturnedUntold: a document whose lease another
// process holds is not loaded here; the join fails with *NotOwnerError
// naming the owner, and the peer is sent nothing (the caller relays it).
func TestJoinElsewhereOwnedIsReturnedUntold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore("d")
		fl := &fakeLeases{others: map[string]string{"d": "proc-b"}}
		m := NewManager(st, Config{Leases: fl})
		defer m.Shutdown(context.Background())
		p := &fakePeer{}
		_, err := m.Join("d", p, joinMsg("a", nil), Rights{Edit: true})
		var no *NotOwnerError
		if !errors.As(err, &no) || no.Owner != "proc-b" {
			t.Fatalf("got err %v, want a NotOwnerError naming proc-b", err)
		}
		synctest.Wait()
		if got := p.take(); len(got) != 0 || p.closeCode() != 0 {
			t.Fatalf("peer got %v, close %d; want nothing", types(got), p.closeCode())
		}
		if n := m.Editors("d"); n != 0 {
			t.Fatalf("got %d editors, want 0 (the hub must not keep the refused join)", n)
		}
		_, err = m.Edit(context.Background(), "d", Edit{Op: nil, Rev: 0})
		if !errors.As(err, &no) {
			t.Fatalf("edit: got %v, want a NotOwnerError", err)
		}
	})
}

// TestLeaseHeldWhileHubRunsAndReleasedAfter: one Acquire when the hub
// loads, one Release when the last peer leaves.
func TestLeaseHeldWhileHubRunsAndReleasedAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore("d")
		fl := &fakeLeases{}
		m := NewManager(st, Config{Leases: fl})
		defer m.Shutdown(context.Background())
		_, ca, err := joinOK(m, "a")
		if err != nil {
			t.Fatal(err)
		}
		_, cb, err := joinOK(m, "b")
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if a, r := fl.counts(); a != 1 || r != 0 {
			t.Fatalf("got %d acquired, %d released while running; want 1, 0", a, r)
		}
		ca.Leave()
		cb.Leave()
		synctest.Wait()
		if a, r := fl.counts(); a != 1 || r != 1 {
			t.Fatalf("got %d acquired, %d released after the last leave; want 1, 1", a, r)
		}
	})
}

func joinOK(m *Manager, client string) (*fakePeer, *Conn, error) {
	p := &fakePeer{}
	c, err := m.Join("d", p, joinMsg(client, nil), Rights{Edit: true})
	return p, c, err
}

// TestLostLeaseStopsHubWithoutWriting: once the lease is lost, the hub
// closes its peers with 4001 (reconnect now and catch up) and writes
// nothing more, not even an op that was already in its inbox.
func TestLostLeaseStopsHubWithoutWriting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore("d")
		fl := &fakeLeases{}
		m := NewManager(st, Config{Leases: fl, SnapshotEvery: 1})
		defer m.Shutdown(context.Background())
		a, ca, err := joinOK(m, "a")
		if err != nil {
			t.Fatal(err)
		}
		ca.Op(opMsg(t, 0, 1, `["x"]`))
		synctest.Wait()
		if n := len(st.entries("d")); n != 1 {
			t.Fatalf("got %d entries before the loss, want 1", n)
		}
		saves := st.saves
		// The lease stops being held (a renewal failed); an op arrives
		// before the hub sees Lost: it must not be written.
		fl.mu.Lock()
		for _, l := range fl.live {
			l.held = false
		}
		fl.mu.Unlock()
		ca.Op(opMsg(t, 1, 2, `[1, "y"]`))
		synctest.Wait()
		fl.lose()
		synctest.Wait()
		if n := len(st.entries("d")); n != 1 {
			t.Fatalf("got %d entries after the loss, want 1", n)
		}
		if got := a.closeCode(); got != wire.CloseTooSlow {
			t.Fatalf("peer closed with %d, want %d", got, wire.CloseTooSlow)
		}
		if _, r := fl.counts(); r != 1 {
			t.Fatalf("got %d releases, want 1", r)
		}
		if st.saves > saves+1 {
			t.Fatalf("snapshots were written after the loss")
		}
		// A new join takes a new lease and sees the one persisted op.
		b, _, err := joinOK(m, "b")
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		msgs := b.take()
		if len(msgs) == 0 || msgs[0].Text == nil || *msgs[0].Text != "x" {
			t.Fatalf("new join got %v, want a snapshot \"x\"", msgs)
		}
		if a, _ := fl.counts(); a != 2 {
			t.Fatalf("got %d acquires, want 2", a)
		}
	})
}

// TestLostSignalClosesPeersAtOnce: Lost alone (no op waiting) stops the
// hub: its peers are closed with 4001 and the lease is released.
func TestLostSignalClosesPeersAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore("d")
		fl := &fakeLeases{}
		m := NewManager(st, Config{Leases: fl})
		defer m.Shutdown(context.Background())
		a, _, err := joinOK(m, "a")
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		fl.lose()
		synctest.Wait()
		if got := a.closeCode(); got != wire.CloseTooSlow {
			t.Fatalf("peer closed with %d, want %d", got, wire.CloseTooSlow)
		}
		if n := m.Editors("d"); n != 0 {
			t.Fatalf("got %d editors after the loss, want 0", n)
		}
		if _, r := fl.counts(); r != 1 {
			t.Fatalf("got %d releases, want 1", r)
		}
	})
}
