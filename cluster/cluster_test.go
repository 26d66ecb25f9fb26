package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tandem-editor/tandem/internal/natstest"
	"github.com/tandem-editor/tandem/session"
	"github.com/tandem-editor/tandem/store"
	"github.com/tandem-editor/tandem/wire"
)

// These tests run two Nodes in one process on a real nats-server, over one
// SQLite store and an in-memory LeaseStore, and break the path between
// them on purpose: a lost message, a silent owner.

// testPeriod is short, for quick tests, but several heartbeats long even
// when the race detector and a busy machine slow a 1.5 MB message down.
const testPeriod = 1500 * time.Millisecond

// memLeases is a LeaseStore in memory, by this process's clock.
type memLeases struct {
	mu sync.Mutex
	m  map[string]memLease
}

type memLease struct {
	owner   string
	expires time.Time
}

func (l *memLeases) TakeLease(_ context.Context, doc, owner string, ttl time.Duration) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, ok := l.m[doc]
	if !ok || cur.owner == owner || time.Now().After(cur.expires) {
		l.m[doc] = memLease{owner, time.Now().Add(ttl)}
		return owner, nil
	}
	return cur.owner, nil
}

func (l *memLeases) RenewLeases(_ context.Context, owner string, docs []string, ttl time.Duration) ([]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var kept []string
	for _, d := range docs {
		if cur, ok := l.m[d]; ok && cur.owner == owner && !time.Now().After(cur.expires) {
			l.m[d] = memLease{owner, time.Now().Add(ttl)}
			kept = append(kept, d)
		}
	}
	return kept, nil
}

func (l *memLeases) ReleaseLease(_ context.Context, doc, owner string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m[doc].owner == owner {
		delete(l.m, doc)
	}
	return nil
}

// peer is a socket as the tests see it.
type peer struct {
	mu     sync.Mutex
	msgs   []wire.Message
	closed int
}

func (p *peer) Send(b []byte) bool {
	var m wire.Message
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	p.mu.Lock()
	p.msgs = append(p.msgs, m)
	p.mu.Unlock()
	return true
}

func (p *peer) Close(code int, _ string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed == 0 {
		p.closed = code
	}
}

func (p *peer) has(typ string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.msgs {
		if m.Type == typ {
			return true
		}
	}
	return false
}

func (p *peer) closeCode() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

type pair struct {
	doc        string
	a, b       *Node
	ncA, ncB   *nats.Conn
	natsServer *natstest.Server
}

// newPair starts nodes a and b on one store and one nats-server, with a
// document.
func newPair(t *testing.T) *pair {
	ns := natstest.Start(t)
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	d, err := db.CreateDoc(context.Background(), "t")
	if err != nil {
		t.Fatal(err)
	}
	leases := &memLeases{m: map[string]memLease{}}
	p := &pair{doc: d.ID, natsServer: ns}
	start := func(id string) (*Node, *nats.Conn) {
		nc, err := nats.Connect(ns.URL())
		if err != nil {
			t.Fatal(err)
		}
		n := New(Config{ID: id, Leases: leases, Period: testPeriod, NATS: nc})
		m := session.NewManager(db, session.Config{Leases: n})
		if err := n.Start(m); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			n.Shutdown(ctx)
			n.Close()
			nc.Close()
		})
		return n, nc
	}
	p.a, p.ncA = start("a")
	p.b, p.ncB = start("b")
	return p
}

func join(t *testing.T, n *Node, doc, client string) (*peer, *session.Conn) {
	t.Helper()
	p := &peer{}
	c, err := n.Join(doc, p, &wire.Message{Type: wire.TypeJoin, Client: client, Name: client}, session.Rights{Edit: true})
	if err != nil {
		t.Fatalf("join %s: %v", client, err)
	}
	eventually(t, client+" joined", func() bool { return p.has(wire.TypeJoined) })
	return p, c
}

// relayOf returns b's one relayed connection.
func relayOf(t *testing.T, n *Node) *relay {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.relays) != 1 {
		t.Fatalf("%d relayed connections, want 1", len(n.relays))
	}
	for _, r := range n.relays {
		return r
	}
	return nil
}

// TestRelayedJoinAndOp: a join on b while a owns the document is relayed;
// b's op reaches a's peer and b gets its ack.
func TestRelayedJoinAndOp(t *testing.T) {
	p := newPair(t)
	pa, _ := join(t, p.a, p.doc, "ann")
	pb, cb := join(t, p.b, p.doc, "bob")
	relayOf(t, p.b)
	if n := p.a.m.Editors(p.doc); n != 2 {
		t.Fatalf("owner has %d peers, want 2 (one remote)", n)
	}
	var op = json.RawMessage(`["hi"]`)
	var s session.Submit
	if err := s.Op.UnmarshalJSON(op); err != nil {
		t.Fatal(err)
	}
	s.Rev, s.Seq = wire.IntPtr(0), wire.IntPtr(1)
	cb.Op(s)
	eventually(t, "bob's ack", func() bool { return pb.has(wire.TypeAck) })
	eventually(t, "ann sees bob's op", func() bool { return pa.has(wire.TypeOp) })
}

// TestRelayGapClosesSocket: a message from the owner lost on the way
// (the next one arrives with a higher number) closes the relayed socket
// with 4001, and the owner is told the peer left.
func TestRelayGapClosesSocket(t *testing.T) {
	p := newPair(t)
	join(t, p.a, p.doc, "ann")
	pb, _ := join(t, p.b, p.doc, "bob")
	r := relayOf(t, p.b)
	r.mu.Lock()
	next := r.next
	r.mu.Unlock()
	// Number next is "lost": next+1 arrives.
	p.ncA.Publish(peerSubject(r.id), encode(envelope{K: kMsg, N: next + 1, D: json.RawMessage(`{"type":"pong"}`)}))
	eventually(t, "bob's socket closed", func() bool { return pb.closeCode() != 0 })
	if got := pb.closeCode(); got != wire.CloseTooSlow {
		t.Fatalf("closed with %d, want %d", got, wire.CloseTooSlow)
	}
	eventually(t, "the owner drops the remote peer", func() bool { return p.a.m.Editors(p.doc) == 1 })
}

// TestOwnerGapClosesRemotePeer: a message from the relay lost on the way
// makes the owner close that remote peer, which closes the socket with
// 4001.
func TestOwnerGapClosesRemotePeer(t *testing.T) {
	p := newPair(t)
	join(t, p.a, p.doc, "ann")
	pb, _ := join(t, p.b, p.doc, "bob")
	r := relayOf(t, p.b)
	r.mu.Lock()
	// The relay's counter jumps: the owner sees the next message as
	// coming after one it never got.
	r.sent++
	r.mu.Unlock()
	cbPresence := session.Cursor{Rev: wire.IntPtr(0), Sel: []wire.Range{}}
	r.Presence(cbPresence)
	eventually(t, "bob's socket closed", func() bool { return pb.closeCode() != 0 })
	if got := pb.closeCode(); got != wire.CloseTooSlow {
		t.Fatalf("closed with %d, want %d", got, wire.CloseTooSlow)
	}
	eventually(t, "the owner drops the remote peer", func() bool { return p.a.m.Editors(p.doc) == 1 })
}

// TestSilentOwnerClosesSocket: an owner that stops talking (its NATS
// connection gone) is given up after a period: the relayed socket is
// closed with 4001. The owner, hearing nothing from the relay either,
// drops the remote peer.
func TestSilentOwnerClosesSocket(t *testing.T) {
	p := newPair(t)
	join(t, p.a, p.doc, "ann")
	pb, _ := join(t, p.b, p.doc, "bob")
	time.Sleep(testPeriod) // heartbeats keep it open meanwhile
	if got := pb.closeCode(); got != 0 {
		t.Fatalf("closed with %d while the owner was alive", got)
	}
	p.ncA.Close()
	start := time.Now()
	eventually(t, "bob's socket closed", func() bool { return pb.closeCode() != 0 })
	if got := pb.closeCode(); got != wire.CloseTooSlow {
		t.Fatalf("closed with %d, want %d", got, wire.CloseTooSlow)
	}
	if d := time.Since(start); d < testPeriod/2 {
		t.Fatalf("closed after %v; the owner is given a period (%v)", d, testPeriod)
	}
	eventually(t, "the owner drops the remote peer", func() bool { return p.a.m.Editors(p.doc) == 1 })
}

// TestLargeMessagesCrossInParts: an op larger than NATS's payload limit
// (1 MiB) goes from a relayed client to the owner, and its broadcast from
// the owner to a relayed client, in parts.
func TestLargeMessagesCrossInParts(t *testing.T) {
	p := newPair(t)
	pa, ca := join(t, p.a, p.doc, "ann")
	pb, cb := join(t, p.b, p.doc, "bob")
	big := strings.Repeat("x", 1500<<10)
	var s session.Submit
	s.Op.Insert(big)
	s.Rev, s.Seq = wire.IntPtr(0), wire.IntPtr(1)
	cb.Op(s) // relay → owner
	eventually(t, "bob's ack", func() bool { return pb.has(wire.TypeAck) })
	eventually(t, "ann sees bob's op", func() bool { return pa.has(wire.TypeOp) })
	var s2 session.Submit
	s2.Op.Retain(len(big)).Insert(big)
	s2.Rev, s2.Seq = wire.IntPtr(1), wire.IntPtr(1)
	ca.Op(s2) // owner → relay
	eventually(t, "ann's ack", func() bool { return pa.has(wire.TypeAck) })
	eventually(t, "bob sees ann's op", func() bool { return pb.has(wire.TypeOp) })
	if got := pb.closeCode(); got != 0 {
		t.Fatalf("bob closed with %d", got)
	}
}

// TestEditThroughRelay: a server edit (restore, POST /edit) made on a
// process that does not run the document is applied by the owner and
// answered with its revision.
func TestEditThroughRelay(t *testing.T) {
	p := newPair(t)
	pa, _ := join(t, p.a, p.doc, "ann")
	var e session.Edit
	e.Op.Insert("restored")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rev, err := p.b.Edit(ctx, p.doc, e)
	if err != nil || rev != 1 {
		t.Fatalf("edit through b: got rev %d, %v; want 1, nil", rev, err)
	}
	eventually(t, "ann sees the edit", func() bool { return pa.has(wire.TypeOp) })
	e.Rev = 5 // after the window's end: refused by the owner's Core
	if _, err := p.b.Edit(ctx, p.doc, e); err == nil {
		t.Fatal("an edit at a future revision was accepted")
	}
	// An edit larger than a NATS message (a restore of a large document)
	// goes in parts.
	var big session.Edit
	big.Rev = 1
	big.Op.Retain(len("restored")).Insert(strings.Repeat("y", 1500<<10))
	rev, err = p.b.Edit(ctx, p.doc, big)
	if err != nil || rev != 2 {
		t.Fatalf("a 1.5 MB edit through b: got rev %d, %v; want 2, nil", rev, err)
	}
	eventually(t, "ann sees the large edit", func() bool {
		pa.mu.Lock()
		defer pa.mu.Unlock()
		for _, m := range pa.msgs {
			if m.Type == wire.TypeOp && m.Rev != nil && *m.Rev == 2 {
				return true
			}
		}
		return false
	})
}

// TestWithoutNATSAnOwnedDocumentIsRefused: with leases but no NATS, a
// join for a document another process runs is refused (internal: the
// client retries), and accepted once that process lets it go.
func TestWithoutNATSAnOwnedDocumentIsRefused(t *testing.T) {
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d, err := db.CreateDoc(context.Background(), "t")
	if err != nil {
		t.Fatal(err)
	}
	leases := &memLeases{m: map[string]memLease{}}
	nodes := make([]*Node, 2)
	for i := range nodes {
		n := New(Config{ID: fmt.Sprint("n", i), Leases: leases, Period: testPeriod})
		if err := n.Start(session.NewManager(db, session.Config{Leases: n})); err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		defer n.Shutdown(context.Background())
		nodes[i] = n
	}
	_, ca := join(t, nodes[0], d.ID, "ann")
	_, err = nodes[1].Join(d.ID, &peer{}, &wire.Message{Type: wire.TypeJoin, Client: "bob"}, session.Rights{Edit: true})
	var serr *session.Error
	if !errors.As(err, &serr) || serr.Code != wire.CodeInternal {
		t.Fatalf("join on the other process: got %v, want an internal refusal", err)
	}
	ca.Leave() // the owner's hub stops and releases the lease
	eventually(t, "the lease is free", func() bool {
		leases.mu.Lock()
		defer leases.mu.Unlock()
		_, held := leases.m[d.ID]
		return !held
	})
	join(t, nodes[1], d.ID, "bob")
}
