package server

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/olahol/melody"
	"golang.org/x/time/rate"

	"github.com/tandem-editor/tandem/metrics"
	"github.com/tandem-editor/tandem/session"
)

// maxInflight is how many messages a peer hands to melody's session writer
// at once. melody's per-session channel has exactly this capacity
// (Config.MessageBufferSize), and melody drops a message written to a full
// channel; counting the messages handed over and not yet reported written
// (HandleSentMessage) guarantees the channel never fills, so nothing is
// dropped. Everything beyond waits in the peer's own queue, counted in bytes.
const maxInflight = 16

// peer adapts one WebSocket (a melody session) to session.Peer.
//
// Writing: Send appends to queue; pump moves messages from queue into
// melody's writer while fewer than maxInflight are in it; melody's writer
// goroutine reports each written message (sent), which frees a slot and
// pumps the next. Close marks the peer closing and hands the close frame to
// the writer once everything queued before it has been handed over; melody
// writes it after those messages and then closes the connection.
//
// Reading: the session's reader goroutine (melody's readPump) calls the
// server's message handler, which alone touches conn and lim; the
// disconnect handler runs on that same goroutine afterwards.
type peer struct {
	doc    string // the document's id
	key    string // the token (or, for the administrator, id) it came with
	role   role
	addr   string // the client address its socket is counted against
	budget int    // bytes that may wait in queue
	obs    *metrics.Metrics

	joined          atomic.Bool // a join succeeded (read by the join timer)
	joinTimer       *time.Timer
	refuseOnConnect string // an error to refuse the socket with once connected

	mu     sync.Mutex
	s      *melody.Session // set by the connect handler, before any Send
	queue  [][]byte        // waiting for the writer, oldest first
	queued int             // bytes in queue
	// inflight counts the messages handed to the writer and not yet
	// written. Changed under mu; atomic because the connection's corking
	// (lingerConn) reads it inside a write, without mu.
	inflight atomic.Int32
	closing  bool   // Close was called: nothing more is accepted
	closeMsg []byte // the close frame, until it is handed to the writer
	gone     bool   // the connection ended

	// Reader goroutine only (the disconnect handler and the end of
	// handleWS run on it too).
	conn         *session.Conn // nil until a join succeeds
	lim          *rate.Limiter
	lc           *lingerConn // set when the connection is hijacked
	clientClosed bool        // the client sent its close frame
}

var _ session.BatchPeer = (*peer)(nil)

// Send queues msg. It never drops a message: it returns false, without
// queueing, only when the bytes already waiting plus msg exceed the budget
// (the hub then closes the peer with 4001 and the client catches up on
// reconnect). A message larger than the whole budget is accepted when
// nothing else waits, so that a large snapshot can always be sent. Once
// the peer is closing or gone nothing more can reach the client, whose
// reconnect resynchronises it, so later messages are discarded.
func (p *peer) Send(msg []byte) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing || p.gone {
		return true
	}
	if len(p.queue) > 0 && p.queued+len(msg) > p.budget {
		return false
	}
	p.queue = append(p.queue, msg)
	p.queued += len(msg)
	p.pump()
	p.observe()
	return true
}

// observe records how many messages wait for the writer. p.mu must be held.
func (p *peer) observe() {
	if p.obs != nil && !p.gone {
		p.obs.PeerQueued(len(p.queue) + int(p.inflight.Load()))
	}
}

// SendBatch queues msgs as Send would each, and hands them to the writer
// together, so that the connection can write them in one system call.
func (p *peer) SendBatch(msgs [][]byte) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing || p.gone {
		return true
	}
	ok := true
	for _, msg := range msgs {
		if len(p.queue) > 0 && p.queued+len(msg) > p.budget {
			ok = false
			break
		}
		p.queue = append(p.queue, msg)
		p.queued += len(msg)
	}
	p.pump()
	p.observe()
	return ok
}

// Close delivers the messages queued so far, then a close frame with code
// and reason, then closes the connection. Later calls do nothing.
func (p *peer) Close(code int, reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing || p.gone {
		return
	}
	p.closing = true
	p.closeMsg = melody.FormatCloseMessage(code, clipReason(reason))
	p.pump()
}

// isClosing reports whether Close was called or the connection ended; the
// reader then ignores the client's messages.
func (p *peer) isClosing() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closing || p.gone
}

// sent is called by melody's writer goroutine after it wrote a message.
func (p *peer) sent() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inflight.Add(-1)
	p.pump()
}

// disconnected records that the connection ended and frees the queue.
func (p *peer) disconnected() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gone = true
	p.queue, p.queued, p.closeMsg = nil, 0, nil
}

// pump hands queued messages, then the close frame, to melody's writer
// while it has room. p.mu must be held. melody's Write never blocks: it
// puts the message in the session's channel, which has room by the
// inflight count.
func (p *peer) pump() {
	if p.gone || p.s == nil {
		return
	}
	// The writer may start on the first message before the others are
	// handed over: counting them all first lets it see they are coming.
	n := int32(min(maxInflight-int(p.inflight.Load()), len(p.queue)))
	p.inflight.Add(n)
	for ; n > 0; n-- {
		msg := p.queue[0]
		p.queue[0] = nil
		p.queue = p.queue[1:]
		p.queued -= len(msg)
		if err := p.s.Write(msg); err != nil {
			// The session closed under us: the disconnect handler follows.
			p.inflight.Add(-n)
			p.gone = true
			p.queue, p.queued, p.closeMsg = nil, 0, nil
			return
		}
	}
	if len(p.queue) == 0 {
		p.queue = nil // drop the consumed backing array
		if p.closeMsg != nil && p.inflight.Load() < maxInflight {
			if err := p.s.CloseWithMsg(p.closeMsg); err != nil {
				p.gone = true
			}
			p.closeMsg = nil
		}
	}
}

// clipReason shortens a close reason to the 123 bytes a close frame can
// carry, on a UTF-8 boundary.
func clipReason(s string) string {
	const max = 123
	// The reason may quote the client's bytes, and a close frame whose
	// reason is not UTF-8 makes the client fail the connection (1006).
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
