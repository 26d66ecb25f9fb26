package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/session"
	"github.com/tandem-editor/tandem/wire"
)

// The owner's side: the relays' messages for a document this process runs,
// and remote peers.

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// ownerMsg handles one message on an owned document's subject, on that
// subscription's goroutine (so a relay's messages are handled in order).
func (n *Node) ownerMsg(o *owned, msg *nats.Msg) {
	var env envelope
	if err := json.Unmarshal(msg.Data, &env); err != nil {
		n.log.Error("bad message from a relay", "doc", o.doc, "err", err)
		return
	}
	if env.K == kPart && strings.HasPrefix(env.Conn, editPrefix) {
		whole, ok := n.editPart(o, &env)
		if !ok {
			return
		}
		env = *whole // the last part was the request: answered below
	}
	switch env.K {
	case kJoin:
		n.remoteJoin(o, msg, &env)
		return
	case kEdit:
		// Off this goroutine: the edit waits for its commit, and the
		// relays' ops must not wait behind it.
		go n.remoteEdit(o.doc, msg, &env) // ends when the edit is answered
		return
	case kDeleted:
		n.m.Deleted(o.doc)
		return
	}
	n.mu.Lock()
	rp := o.remotes[env.Conn]
	n.mu.Unlock()
	if rp == nil {
		if env.K != kLeave && env.Conn != "" {
			// A connection this hub does not know (it joined an earlier
			// hub, or its join was lost): send it to catch up.
			n.nc.Publish(peerSubject(env.Conn), encode(envelope{K: kClose, Code: wire.CloseTooSlow, Reason: "the document's server restarted: catch up"}))
		}
		return
	}
	rp.inbound(&env)
}

// editPart keeps a part of a server edit; with the last, it returns the
// whole edit. Parts beyond maxEditParts are dropped, all of them: the
// relay's request then fails, and it tries again.
func (n *Node) editPart(o *owned, part *envelope) (*envelope, bool) {
	if o.edits == nil {
		o.edits = make(map[string][]byte)
	}
	buf := o.edits[part.Conn]
	if o.editsBytes+len(part.P) > maxEditParts {
		n.log.Warn("server edits in parts over their bound: dropped", "doc", o.doc)
		o.edits, o.editsBytes = nil, 0
		return nil, false
	}
	o.editsBytes += len(part.P)
	whole, done, err := reassemble(&buf, part)
	if !done && err == nil {
		o.edits[part.Conn] = buf
		return nil, false
	}
	o.editsBytes -= len(o.edits[part.Conn]) + len(part.P)
	delete(o.edits, part.Conn)
	if err != nil {
		n.log.Error("a server edit in parts does not decode", "doc", o.doc, "err", err)
		return nil, false
	}
	return whole, true
}

// remoteJoin joins a relayed connection to the document's hub, as a remote
// peer, and answers the relay.
func (n *Node) remoteJoin(o *owned, msg *nats.Msg, env *envelope) {
	reply := func(a answer) {
		if err := msg.Respond(encode(a)); err != nil {
			n.log.Warn("answer a relay", "doc", o.doc, "err", err)
		}
	}
	if env.Join == nil || env.Conn == "" {
		reply(answer{Code: wire.CodeBadMessage, Message: "join without a message"})
		return
	}
	rp := &remote{n: n, o: o, id: env.Conn, subject: peerSubject(env.Conn), in: env.I, heard: time.Now()}
	n.mu.Lock()
	if o.gone {
		n.mu.Unlock()
		reply(answer{NotOwner: true})
		return
	}
	if old := o.remotes[env.Conn]; old != nil {
		n.mu.Unlock()
		reply(answer{Code: wire.CodeAlreadyJoined, Message: "this socket has already joined"})
		return
	}
	o.remotes[env.Conn] = rp
	n.mu.Unlock()
	conn, err := n.m.Join(o.doc, rp, env.Join, session.Rights{Edit: env.Edit})
	var no *session.NotOwnerError
	var serr *session.Error
	switch {
	case err == nil:
		rp.joined(conn)
		reply(answer{OK: true})
	case errors.As(err, &no):
		n.forget(rp)
		reply(answer{NotOwner: true})
	case errors.As(err, &serr):
		n.forget(rp)
		reply(answer{Code: serr.Code, Message: serr.Message})
	default:
		n.forget(rp)
		reply(answer{NotOwner: true}) // shutting down: let the relay try again
	}
}

func (n *Node) remoteEdit(doc string, msg *nats.Msg, env *envelope) {
	var op ot.Op
	if err := op.UnmarshalJSON(env.Op); err != nil {
		msg.Respond(encode(answer{Code: wire.CodeBadOp, Message: err.Error()}))
		return
	}
	e := session.Edit{Op: op, Author: env.Author, Inserts: env.Inserts}
	if env.Rev != nil {
		e.Rev = *env.Rev
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rev, err := n.m.Edit(ctx, doc, e)
	var no *session.NotOwnerError
	var serr *session.Error
	switch {
	case err == nil:
		msg.Respond(encode(answer{OK: true, Rev: rev}))
	case errors.As(err, &no), errors.Is(err, session.ErrClosed):
		msg.Respond(encode(answer{NotOwner: true}))
	case errors.As(err, &serr):
		msg.Respond(encode(answer{Code: serr.Code, Message: serr.Message}))
	default:
		msg.Respond(encode(answer{Code: wire.CodeInternal, Message: err.Error()}))
	}
}

// answerErr turns a refusal from the owner back into an error.
func answerErr(a answer) error {
	return &session.Error{Code: a.Code, Message: a.Message}
}

// forget removes rp from its document's remote peers.
func (n *Node) forget(rp *remote) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if rp.o.remotes[rp.id] == rp {
		delete(rp.o.remotes, rp.id)
	}
}

// remote is a relayed connection as the owner's hub sees it: a
// session.Peer whose messages are published, numbered, to the relay.
type remote struct {
	n       *Node
	o       *owned
	id      string
	subject string

	mu     sync.Mutex
	out    uint64 // messages published to the relay
	in     uint64 // the last number received from the relay
	heard  time.Time
	closed bool
	conn   *session.Conn // set once the join returned
	parts  []byte        // an envelope arriving in parts
}

var _ session.Peer = (*remote)(nil)

// Send publishes msg. It returns false (the hub closes the peer as too
// slow) when NATS refuses it: the connection is closed or its reconnect
// buffer is full.
func (rp *remote) Send(msg []byte) bool {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.closed {
		return true
	}
	return rp.n.publish(rp.subject, envelope{K: kMsg, D: msg}, &rp.out, toRelay) == nil
}

// Close tells the relay to close its socket, and leaves the hub.
func (rp *remote) Close(code int, reason string) {
	rp.mu.Lock()
	if rp.closed {
		rp.mu.Unlock()
		return
	}
	rp.closed = true
	rp.n.publish(rp.subject, envelope{K: kClose, Code: code, Reason: reason}, &rp.out, toRelay)
	conn := rp.conn
	rp.mu.Unlock()
	rp.n.forget(rp)
	if conn != nil {
		// Not on the hub's goroutine, which may be the caller.
		go conn.Leave() // ends once the leave is queued or the hub stopped
	}
}

// joined records the Conn; a peer closed during the join leaves now.
func (rp *remote) joined(conn *session.Conn) {
	rp.mu.Lock()
	rp.conn = conn
	closed := rp.closed
	rp.mu.Unlock()
	if closed {
		go conn.Leave() // ends once the leave is queued or the hub stopped
	}
}

// inbound handles a relay's op, presence, leave or heartbeat, checking
// its number: a gap (a message lost) closes the connection, whose client
// then reconnects and resends what was not acknowledged.
func (rp *remote) inbound(env *envelope) {
	rp.mu.Lock()
	conn := rp.conn
	rp.heard = time.Now()
	var gap, bad bool
	if env.K == kBeat {
		gap = env.I != rp.in
	} else {
		gap = env.I != rp.in+1
		rp.in = env.I
	}
	if !gap && env.K == kPart {
		whole, done, err := reassemble(&rp.parts, env)
		bad = err != nil
		if !done && !bad {
			rp.mu.Unlock()
			return
		}
		env = whole
	}
	rp.mu.Unlock()
	if gap || bad {
		rp.Close(wire.CloseTooSlow, "messages between servers were lost: catch up")
		return
	}
	if conn == nil {
		return
	}
	switch env.K {
	case kOp:
		s := session.Submit{Seq: env.Seq, Rev: env.Rev}
		if len(env.Op) > 0 && string(env.Op) != "null" {
			if err := s.Op.UnmarshalJSON(env.Op); err != nil {
				rp.Close(wire.CloseResync, "bad op from the relay")
				return
			}
		}
		conn.Op(s)
	case kPresence:
		var sel []wire.Range
		if env.Sel != nil {
			sel = *env.Sel
		}
		conn.Presence(session.Cursor{Rev: env.Rev, Sel: sel})
	case kLeave:
		rp.mu.Lock()
		rp.closed = true
		rp.mu.Unlock()
		rp.n.forget(rp)
		conn.Leave()
	}
}

// beat sends the relay the number of the last message published, so that
// it sees a lost last message, and gives up on a relay silent for a
// period (its process died): the hub is told it left.
func (rp *remote) beat(now time.Time) {
	rp.mu.Lock()
	silent := now.Sub(rp.heard) > rp.n.cfg.Period
	if !silent && !rp.closed {
		rp.n.nc.Publish(rp.subject, encode(envelope{K: kBeat, N: rp.out}))
	}
	rp.mu.Unlock()
	if silent {
		rp.n.log.Info("relayed connection silent: dropped", "doc", rp.o.doc, "conn", rp.id)
		rp.Close(wire.CloseTooSlow, "the relay went silent")
	}
}
