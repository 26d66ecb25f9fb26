package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"

	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/presence"
	"github.com/tandem-editor/tandem/wire"
)

type eventKind int

const (
	evJoin eventKind = iota
	evOp
	evPresence
	evLeave
	evDeleted
	evShutdown
)

type event struct {
	kind eventKind
	conn *Conn
	msg  *wire.Message
	join join
	// handled is closed once the hub has taken a join (evJoin only).
	handled chan struct{}
}

// inboxSize bounds a hub's inbox; a full inbox blocks the sockets' readers
// (back-pressure) rather than dropping anything.
const inboxSize = 1024

// errHubFailed: the store failed earlier in this event; the hub is stopping.
var errHubFailed = errors.New("session: hub stopped after a store failure")

// maxBatch bounds how many queued events one group commit takes.
const maxBatch = 256

// record is an applied operation kept in memory.
type record struct {
	Entry
	lenAfter int // document length after it
}

// hub owns one open document. Every field below inbox is touched only by
// the hub goroutine (run).
type hub struct {
	m    *Manager
	doc  string
	refs int // guarded by m.mu: Conns that joined and have not left

	inbox chan event
	done  chan struct{} // closed when run returns

	loaded   bool
	text     *ot.Doc
	rev      int
	snapRev  int              // revision of the latest saved snapshot
	history  []record         // the latest applied ops, oldest first
	maxSeq   map[string]int   // highest applied seq per client seen so far
	peers    map[string]*Conn // current conn per client id
	pres     *presence.Set
	presWake *time.Timer

	// out holds acks and broadcasts of the batch being committed; they are
	// sent only after the commit.
	pending []Entry
	out     []func()
	failed  bool // the store failed: peers are closed, the hub must stop
}

func newHub(m *Manager, doc string) *hub {
	return &hub{
		m:      m,
		doc:    doc,
		inbox:  make(chan event, inboxSize),
		done:   make(chan struct{}),
		maxSeq: make(map[string]int),
		peers:  make(map[string]*Conn),
		pres:   presence.New(),
	}
}

// send queues ev; it blocks while the inbox is full and returns at once
// if the hub has stopped.
func (h *hub) send(ev event) {
	select {
	case h.inbox <- ev:
	case <-h.done:
	}
}

func (h *hub) ctx() context.Context { return context.Background() }

func (h *hub) now() time.Time { return h.m.cfg.Now() }

// run is the hub goroutine. It returns when the last peer has left, the
// document is deleted, the manager shuts down, or the store fails.
func (h *hub) run() {
	defer close(h.done)
	defer func() {
		if h.presWake != nil {
			h.presWake.Stop()
		}
	}()
	presTick := make(chan struct{}, 1)
	batch := make([]event, 0, maxBatch)
	for {
		var ev event
		select {
		case ev = <-h.inbox:
		case <-presTick:
			h.relayPresence(presTick)
			continue
		}
		batch = append(batch[:0], ev)
	drain:
		for len(batch) < maxBatch {
			select {
			case ev = <-h.inbox:
				batch = append(batch, ev)
			default:
				break drain
			}
		}
		for _, ev := range batch {
			if ev.kind != evOp {
				// Everything before a non-op event is committed and
				// announced first, so events keep their order.
				if !h.flush() {
					return
				}
			}
			stop := h.handle(ev)
			if h.failed {
				return
			}
			if stop {
				h.stop()
				return
			}
		}
		if !h.flush() {
			return
		}
		h.relayPresence(presTick)
	}
}

// handle processes one event and reports whether the hub must stop.
func (h *hub) handle(ev event) bool {
	switch ev.kind {
	case evJoin:
		h.join(ev.conn, ev.join)
		close(ev.handled)
	case evOp:
		if h.peers[ev.conn.client] == ev.conn {
			h.op(ev.conn, ev.msg)
		}
	case evPresence:
		if h.peers[ev.conn.client] == ev.conn {
			h.presence(ev.conn, ev.msg)
		}
	case evLeave:
		h.drop(ev.conn)
		return h.m.release(h)
	case evDeleted:
		h.closeAll(wire.CodeNotFound, "the document was deleted", wire.CloseNotFound)
		h.m.detach(h)
		return true
	case evShutdown:
		h.m.detach(h)
		for _, c := range h.peers {
			c.peer.Close(wire.CloseGoingAway, "server shutting down")
		}
		return true
	}
	return false
}

// stop saves a snapshot if the text moved since the last one.
func (h *hub) stop() {
	if h.loaded && h.rev > h.snapRev {
		if err := h.m.store.SaveSnapshot(h.ctx(), h.doc, h.rev, h.text.String()); err != nil {
			h.m.cfg.Logger.Error("save snapshot", "doc", h.doc, "rev", h.rev, "err", err)
		}
	}
}

// load reads the document from the store: the latest snapshot, then the
// log after it.
func (h *hub) load() error {
	if h.loaded {
		return nil
	}
	rev, text, err := h.m.store.Snapshot(h.ctx(), h.doc)
	if err != nil {
		return err
	}
	doc := ot.NewDoc(text)
	entries, err := h.m.store.Entries(h.ctx(), h.doc, rev+1, 1<<62)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Rev != rev+1 {
			return fmt.Errorf("session: load %s: log jumps from revision %d to %d", h.doc, rev, e.Rev)
		}
		if err := doc.Apply(e.Op); err != nil {
			return fmt.Errorf("session: load %s: replay revision %d: %w", h.doc, e.Rev, err)
		}
		rev = e.Rev
		h.remember(record{Entry: e, lenAfter: doc.Len()})
	}
	h.text, h.rev, h.snapRev, h.loaded = doc, rev, rev-len(entries), true
	return nil
}

// remember appends r to the in-memory history. It keeps between History
// and twice History records, trimming in bulk so a keystroke costs O(1).
func (h *hub) remember(r record) {
	if n := h.m.cfg.History; len(h.history) >= 2*n {
		k := copy(h.history, h.history[len(h.history)-n:])
		clear(h.history[k:])
		h.history = h.history[:k]
	}
	h.history = append(h.history, r)
}

// entriesAfter returns the applied ops with revisions above rev.
func (h *hub) entriesAfter(rev int) ([]record, error) {
	if rev >= h.rev {
		return nil, nil
	}
	if len(h.history) > 0 && h.history[0].Rev <= rev+1 {
		return h.history[rev+1-h.history[0].Rev:], nil
	}
	// The store sees only committed entries: commit the batch so far first.
	if len(h.pending) > 0 && !h.flush() {
		return nil, errHubFailed
	}
	es, err := h.m.store.Entries(h.ctx(), h.doc, rev+1, h.rev)
	if err != nil {
		return nil, err
	}
	if len(es) != h.rev-rev {
		return nil, fmt.Errorf("session: %s: log holds %d ops after revision %d, want %d", h.doc, len(es), rev, h.rev-rev)
	}
	out := make([]record, len(es))
	for i, e := range es {
		out[i] = record{Entry: e, lenAfter: -1}
	}
	return out, nil
}

func (h *hub) seqOf(client string) (int, error) {
	if s, ok := h.maxSeq[client]; ok {
		return s, nil
	}
	s, err := h.m.store.MaxSeq(h.ctx(), h.doc, client)
	if err != nil {
		return 0, err
	}
	h.maxSeq[client] = s
	return s, nil
}

func (h *hub) join(c *Conn, j join) {
	if err := h.load(); err != nil {
		h.refuseJoin(c, err)
		return
	}
	seq, err := h.seqOf(c.client)
	if err != nil {
		h.refuseJoin(c, err)
		return
	}
	if old := h.peers[c.client]; old != nil {
		old.peer.Close(wire.CloseReplaced, "replaced by a newer connection")
	}
	h.peers[c.client] = c
	// Catch-up with the ops after the client's revision, or a snapshot. A
	// send that overflows the peer's budget closes it as too slow: the join
	// ends there, before the newcomer is announced to anyone.
	caughtUp := false
	if j.rev != nil && *j.rev >= 0 && *j.rev <= h.rev {
		recs, err := h.entriesAfter(*j.rev)
		if err == nil {
			for _, r := range recs {
				if !h.sendTo(c, opMessage(r.Entry)) {
					return
				}
			}
			caughtUp = true
		} else {
			h.m.cfg.Logger.Error("catch-up", "doc", h.doc, "err", err)
		}
	}
	if !caughtUp {
		text := h.text.String()
		if !h.sendTo(c, &wire.Message{Type: wire.TypeSnapshot, Rev: wire.IntPtr(h.rev), Text: &text}) {
			return
		}
	}
	peers := make([]wire.Peer, 0, h.pres.Len())
	for _, s := range h.pres.All() {
		if s.Client != c.client {
			peers = append(peers, wire.Peer{Client: s.Client, Name: s.Name, Color: s.Color, Sel: toWire(s.Sel)})
		}
	}
	if !h.sendTo(c, &wire.Message{Type: wire.TypeJoined, Rev: wire.IntPtr(h.rev), Seq: wire.IntPtr(seq), Peers: peers}) {
		return
	}
	h.pres.Join(c.client, j.name, j.color, h.now())
	h.broadcast(c, wire.Encode(&wire.Message{Type: wire.TypePresence, Client: c.client, Name: j.name, Color: j.color, Rev: wire.IntPtr(h.rev), Sel: []wire.Range{}}))
}

func (h *hub) refuseJoin(c *Conn, err error) {
	if errors.Is(err, ErrNotFound) {
		h.fail(c, wire.CodeNotFound, "no such document")
		return
	}
	h.m.cfg.Logger.Error("join", "doc", h.doc, "err", err)
	h.fail(c, wire.CodeInternal, "the document could not be loaded")
}

// fail sends an error to c and closes it with the code's close code.
func (h *hub) fail(c *Conn, code, msg string) { h.failOp(c, nil, code, msg) }

// failOp is fail for a refused op: the error names the op's seq.
func (h *hub) failOp(c *Conn, seq *int, code, msg string) {
	c.peer.Send(wire.Encode(&wire.Message{Type: wire.TypeError, Code: code, Message: msg, Seq: seq}))
	c.peer.Close(wire.CloseFor(code), msg)
	h.drop(c)
}

// drop forgets c (its Leave still comes from the adapter).
func (h *hub) drop(c *Conn) {
	if h.peers[c.client] != c {
		return
	}
	delete(h.peers, c.client)
	if h.pres.Leave(c.client) {
		h.broadcast(nil, wire.Encode(&wire.Message{Type: wire.TypeLeave, Client: c.client}))
	}
}

func (h *hub) closeAll(code, msg string, closeCode int) {
	b := wire.Encode(&wire.Message{Type: wire.TypeError, Code: code, Message: msg})
	for _, c := range h.peers {
		c.peer.Send(b)
		c.peer.Close(closeCode, msg)
	}
}

// sendTo queues a message for c and reports whether c is still connected:
// a peer over its budget is closed so that it reconnects and catches up
// (never silently skipped).
func (h *hub) sendTo(c *Conn, m *wire.Message) bool {
	if h.peers[c.client] != c {
		return false
	}
	return h.sendRaw(c, wire.Encode(m))
}

func (h *hub) sendRaw(c *Conn, b []byte) bool {
	if h.peers[c.client] != c {
		return false
	}
	if !c.peer.Send(b) {
		h.m.slowPeers.Add(1)
		c.peer.Close(wire.CloseTooSlow, "too slow: reconnect and catch up")
		h.drop(c)
		return false
	}
	return true
}

// broadcast sends b to every peer but except.
func (h *hub) broadcast(except *Conn, b []byte) {
	for _, c := range h.peers {
		if c != except {
			h.sendRaw(c, b)
		}
	}
}

func opMessage(e Entry) *wire.Message {
	return &wire.Message{Type: wire.TypeOp, Rev: wire.IntPtr(e.Rev), Op: e.Op, Client: e.Client, Seq: wire.IntPtr(e.Seq)}
}

// op handles a submitted operation: de-duplicate, check, transform, apply
// in memory, and queue the entry for the group commit.
func (h *hub) op(c *Conn, msg *wire.Message) {
	if msg.Seq == nil || *msg.Seq < 1 {
		h.failOp(c, msg.Seq, wire.CodeBadSeq, "seq must be a positive integer")
		return
	}
	seq := *msg.Seq
	highest, err := h.seqOf(c.client)
	if err != nil {
		h.storeFailed(err)
		return
	}
	if seq <= highest { // already applied: ack again with its revision
		rev, err := h.revOf(c.client, seq)
		if err != nil {
			h.storeFailed(err)
			return
		}
		h.out = append(h.out, func() { h.sendTo(c, &wire.Message{Type: wire.TypeAck, Seq: wire.IntPtr(seq), Rev: wire.IntPtr(rev)}) })
		return
	}
	if seq > highest+1 {
		h.failOp(c, msg.Seq, wire.CodeBadSeq, fmt.Sprintf("seq %d skips ahead: the next is %d", seq, highest+1))
		return
	}
	if msg.Rev == nil || *msg.Rev < 0 || *msg.Rev > h.rev {
		h.failOp(c, msg.Seq, wire.CodeBadRev, fmt.Sprintf("rev must be between 0 and %d", h.rev))
		return
	}
	if msg.Op == nil {
		h.failOp(c, msg.Seq, wire.CodeBadOp, "missing op")
		return
	}
	op := msg.Op
	recs, err := h.entriesAfter(*msg.Rev)
	if err != nil {
		h.storeFailed(err)
		return
	}
	for _, r := range recs {
		op, err = ot.Rebase(op, r.Op)
		if err != nil {
			h.failOp(c, msg.Seq, codeOf(err), fmt.Sprintf("op does not fit revision %d: %v", *msg.Rev, err))
			return
		}
	}
	if n := op.TargetLen(); n > h.m.cfg.MaxDocLen {
		h.failOp(c, msg.Seq, wire.CodeDocTooLarge, fmt.Sprintf("the document would be %d units long; the limit is %d", n, h.m.cfg.MaxDocLen))
		return
	}
	if err := h.text.Apply(op); err != nil {
		h.failOp(c, msg.Seq, codeOf(err), err.Error())
		return
	}
	h.rev++
	e := Entry{Rev: h.rev, Op: op, Client: c.client, Seq: seq, Time: h.now().UTC()}
	h.remember(record{Entry: e, lenAfter: h.text.Len()})
	h.maxSeq[c.client] = seq
	h.pres.Apply(op)
	h.pending = append(h.pending, e)
	b := wire.Encode(opMessage(e))
	h.out = append(h.out, func() {
		h.sendTo(c, &wire.Message{Type: wire.TypeAck, Seq: wire.IntPtr(seq), Rev: wire.IntPtr(e.Rev)})
		h.broadcast(c, b)
	})
}

// revOf returns the revision that (client, seq) was applied as: from the
// batch being committed (the store does not have it yet), the recent
// history, or the store.
func (h *hub) revOf(client string, seq int) (int, error) {
	for _, e := range h.pending {
		if e.Client == client && e.Seq == seq {
			return e.Rev, nil
		}
	}
	for i := len(h.history) - 1; i >= 0; i-- {
		if e := h.history[i]; e.Client == client && e.Seq == seq {
			return e.Rev, nil
		}
	}
	return h.m.store.RevOf(h.ctx(), h.doc, client, seq)
}

// flush commits the pending entries in one transaction, then sends the
// acks and broadcasts. It reports false if the store failed (the hub has
// then closed its peers and must stop).
func (h *hub) flush() bool {
	if len(h.pending) > 0 {
		if err := h.m.store.Append(h.ctx(), h.doc, h.pending); err != nil {
			h.storeFailed(err)
			return false
		}
		h.m.opsApplied.Add(int64(len(h.pending)))
		h.m.commits.Add(1)
		h.pending = h.pending[:0]
		if h.rev-h.snapRev >= h.m.cfg.SnapshotEvery {
			if err := h.m.store.SaveSnapshot(h.ctx(), h.doc, h.rev, h.text.String()); err != nil {
				h.m.cfg.Logger.Error("save snapshot", "doc", h.doc, "rev", h.rev, "err", err)
			} else {
				h.snapRev = h.rev
			}
		}
	}
	if h.failed {
		return false
	}
	for _, f := range h.out {
		f()
	}
	h.out = h.out[:0]
	return true
}

// storeFailed closes every peer and stops the hub: its memory may be ahead
// of the disk, and the next join reloads from the store. Unacknowledged
// ops are resubmitted by their clients.
func (h *hub) storeFailed(err error) {
	if h.failed {
		return // already handled
	}
	h.m.storeErrors.Add(1)
	h.failed = true
	h.m.detach(h)
	h.pending, h.out = nil, nil
	switch {
	case errors.Is(err, ErrNotFound):
		h.closeAll(wire.CodeNotFound, "the document was deleted", wire.CloseNotFound)
	case errors.Is(err, ErrConflict):
		h.m.cfg.Logger.Warn("revision conflict: reloading", "doc", h.doc, "err", err)
		for _, c := range h.peers {
			c.peer.Close(wire.CloseTooSlow, "document changed elsewhere: catch up")
		}
	default:
		h.m.cfg.Logger.Error("store failed: closing the document's peers", "doc", h.doc, "err", err)
		h.closeAll(wire.CodeInternal, "the server could not save the document; reconnecting", wire.CloseInternal)
	}
}

// presence handles a client's selections at revision msg.Rev: check them,
// transform them to the current revision and mark them for relay.
func (h *hub) presence(c *Conn, msg *wire.Message) {
	refuse := func(why string) {
		h.sendTo(c, &wire.Message{Type: wire.TypeError, Code: wire.CodeBadPresence, Message: why})
	}
	if msg.Rev == nil || *msg.Rev < 0 || *msg.Rev > h.rev {
		refuse(fmt.Sprintf("rev must be between 0 and %d", h.rev))
		return
	}
	if msg.Sel == nil {
		refuse("missing sel")
		return
	}
	if len(msg.Sel) > wire.MaxRanges {
		refuse(fmt.Sprintf("at most %d ranges", wire.MaxRanges))
		return
	}
	recs, err := h.entriesAfter(*msg.Rev)
	if err != nil {
		refuse("revision no longer available")
		return
	}
	// The length of the text at msg.Rev bounds the positions.
	n := h.text.Len()
	if len(recs) > 0 {
		n = recs[0].Op.BaseLen()
	}
	sel := make([]ot.Range, len(msg.Sel))
	for i, r := range msg.Sel {
		if r[0] < 0 || r[1] < 0 || r[0] > n || r[1] > n {
			refuse(fmt.Sprintf("range %d is outside the text (length %d)", i, n))
			return
		}
		sel[i] = ot.Range{Anchor: r[0], Head: r[1]}
	}
	for _, r := range recs {
		sel = ot.TransformSelection(sel, r.Op)
	}
	for i := range sel { // a position inside a surrogate pair moves to its start
		if h.text.InPair(sel[i].Anchor) {
			sel[i].Anchor--
		}
		if h.text.InPair(sel[i].Head) {
			sel[i].Head--
		}
	}
	h.pres.Update(c.client, sel)
}

// relayPresence broadcasts the presence changes that are due and arms a
// timer for the next ones.
func (h *hub) relayPresence(tick chan struct{}) {
	due, next := h.pres.Due(h.now())
	for _, s := range due {
		b := wire.Encode(&wire.Message{Type: wire.TypePresence, Client: s.Client, Name: s.Name, Color: s.Color, Rev: wire.IntPtr(h.rev), Sel: toWire(s.Sel)})
		h.broadcast(h.peers[s.Client], b)
	}
	if next.IsZero() {
		return
	}
	// One timer for the hub's life, moved rather than replaced: this runs
	// after every batch while people type and move their cursors.
	d := next.Sub(h.now())
	if h.presWake == nil {
		h.presWake = time.AfterFunc(d, func() {
			select {
			case tick <- struct{}{}:
			default: // a tick is already waiting
			}
		})
		return
	}
	h.presWake.Reset(d)
}

func toWire(sel []ot.Range) []wire.Range {
	out := make([]wire.Range, len(sel))
	for i, r := range sel {
		out[i] = wire.Range{r.Anchor, r.Head}
	}
	return out
}

// codeOf maps an engine error to its protocol error code.
func codeOf(err error) string {
	switch {
	case errors.Is(err, ot.ErrBaseLength):
		return wire.CodeBaseLength
	case errors.Is(err, ot.ErrSurrogateSplit):
		return wire.CodeSurrogateSplit
	case errors.Is(err, ot.ErrInvalidUnicode):
		return wire.CodeInvalidUnicode
	}
	return wire.CodeBadOp
}

// join is a checked join message.
type join struct {
	client, name, color string
	rev                 *int
}

func parseJoin(msg *wire.Message) (join, error) {
	if !wire.ValidClient(msg.Client) {
		return join{}, errorf(wire.CodeBadClient, "client must match [A-Za-z0-9._:-]{1,64}")
	}
	name := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, msg.Name)
	if u := utf16.Encode([]rune(name)); len(u) > wire.MaxNameLen {
		return join{}, errorf(wire.CodeBadMessage, "name is %d units long; at most %d", len(u), wire.MaxNameLen)
	}
	color := msg.Color
	if color == "" {
		color = "#888"
	}
	if !wire.ValidColor(color) {
		return join{}, errorf(wire.CodeBadMessage, "color must be #rgb or #rrggbb")
	}
	rev := msg.Rev
	if rev != nil && *rev < 0 {
		rev = nil // no usable revision: the client gets a snapshot
	}
	return join{client: msg.Client, name: name, color: color, rev: rev}, nil
}
