package session

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/wire"
)

// memStore is an in-memory Store for hub tests.
type memStore struct {
	mu         sync.Mutex
	docs       map[string]bool
	log        map[string][]oplog.Entry
	snaps      map[string][2]any // rev, text
	failNext   error             // returned by the next Append
	appends    int
	appendHook func() // called inside Append, before it records anything
	fetchHook  func() // called inside EntriesPage, before it reads
	saves      int    // snapshots saved
}

func newMemStore(docs ...string) *memStore {
	s := &memStore{docs: map[string]bool{}, log: map[string][]oplog.Entry{}, snaps: map[string][2]any{}}
	for _, d := range docs {
		s.docs[d] = true
	}
	return s
}

func (s *memStore) Snapshot(_ context.Context, doc string) (int, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.docs[doc] {
		return 0, "", fmt.Errorf("snapshot %s: %w", doc, oplog.ErrNotFound)
	}
	if sn, ok := s.snaps[doc]; ok {
		return sn[0].(int), sn[1].(string), nil
	}
	return 0, "", nil
}

func (s *memStore) Entries(_ context.Context, doc string, from, to int) ([]oplog.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []oplog.Entry
	for _, e := range s.log[doc] {
		if e.Rev >= from && e.Rev <= to {
			out = append(out, e)
		}
	}
	return out, nil
}

func (s *memStore) Append(_ context.Context, doc string, es []oplog.Entry) error {
	if s.appendHook != nil {
		s.appendHook()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appends++
	if err := s.failNext; err != nil {
		s.failNext = nil
		return err
	}
	if !s.docs[doc] {
		return oplog.ErrNotFound
	}
	for i, e := range es {
		if e.Rev != len(s.log[doc])+1+i {
			return oplog.ErrConflict
		}
	}
	s.log[doc] = append(s.log[doc], es...)
	return nil
}

func (s *memStore) SaveSnapshot(_ context.Context, doc string, rev int, text string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snaps[doc] = [2]any{rev, text}
	s.saves++
	return nil
}

func (s *memStore) Seqs(_ context.Context, doc string) (map[string]int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.docs[doc] {
		return nil, fmt.Errorf("seqs %s: %w", doc, oplog.ErrNotFound)
	}
	m := make(map[string]int)
	for _, e := range s.log[doc] {
		m[e.Client] = max(m[e.Client], e.Seq)
	}
	return m, nil
}

func (s *memStore) EntriesPage(ctx context.Context, doc string, from, to, maxBytes int) ([]oplog.Entry, error) {
	if s.fetchHook != nil {
		s.fetchHook()
	}
	es, err := s.Entries(ctx, doc, from, to)
	n := 0
	for i, e := range es {
		if i > 0 && n+e.Size() > maxBytes {
			return es[:i], err
		}
		n += e.Size()
	}
	return es, err
}

func (s *memStore) PruneSnapshots(context.Context, string, int, int) error { return nil }

func (s *memStore) entries(doc string) []oplog.Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]oplog.Entry(nil), s.log[doc]...)
}

// fakePeer records what the hub sends it.
type fakePeer struct {
	mu      sync.Mutex
	msgs    []wire.Message
	closed  int // close code, 0 while open
	budget  int // messages accepted before Send reports overflow; 0 = unlimited
	refused int
}

func (p *fakePeer) Send(b []byte) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.budget > 0 && len(p.msgs) >= p.budget {
		p.refused++
		return false
	}
	var m wire.Message
	if err := json.Unmarshal(b, &m); err != nil {
		panic("hub sent bad JSON: " + string(b))
	}
	p.msgs = append(p.msgs, m)
	return true
}

func (p *fakePeer) Close(code int, _ string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed == 0 {
		p.closed = code
	}
}

func (p *fakePeer) take() []wire.Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.msgs
	p.msgs = nil
	return m
}

func (p *fakePeer) closeCode() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// Message constructors for tests.

func joinMsg(client string, rev *int) *wire.Message {
	return &wire.Message{Type: wire.TypeJoin, Client: client, Name: client, Color: "#123", Rev: rev}
}

func opMsg(t *testing.T, rev, seq int, js string) Submit {
	t.Helper()
	var op ot.Op
	if err := json.Unmarshal([]byte(js), &op); err != nil {
		t.Fatalf("bad op %s: %v", js, err)
	}
	return Submit{Rev: wire.IntPtr(rev), Seq: wire.IntPtr(seq), Op: op}
}

func types(ms []wire.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Type
	}
	return out
}
