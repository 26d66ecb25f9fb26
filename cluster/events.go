package cluster

import (
	"encoding/json"
	"time"

	"github.com/nats-io/nats.go"
)

// Document events between processes.
//
// What the session manager does not see travels on eventsSubject: a
// document renamed, moved to or out of the trash, or a link reissued (with
// the token that no longer opens it, so that every process closes the
// sockets that came with it). And, at most every gossipEvery, a process
// whose manager's generation moved (ops committed, people come and gone)
// says so, so that the other processes' live document lists look again.

const (
	eventsSubject = "tandem.events"
	gossipEvery   = 250 * time.Millisecond
)

// event is one message on eventsSubject.
type event struct {
	From    string `json:"from"`
	Doc     string `json:"doc,omitempty"`
	Revoked string `json:"revoked,omitempty"`
	// Counts (gossip only): how many people are in the documents this
	// process runs, for those whose count changed (0: it stopped running
	// it), so that every process's live list counts everyone.
	Counts map[string]int `json:"counts,omitempty"`
}

// counted is a document's people count as its owner last gossiped it.
// The owner says every count again every third of a lease period, so a
// count older than a period is of an owner that died: it is ignored.
type counted struct {
	owner string
	n     int
	at    time.Time
}

// OnEvent sets what is called with another process's document event: the
// server's Remote. It may be set after Start.
func (n *Node) OnEvent(f func(doc, revokedToken string)) { n.onEvent.Store(&f) }

// Announce tells the other processes of a change to doc made here (see
// server.Announcer). Without NATS there are no others to tell; a link
// reissued then reaches only this process's sockets.
func (n *Node) Announce(doc, revokedToken string) {
	if n.nc == nil {
		return
	}
	b, _ := json.Marshal(event{From: n.id, Doc: doc, Revoked: revokedToken})
	if err := n.nc.Publish(eventsSubject, b); err != nil {
		n.log.Warn("announce a document event", "doc", doc, "err", err)
	}
}

// eventMsg handles another process's event.
func (n *Node) eventMsg(msg *nats.Msg) {
	var ev event
	if err := json.Unmarshal(msg.Data, &ev); err != nil || ev.From == n.id {
		return
	}
	n.gen.Add(1)
	if ev.Doc == "" { // gossip: something changed there
		if len(ev.Counts) > 0 {
			n.mu.Lock()
			for doc, k := range ev.Counts {
				if k > 0 {
					n.counts[doc] = counted{ev.From, k, time.Now()}
				} else if n.counts[doc].owner == ev.From {
					delete(n.counts, doc)
				}
			}
			n.mu.Unlock()
		}
		return
	}
	if f := n.onEvent.Load(); f != nil {
		(*f)(ev.Doc, ev.Revoked)
	}
}

// gossip says, if the manager's generation moved since last time, that
// something changed here, with the people counts of the documents run
// here that changed (sent holds what was last said), or all of them if
// full.
func (n *Node) gossip(last *uint64, sent map[string]int, full bool) {
	if n.nc == nil {
		return
	}
	n.mu.Lock()
	docs := make([]string, 0, len(n.owned))
	for doc := range n.owned {
		docs = append(docs, doc)
	}
	n.mu.Unlock()
	changed := make(map[string]int)
	now := make(map[string]bool, len(docs))
	for _, doc := range docs {
		now[doc] = true
		if k := n.m.Editors(doc); k != sent[doc] || full {
			changed[doc], sent[doc] = k, k
		}
	}
	for doc := range sent {
		if !now[doc] {
			changed[doc] = 0 // no longer run here
			delete(sent, doc)
		}
	}
	if g := n.m.Generation(); g != *last || len(changed) > 0 {
		*last = g
		b, _ := json.Marshal(event{From: n.id, Counts: changed})
		n.nc.Publish(eventsSubject, b)
	}
}
