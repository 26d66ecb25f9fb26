package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tandem-editor/tandem/session"
	"github.com/tandem-editor/tandem/wire"
)

// The relay's side: a socket of this process for a document another
// process runs.

// relay is one relayed connection. It is the session.Forwarder of the
// socket's Conn.
type relay struct {
	n   *Node
	id  string // <process>.<n>
	doc string
	p   session.Peer // the socket

	mu    sync.Mutex
	sent  uint64    // messages published to the owner (the join is 1)
	next  uint64    // the number of the next message expected from the owner
	heard time.Time // when the owner was last heard from
	done  bool
	parts []byte // an envelope arriving in parts
}

var _ session.Forwarder = (*relay)(nil)

// relayJoin joins p through the document's owner. It returns a
// *session.Error if the owner refused the join, and another error if the
// owner did not take it (not the owner any more, no answer, no NATS).
func (n *Node) relayJoin(doc string, p session.Peer, msg *wire.Message, rights session.Rights) (*session.Conn, error) {
	j, err := session.ParseJoin(msg)
	if err != nil {
		return nil, err
	}
	r := &relay{n: n, id: n.id + "." + strconv.FormatUint(n.nextConn.Add(1), 10), doc: doc, p: p,
		sent: 1, next: 1, heard: time.Now()}
	n.mu.Lock()
	if n.closing {
		n.mu.Unlock()
		return nil, session.ErrClosed
	}
	// Registered first: the owner's first messages may come before its
	// answer.
	n.relays[r.id] = r
	n.mu.Unlock()
	reply, err := n.nc.Request(docSubject(doc), encode(envelope{K: kJoin, Conn: r.id, I: 1, Join: msg, Edit: rights.Edit}), n.cfg.Period/2)
	if err != nil {
		n.dropRelay(r)
		return nil, fmt.Errorf("cluster: relay join: %w", err)
	}
	var a answer
	if err := json.Unmarshal(reply.Data, &a); err != nil {
		n.dropRelay(r)
		return nil, fmt.Errorf("cluster: relay join: bad answer: %w", err)
	}
	switch {
	case a.OK:
		n.gen.Add(1)
		return session.RelayConn(j, r), nil
	case a.NotOwner:
		n.dropRelay(r)
		return nil, errors.New("cluster: relay join: not the owner any more")
	default:
		n.dropRelay(r)
		return nil, &session.Error{Code: a.Code, Message: a.Message}
	}
}

func (n *Node) dropRelay(r *relay) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.relays[r.id] == r {
		delete(n.relays, r.id)
		n.gen.Add(1)
	}
}

// relayMsg handles a message from an owner to one of this process's
// relayed connections, on the peer subscription's goroutine.
func (n *Node) relayMsg(msg *nats.Msg) {
	id := strings.TrimPrefix(msg.Subject, "tandem.peer.")
	n.mu.Lock()
	r := n.relays[id]
	n.mu.Unlock()
	if r == nil {
		return // gone already
	}
	var env envelope
	if err := json.Unmarshal(msg.Data, &env); err != nil {
		n.log.Error("bad message from an owner", "doc", r.doc, "err", err)
		r.fail(wire.CloseTooSlow, "bad message between servers: catch up")
		return
	}
	r.mu.Lock()
	r.heard = time.Now()
	var gap, bad bool
	switch env.K {
	case kBeat:
		gap = env.N+1 != r.next
	case kClose:
		// A close without a number comes from an owner that does not
		// know the connection: it is closed all the same.
		gap = env.N != 0 && env.N != r.next
		r.next++
	default:
		gap = env.N != r.next
		r.next++
	}
	if !gap && env.K == kPart {
		whole, done, err := reassemble(&r.parts, &env)
		bad = err != nil
		if !done && !bad {
			r.mu.Unlock()
			return
		}
		if whole != nil {
			env = *whole
		}
	}
	r.mu.Unlock()
	switch {
	case gap || bad:
		r.fail(wire.CloseTooSlow, "messages between servers were lost: catch up")
	case env.K == kMsg:
		if !r.p.Send(env.D) {
			r.fail(wire.CloseTooSlow, "too slow: reconnect and catch up")
		}
	case env.K == kClose:
		r.p.Close(env.Code, env.Reason)
		r.end(false)
	}
}

// fail closes the socket with code (its client reconnects) and tells the
// owner it left.
func (r *relay) fail(code int, reason string) {
	r.p.Close(code, reason)
	r.end(true)
}

// end forgets the connection, telling the owner if tell.
func (r *relay) end(tell bool) {
	r.mu.Lock()
	if r.done {
		r.mu.Unlock()
		return
	}
	r.done = true
	if tell {
		r.sent++
		r.n.nc.Publish(docSubject(r.doc), encode(envelope{K: kLeave, Conn: r.id, I: r.sent}))
	}
	r.mu.Unlock()
	r.n.dropRelay(r)
}

// publish sends env to the owner, numbered. The number is taken and the
// message published under r.mu, so that numbers go out in order.
func (r *relay) publish(env envelope) {
	r.mu.Lock()
	if r.done {
		r.mu.Unlock()
		return
	}
	env.Conn = r.id
	err := r.n.publish(docSubject(r.doc), env, &r.sent, toOwner)
	r.mu.Unlock()
	if err != nil {
		r.fail(wire.CloseTooSlow, "the document's server is unreachable: reconnect")
	}
}

// Op forwards an op (session.Forwarder).
func (r *relay) Op(s session.Submit) {
	env := envelope{K: kOp, Seq: s.Seq, Rev: s.Rev}
	if s.Op != nil {
		b, err := s.Op.MarshalJSON()
		if err != nil {
			r.fail(wire.CloseResync, "bad op")
			return
		}
		env.Op = b
	}
	r.publish(env)
}

// Presence forwards a presence message (session.Forwarder).
func (r *relay) Presence(c session.Cursor) {
	env := envelope{K: kPresence, Rev: c.Rev}
	if c.Sel != nil {
		env.Sel = &c.Sel
	}
	r.publish(env)
}

// Leave tells the owner the socket is gone (session.Forwarder).
func (r *relay) Leave() { r.end(true) }

// beat tells the owner the number of the last message sent, and closes a
// socket whose owner has been silent for a period (it died, or NATS is
// down): the client reconnects and joins wherever the document runs next.
func (r *relay) beat(now time.Time) {
	r.mu.Lock()
	silent := now.Sub(r.heard) > r.n.cfg.Period
	if !silent && !r.done {
		r.n.nc.Publish(docSubject(r.doc), encode(envelope{K: kBeat, Conn: r.id, I: r.sent}))
	}
	r.mu.Unlock()
	if silent {
		r.n.log.Info("owner silent: closing the relayed socket", "doc", r.doc, "conn", r.id)
		r.fail(wire.CloseTooSlow, "the document's server went silent: reconnect")
	}
}
