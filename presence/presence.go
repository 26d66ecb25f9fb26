// Package presence tracks who is in a document and where their cursors
// are: name, colour and selections, kept at the document's current revision
// by moving every selection through every applied operation.
//
// It is pure and in memory: no I/O, no goroutines, no clock (callers pass
// now). Presence is never persisted. A Set is not safe for concurrent use;
// its owner (a session hub) serialises access.
package presence

import (
	"time"

	"github.com/tandem-editor/tandem/ot"
)

// Interval is the shortest time between two relays of one peer's presence.
const Interval = 50 * time.Millisecond

// State is one peer's presence at the Set's current revision.
type State struct {
	Client string
	Name   string
	Color  string
	Sel    []ot.Range // empty: no cursor (the tab lost focus)
}

type entry struct {
	State
	dirty    bool      // changed since last relayed
	lastSent time.Time // when it was last relayed
}

// Set holds the presence of every peer of one document. The zero value is
// not usable; call New.
type Set struct {
	peers map[string]*entry
	order []string // join order, for stable listings
}

// New returns an empty Set.
func New() *Set { return &Set{peers: make(map[string]*entry)} }

// Join adds a peer (or replaces one with the same client id) with no
// selection. The newcomer is not marked for relay: the caller announces it
// at once, which counts as a relay at now.
func (s *Set) Join(client, name, color string, now time.Time) {
	if _, ok := s.peers[client]; !ok {
		s.order = append(s.order, client)
	}
	s.peers[client] = &entry{State: State{Client: client, Name: name, Color: color, Sel: []ot.Range{}}, lastSent: now}
}

// Leave removes a peer. It reports whether the peer was present.
func (s *Set) Leave(client string) bool {
	if _, ok := s.peers[client]; !ok {
		return false
	}
	delete(s.peers, client)
	for i, c := range s.order {
		if c == client {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
	return true
}

// Get returns a peer's state.
func (s *Set) Get(client string) (State, bool) {
	e, ok := s.peers[client]
	if !ok {
		return State{}, false
	}
	return e.State, true
}

// Len is the number of peers.
func (s *Set) Len() int { return len(s.peers) }

// All returns every peer's state in join order.
func (s *Set) All() []State {
	out := make([]State, 0, len(s.order))
	for _, c := range s.order {
		out = append(out, s.peers[c].State)
	}
	return out
}

// Update sets a peer's selections, already at the current revision, and
// marks them for relay. Unknown peers are ignored.
func (s *Set) Update(client string, sel []ot.Range) {
	if e, ok := s.peers[client]; ok {
		e.Sel = sel
		e.dirty = true
	}
}

// Apply moves every stored selection through op, the operation that just
// produced the current revision. Moved selections are not re-relayed:
// every peer transforms them through the same op itself.
func (s *Set) Apply(op ot.Op) {
	for _, e := range s.peers {
		if len(e.Sel) > 0 {
			e.Sel = ot.TransformSelection(e.Sel, op)
		}
	}
}

// Due returns the peers whose changes should be relayed now, marking them
// relayed, and the time of the next relay still waiting (zero if none).
// Each peer is relayed at most once per Interval.
func (s *Set) Due(now time.Time) (due []State, next time.Time) {
	for _, c := range s.order {
		e := s.peers[c]
		if !e.dirty {
			continue
		}
		at := e.lastSent.Add(Interval)
		if !now.Before(at) {
			e.dirty = false
			e.lastSent = now
			due = append(due, e.State)
			continue
		}
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	return due, next
}
