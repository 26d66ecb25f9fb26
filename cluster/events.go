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
	if ev.Doc == "" {
		return // gossip: something changed there
	}
	if f := n.onEvent.Load(); f != nil {
		(*f)(ev.Doc, ev.Revoked)
	}
}

// gossip says, if the manager's generation moved since last time, that
// something changed here.
func (n *Node) gossip(last *uint64) {
	if n.nc == nil {
		return
	}
	if g := n.m.Generation(); g != *last {
		*last = g
		b, _ := json.Marshal(event{From: n.id})
		n.nc.Publish(eventsSubject, b)
	}
}
