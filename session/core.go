package session

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/presence"
	"github.com/tandem-editor/tandem/wire"
)

// The core of one open document, as a plain value.
//
// Core is ot.js's Server step ("refuse a revision outside history,
// transform against everything since, apply, append") plus what a
// multi-user document needs around it: de-duplication by (client, seq),
// catch-up, presence, rights and limits. Like etcd raft's RawNode it does
// no I/O, starts no goroutine and reads no clock: its owner feeds it typed
// requests (Join, Submit, Cursor, Leave, Fetched, Tick) and then takes a
// Ready, which says what to persist, what to send to whom, whom to close,
// what to read from the store and what snapshot to save. The owner must
// persist Ready.Entries before it sends Ready.Messages: that is the
// "persist, then acknowledge, then broadcast" rule, and the reason every
// message waits in the Ready rather than going out at once.
//
// A Core is not safe for concurrent use; the hub goroutine owns it.

// PeerID names one connection to the Core. The owner assigns them; the
// Core never reuses or invents one.
type PeerID uint64

// Rights are what the server decided a connection may do, at join, from
// something the client cannot forge. The Core checks them on every request.
type Rights struct {
	// Edit: the peer may submit ops. Without it the peer only reads (it
	// still receives every op and may show its cursor).
	Edit bool
}

// JoinRequest is a checked join: ParseJoin builds it from a client's join
// message, and the server adds the Rights.
type JoinRequest struct {
	// Client is the public id, which the server derived from Secret; the
	// Core only hands Secret back in "joined", for the client to keep.
	Client, Secret, Name, Color string
	// Author is the person's stable id across connections and reloads
	// (chosen by the browser; "" if none), recorded with every op.
	Author string
	// Rev is the revision the client holds; -1 (none) asks for a snapshot.
	Rev    int
	Rights Rights
}

// Submit is an op message as received. Seq and Rev are nil when absent; a
// nil Op is refused after de-duplication (a resubmitted seq is
// acknowledged whatever it carries).
type Submit struct {
	Seq, Rev *int
	Op       ot.Op
}

// Cursor is a presence message as received: selections at revision Rev.
type Cursor struct {
	Rev *int
	Sel []wire.Range
}

// Message is an encoded server message and the peers it goes to, in the
// order the Core produced it. Per peer, messages must be sent in order.
type Message struct {
	To   []PeerID
	Data []byte
}

// Close tells the owner to close a peer's connection with a WebSocket
// close code, after the messages before it in the same Ready. The Core has
// already forgotten the peer.
type Close struct {
	Peer   PeerID
	Code   int
	Reason string
}

// Fetch asks the owner to read committed log entries with From <= Rev <=
// To, at most MaxBytes of them (at least one), off the owner's loop, and
// to hand them back with Fetched. The Core asks only for revisions that
// Ready.Entries of this or an earlier Ready already hold.
type Fetch struct {
	Peer     PeerID
	From, To int
	MaxBytes int
}

// Snapshot is the text at a revision, to save when convenient.
type Snapshot struct {
	Rev  int
	Text string
}

// Ready is what the Core asks of its owner, in this order: persist
// Entries (in one transaction), then send Messages and apply Closes in
// order, then start Fetches and save Snapshot. If persisting fails, the
// owner must send nothing of this Ready (call StoreFailed instead).
type Ready struct {
	Entries  []oplog.Entry
	Messages []Message
	Closes   []Close
	Fetches  []Fetch
	Snapshot *Snapshot
	// Edits answers the server edits handled; like Messages, they go out
	// only once Entries are persisted.
	Edits []EditResult
	// Wake, if not zero, is when the Core next needs a Tick (a presence
	// relay is due).
	Wake time.Time
}

// Empty reports whether rd asks for nothing.
func (rd *Ready) Empty() bool {
	return len(rd.Entries) == 0 && len(rd.Messages) == 0 && len(rd.Closes) == 0 &&
		len(rd.Fetches) == 0 && rd.Snapshot == nil && len(rd.Edits) == 0
}

// record is an applied op in the in-memory window.
type record struct {
	oplog.Entry
	size int // Entry.Size(), counted against Config.HistoryBytes
}

// member is a joined connection.
type member struct {
	id                                  PeerID
	client, secret, name, color, author string
	rights                              Rights
	// joined: "joined" was sent; until then the peer is catching up from
	// the store and is sent nothing else.
	joined bool
	// caught is, while catching up, the revision the peer has been sent.
	caught int
}

// Core is the ordering state of one open document. Build it with NewCore
// from what the store holds; see the comment at the top of this file.
type Core struct {
	cfg Config

	text    *ot.Doc
	rev     int
	snapRev int // revision of the latest snapshot, saved or handed out

	// hist[head:] is the window: the latest applied ops, oldest first,
	// bounded by Config.History entries and Config.HistoryBytes bytes.
	hist      []record
	head      int
	histBytes int

	seqs    map[string]int // highest applied seq per client
	members map[PeerID]*member
	clients map[string]*member // the current member per client id
	pres    *presence.Set
	now     time.Time

	rd Ready
}

// NewCore returns the core of a document whose latest snapshot is text at
// snapRev, followed in the log by entries (consecutive), with seqs the
// highest applied seq per client. cfg's zero fields take the defaults.
func NewCore(cfg Config, snapRev int, text string, entries []oplog.Entry, seqs map[string]int) (*Core, error) {
	cfg.setDefaults()
	doc := ot.NewDoc(text)
	c := &Core{
		cfg:     cfg,
		text:    doc,
		snapRev: snapRev,
		seqs:    seqs,
		members: make(map[PeerID]*member),
		clients: make(map[string]*member),
		pres:    presence.New(),
	}
	if c.seqs == nil {
		c.seqs = make(map[string]int)
	}
	rev, err := oplog.Replay(doc, snapRev, entries)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		c.remember(e)
		c.seqs[e.Client] = max(c.seqs[e.Client], e.Seq)
	}
	c.rev = rev
	return c, nil
}

// Rev returns the current revision (applied, not necessarily persisted).
func (c *Core) Rev() int { return c.rev }

// Text returns the current text.
func (c *Core) Text() string { return c.text.String() }

// floor is the oldest revision the window can transform from: the ops
// after it are all in memory.
func (c *Core) floor() int { return c.rev - (len(c.hist) - c.head) }

// window returns the in-memory ops after revision rev (floor <= rev <= c.rev).
func (c *Core) window(rev int) []record {
	return c.hist[c.head+rev-c.floor():]
}

// remember appends e to the window and trims the oldest entries past the
// count and byte bounds (always keeping the newest). Trimming moves head;
// the slice is compacted once head passes half of it, so a keystroke costs
// O(1) amortised.
func (c *Core) remember(e oplog.Entry) {
	r := record{Entry: e, size: e.Size()}
	c.hist = append(c.hist, r)
	c.histBytes += r.size
	for n := len(c.hist) - c.head; n > 1 && (n > c.cfg.History || c.histBytes > c.cfg.HistoryBytes); n-- {
		c.histBytes -= c.hist[c.head].size
		c.hist[c.head] = record{}
		c.head++
	}
	if c.head > 64 && c.head > len(c.hist)/2 {
		k := copy(c.hist, c.hist[c.head:])
		clear(c.hist[k:])
		c.hist, c.head = c.hist[:k], 0
	}
}

// Tick tells the Core the time: entries are stamped with it, and the next
// Ready relays the presence changes due by then. The owner calls it before
// feeding each batch of requests and at Ready.Wake.
func (c *Core) Tick(now time.Time) { c.now = now }

// Ready returns what the Core asks of its owner since the last Ready, and
// forgets it. Presence changes due at the last Tick are relayed here, so
// that a batch of cursor moves goes out once.
func (c *Core) Ready() Ready {
	due, next := c.pres.Due(c.now)
	for _, s := range due {
		c.broadcast(c.clients[s.Client], wire.Encode(&wire.Message{Type: wire.TypePresence, Client: s.Client,
			Name: s.Name, Color: s.Color, View: c.viewer(s.Client), Rev: wire.IntPtr(c.rev), Sel: toWire(s.Sel)}))
	}
	if len(c.rd.Entries) > 0 && c.rev-c.snapRev >= c.cfg.SnapshotEvery {
		c.rd.Snapshot = &Snapshot{Rev: c.rev, Text: c.text.String()}
		c.snapRev = c.rev
	}
	rd := c.rd
	rd.Wake = next
	c.rd = Ready{}
	return rd
}

// HasReady reports whether Ready would ask for something.
func (c *Core) HasReady() bool { return !c.rd.Empty() }

// StopSnapshot returns the snapshot a stopping owner should save: one only
// when Config.SnapshotOnStop ops or more were applied since the last, so
// that people joining and leaving do not write the whole text each time.
func (c *Core) StopSnapshot() *Snapshot {
	if c.rev-c.snapRev < c.cfg.SnapshotOnStop {
		return nil
	}
	c.snapRev = c.rev
	return &Snapshot{Rev: c.rev, Text: c.text.String()}
}

func (c *Core) send(m *member, msg *wire.Message) {
	c.rd.Messages = append(c.rd.Messages, Message{To: []PeerID{m.id}, Data: wire.Encode(msg)})
}

// broadcast sends b to every joined peer but except (which may be nil).
func (c *Core) broadcast(except *member, b []byte) {
	to := make([]PeerID, 0, len(c.members))
	for _, m := range c.members {
		if m != except && m.joined {
			to = append(to, m.id)
		}
	}
	if len(to) > 0 {
		c.rd.Messages = append(c.rd.Messages, Message{To: to, Data: b})
	}
}

// closePeer forgets m and asks the owner to close it, after an optional
// error message.
func (c *Core) closePeer(m *member, code int, reason string) {
	c.forget(m)
	c.rd.Closes = append(c.rd.Closes, Close{Peer: m.id, Code: code, Reason: reason})
}

// fail sends an error (naming seq if not nil) and, if the code calls for
// it, closes m.
func (c *Core) fail(m *member, seq *int, code, msg string) {
	c.send(m, &wire.Message{Type: wire.TypeError, Code: code, Message: msg, Seq: seq})
	if cc := wire.CloseFor(code); cc != 0 {
		c.closePeer(m, cc, msg)
	}
}

// forget removes m; its presence goes with it unless a newer connection
// of the same client has taken over.
func (c *Core) forget(m *member) {
	if c.members[m.id] != m {
		return
	}
	delete(c.members, m.id)
	if c.clients[m.client] != m {
		return
	}
	delete(c.clients, m.client)
	if c.pres.Leave(m.client) {
		c.broadcast(nil, wire.Encode(&wire.Message{Type: wire.TypeLeave, Client: m.client}))
	}
}

// Join adds peer id. The peer gets the ops after its revision (from the
// window, or fetched from the store first when older), or a snapshot;
// then "joined"; then everyone else sees it in presence. An earlier
// connection of the same client is closed (4009).
func (c *Core) Join(id PeerID, j JoinRequest) {
	if old := c.clients[j.Client]; old != nil {
		// The old connection's presence is the client's: kept for the new one.
		delete(c.clients, j.Client)
		delete(c.members, old.id)
		c.rd.Closes = append(c.rd.Closes, Close{Peer: old.id, Code: wire.CloseReplaced, Reason: "replaced by a newer connection"})
	}
	m := &member{id: id, client: j.Client, secret: j.Secret, name: j.Name, color: j.Color, author: j.Author, rights: j.Rights}
	c.members[id] = m
	c.clients[j.Client] = m
	switch {
	case j.Rev < 0 || j.Rev > c.rev:
		text := c.text.String()
		c.send(m, &wire.Message{Type: wire.TypeSnapshot, Rev: wire.IntPtr(c.rev), Text: &text})
		c.finishJoin(m)
	case j.Rev >= c.floor():
		c.sendWindow(m, j.Rev)
		c.finishJoin(m)
	default:
		// Older than the window: the store has it. The peer waits, and is
		// sent nothing else, until Fetched.
		m.caught = j.Rev
		c.fetch(m)
	}
}

// fetch asks for the next page of m's catch-up: at most CatchUpOps ops
// and CatchUpBytes, so that encoding a page (on the hub) stays short and
// the others' ops interleave with a long catch-up.
func (c *Core) fetch(m *member) {
	to := min(c.floor(), m.caught+c.cfg.CatchUpOps)
	c.rd.Fetches = append(c.rd.Fetches, Fetch{Peer: m.id, From: m.caught + 1, To: to, MaxBytes: c.cfg.CatchUpBytes})
}

// sendWindow sends m the window's ops after rev.
func (c *Core) sendWindow(m *member, rev int) {
	for _, r := range c.window(rev) {
		c.send(m, opMessage(r.Entry))
	}
}

func (c *Core) finishJoin(m *member) {
	m.joined = true
	peers := make([]wire.Peer, 0, c.pres.Len())
	for _, s := range c.pres.All() {
		if s.Client != m.client {
			peers = append(peers, wire.Peer{Client: s.Client, Name: s.Name, Color: s.Color, View: c.viewer(s.Client), Sel: toWire(s.Sel)})
		}
	}
	c.send(m, &wire.Message{Type: wire.TypeJoined, Rev: wire.IntPtr(c.rev), Seq: wire.IntPtr(c.seqs[m.client]),
		Client: m.client, Secret: m.secret, View: !m.rights.Edit, Peers: peers})
	c.pres.Join(m.client, m.name, m.color, c.now)
	c.broadcast(m, wire.Encode(&wire.Message{Type: wire.TypePresence, Client: m.client, Name: m.name, Color: m.color,
		View: !m.rights.Edit, Rev: wire.IntPtr(c.rev), Sel: []wire.Range{}}))
}

// viewer reports whether the client's connection may not edit: its
// presence says so, for the people list.
func (c *Core) viewer(client string) bool {
	m := c.clients[client]
	return m != nil && !m.rights.Edit
}

// Fetched hands back the entries a Fetch asked for peer id, or the error
// reading them. The peer is sent them; if the window has moved past what
// was fetched, another Fetch follows; otherwise the join completes. An
// answer for a peer that left, or one already answered, is ignored.
func (c *Core) Fetched(id PeerID, from int, entries []oplog.Entry, err error) {
	m := c.members[id]
	if m == nil || m.joined || from != m.caught+1 {
		return
	}
	if err != nil {
		c.fail(m, nil, wire.CodeInternal, "the server could not read the document's history; reconnecting")
		return
	}
	for _, e := range entries {
		if e.Rev != m.caught+1 || e.Rev > c.rev {
			c.fail(m, nil, wire.CodeInternal, fmt.Sprintf("the document's history has revision %d where %d was expected", e.Rev, m.caught+1))
			return
		}
		c.send(m, opMessage(e))
		m.caught = e.Rev
	}
	switch {
	case m.caught >= c.floor():
		c.sendWindow(m, m.caught)
		c.finishJoin(m)
	case len(entries) == 0:
		c.fail(m, nil, wire.CodeInternal, fmt.Sprintf("the document's history ends at revision %d", m.caught))
	default:
		c.fetch(m)
	}
}

// Leave forgets peer id (its connection ended, or the owner closed it as
// too slow). Later calls do nothing.
func (c *Core) Leave(id PeerID) {
	if m := c.members[id]; m != nil {
		c.forget(m)
	}
}

// CloseAll closes every peer with closeCode, after an error message with
// code (none if code is ""). The Core accepts no requests from them after.
func (c *Core) CloseAll(code, msg string, closeCode int) {
	var b []byte
	if code != "" {
		b = wire.Encode(&wire.Message{Type: wire.TypeError, Code: code, Message: msg})
	}
	for _, m := range c.members {
		if b != nil {
			c.rd.Messages = append(c.rd.Messages, Message{To: []PeerID{m.id}, Data: b})
		}
		c.rd.Closes = append(c.rd.Closes, Close{Peer: m.id, Code: closeCode, Reason: msg})
	}
	clear(c.members)
	clear(c.clients)
	c.pres = presence.New()
}

// StoreFailed is called instead of sending a Ready whose entries could not
// be persisted: that Ready's messages are dropped (nothing unpersisted is
// acknowledged) and every peer is closed so that it reconnects to a Core
// rebuilt from the store. The Core must not be used after.
func (c *Core) StoreFailed(code, msg string, closeCode int) {
	c.rd = Ready{}
	c.CloseAll(code, msg, closeCode)
}

// Submit handles an op from peer id: de-duplicate, check, transform,
// apply, and queue the entry, its acknowledgement and its broadcast.
func (c *Core) Submit(id PeerID, s Submit) {
	m := c.members[id]
	if m == nil {
		return
	}
	if !m.joined {
		c.send(m, &wire.Message{Type: wire.TypeError, Code: wire.CodeNotJoined, Message: "the join has not completed", Seq: s.Seq})
		return
	}
	if !m.rights.Edit {
		c.fail(m, s.Seq, wire.CodeForbidden, "this link may only read the document")
		return
	}
	if s.Seq == nil || *s.Seq < 1 {
		c.fail(m, s.Seq, wire.CodeBadSeq, "seq must be a positive integer")
		return
	}
	seq := *s.Seq
	highest := c.seqs[m.client]
	if seq <= highest { // already applied: acknowledge again with its revision
		if rev, ok := c.revOf(m.client, seq); ok {
			c.send(m, &wire.Message{Type: wire.TypeAck, Seq: wire.IntPtr(seq), Rev: wire.IntPtr(rev)})
			return
		}
		c.fail(m, s.Seq, wire.CodeStale, fmt.Sprintf("seq %d was applied before revision %d: rejoin with your revision to catch up", seq, c.floor()+1))
		return
	}
	if seq > highest+1 {
		c.fail(m, s.Seq, wire.CodeBadSeq, fmt.Sprintf("seq %d skips ahead: the next is %d", seq, highest+1))
		return
	}
	if s.Rev == nil || *s.Rev < 0 || *s.Rev > c.rev {
		c.fail(m, s.Seq, wire.CodeBadRev, fmt.Sprintf("rev must be between 0 and %d", c.rev))
		return
	}
	if s.Op == nil {
		c.fail(m, s.Seq, wire.CodeBadOp, "missing op")
		return
	}
	if n := len(s.Op); n > wire.MaxOpComponents {
		c.fail(m, s.Seq, wire.CodeBadOp, fmt.Sprintf("op has %d components; at most %d", n, wire.MaxOpComponents))
		return
	}
	base := *s.Rev
	if base < c.floor() {
		c.fail(m, s.Seq, wire.CodeStale, fmt.Sprintf("revision %d is older than the server keeps at hand (%d): rejoin with it to catch up, then resend", base, c.floor()))
		return
	}
	op, code, why := c.rebaseAndApply(base, s.Op)
	if code != "" {
		c.fail(m, s.Seq, code, why)
		return
	}
	e := c.commit(op, m.client, seq, m.author, nil)
	c.send(m, &wire.Message{Type: wire.TypeAck, Seq: wire.IntPtr(seq), Rev: wire.IntPtr(e.Rev)})
	c.broadcast(m, wire.Encode(opMessage(e)))
}

// rebaseAndApply transforms op, made at revision base (within the window),
// to the current revision and applies it to the text. On refusal it returns
// the error code and why, and nothing has changed.
func (c *Core) rebaseAndApply(base int, op ot.Op) (ot.Op, string, string) {
	// Transform, counting the component steps: an op that would cost more
	// than MaxTransform is refused as stale after at most that much work,
	// and its client transforms it while catching up instead.
	recs := c.window(base)
	// What transforming costs at the least (each step walks both ops) is
	// known before starting: an op sure to exceed the budget is refused
	// without any work.
	least := 0
	for _, r := range recs {
		least += len(op) + len(r.Op)
	}
	tooFar := func() (ot.Op, string, string) {
		return nil, wire.CodeStale, fmt.Sprintf("op of %d components is %d revisions behind, more than the server transforms for one op: rejoin with revision %d to catch up, then resend", len(op), c.rev-base, base)
	}
	if least > c.cfg.MaxTransform {
		return tooFar()
	}
	var err error
	work := 0
	out := op
	for _, r := range recs {
		if work += len(out) + len(r.Op); work > c.cfg.MaxTransform {
			return tooFar()
		}
		if out, err = ot.Rebase(out, r.Op); err != nil {
			return nil, codeOf(err), fmt.Sprintf("op does not fit revision %d: %v", base, err)
		}
	}
	if n := out.TargetLen(); n > c.cfg.MaxDocLen {
		return nil, wire.CodeDocTooLarge, fmt.Sprintf("the document would be %d units long; the limit is %d", n, c.cfg.MaxDocLen)
	}
	if err := c.text.Apply(out); err != nil {
		return nil, codeOf(err), err.Error()
	}
	return out, "", ""
}

// commit records an op already applied to the text as the next revision:
// the window, the seqs, the cursors, and the entry to persist.
func (c *Core) commit(op ot.Op, client string, seq int, author string, inserts []oplog.Span) oplog.Entry {
	c.rev++
	e := oplog.Entry{Rev: c.rev, Op: op, Client: client, Seq: seq, Time: c.now.UTC(), Author: author, Inserts: inserts}
	c.remember(e)
	c.seqs[client] = seq
	c.pres.Apply(op)
	c.rd.Entries = append(c.rd.Entries, e)
	return e
}

// ServerClient is the client id of edits the server makes itself
// (restores, edits over HTTP). Client ids from clients cannot take it: it
// has a character they may not use.
const ServerClient = "@server"

// EditID names one server edit to its owner, who answers its caller once
// the edit is persisted (Ready.Edits).
type EditID uint64

// Edit is an edit the server makes itself (a restore, an edit over
// HTTP), ordered like any client's op: Op, made at revision Rev (which must
// be in the window), is transformed past what came since. The caller
// builds Op off the hub (a diff of a large text takes time).
type Edit struct {
	Op  ot.Op
	Rev int
	// Author is who asked for it ("" for nobody in particular).
	Author string
	// Inserts, if not nil, says who wrote the text Op inserts (see
	// oplog.Entry.Inserts).
	Inserts []oplog.Span
}

// EditResult answers an Edit: the revision it became, or why it was
// refused (an *Error).
type EditResult struct {
	ID  EditID
	Rev int
	Err error
}

// Edit applies a server edit. Its result is in the next Ready's Edits; the
// owner reports it only after that Ready's entries are persisted.
func (c *Core) Edit(id EditID, e Edit) {
	refuse := func(code, why string) {
		c.rd.Edits = append(c.rd.Edits, EditResult{ID: id, Err: errorf(code, "%s", why)})
	}
	switch {
	case e.Op == nil:
		refuse(wire.CodeBadOp, "missing op")
		return
	case e.Rev > c.rev || e.Rev < 0:
		refuse(wire.CodeBadRev, fmt.Sprintf("rev must be between 0 and %d", c.rev))
		return
	case e.Rev < c.floor():
		refuse(wire.CodeStale, fmt.Sprintf("revision %d is older than the server keeps at hand (%d)", e.Rev, c.floor()))
		return
	}
	applied, code, why := c.rebaseAndApply(e.Rev, e.Op)
	if code != "" {
		refuse(code, why)
		return
	}
	entry := c.commit(applied, ServerClient, c.seqs[ServerClient]+1, e.Author, e.Inserts)
	c.rd.Edits = append(c.rd.Edits, EditResult{ID: id, Rev: entry.Rev})
	c.broadcast(nil, wire.Encode(opMessage(entry)))
}

// cursorWork counts the steps of moving ranges through recs.
func cursorWork(ranges int, recs []record) int {
	w := 0
	for _, r := range recs {
		w += max(1, ranges) * len(r.Op)
	}
	return w
}

// revOf returns the revision (client, seq) was applied as, if it is in the
// window.
func (c *Core) revOf(client string, seq int) (int, bool) {
	for i := len(c.hist) - 1; i >= c.head; i-- {
		if e := c.hist[i]; e.Client == client && e.Seq == seq {
			return e.Rev, true
		}
	}
	return 0, false
}

// Cursor handles a peer's selections at a revision: check them, transform
// them to the current revision and mark them for relay (Tick sends them).
// Selections at a revision older than the window are ignored: cursors move
// on, and the next one will be current.
func (c *Core) Cursor(id PeerID, cur Cursor) {
	m := c.members[id]
	if m == nil || !m.joined {
		return
	}
	refuse := func(why string) {
		c.send(m, &wire.Message{Type: wire.TypeError, Code: wire.CodeBadPresence, Message: why})
	}
	if cur.Rev == nil || *cur.Rev < 0 || *cur.Rev > c.rev {
		refuse(fmt.Sprintf("rev must be between 0 and %d", c.rev))
		return
	}
	if cur.Sel == nil {
		refuse("missing sel")
		return
	}
	if len(cur.Sel) > wire.MaxRanges {
		refuse(fmt.Sprintf("at most %d ranges", wire.MaxRanges))
		return
	}
	rev := *cur.Rev
	if rev < c.floor() {
		return
	}
	recs := c.window(rev)
	if cursorWork(len(cur.Sel), recs) > c.cfg.MaxTransform {
		return
	}
	// The length of the text at rev bounds the positions.
	n := c.text.Len()
	if len(recs) > 0 {
		n = recs[0].Op.BaseLen()
	}
	sel := make([]ot.Range, len(cur.Sel))
	for i, r := range cur.Sel {
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
		if c.text.InPair(sel[i].Anchor) {
			sel[i].Anchor--
		}
		if c.text.InPair(sel[i].Head) {
			sel[i].Head--
		}
	}
	c.pres.Update(m.client, sel)
}

func opMessage(e oplog.Entry) *wire.Message {
	return &wire.Message{Type: wire.TypeOp, Rev: wire.IntPtr(e.Rev), Op: e.Op, Client: e.Client, Seq: wire.IntPtr(e.Seq)}
}

func toWire(sel []ot.Range) []wire.Range {
	out := make([]wire.Range, len(sel))
	for i, r := range sel {
		out[i] = wire.Range{r.Anchor, r.Head}
	}
	return out
}

// ParseJoin checks a client's join message. A malformed join is refused
// with an *Error. The Rights are the caller's to set.
func ParseJoin(msg *wire.Message) (JoinRequest, error) {
	if !wire.ValidClient(msg.Client) {
		return JoinRequest{}, errorf(wire.CodeBadClient, "client must match [A-Za-z0-9._:-]{1,64}")
	}
	name := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, msg.Name)
	if u := utf16.Encode([]rune(name)); len(u) > wire.MaxNameLen {
		return JoinRequest{}, errorf(wire.CodeBadMessage, "name is %d units long; at most %d", len(u), wire.MaxNameLen)
	}
	color := msg.Color
	if color == "" {
		color = "#888"
	}
	if !wire.ValidColor(color) {
		return JoinRequest{}, errorf(wire.CodeBadMessage, "color must be #rgb or #rrggbb")
	}
	rev := -1 // no usable revision: the client gets a snapshot
	if msg.Rev != nil && *msg.Rev >= 0 {
		rev = *msg.Rev
	}
	if msg.Author != "" && !wire.ValidAuthor(msg.Author) {
		return JoinRequest{}, errorf(wire.CodeBadMessage, "author must match [A-Za-z0-9_-]{1,64}")
	}
	return JoinRequest{Client: msg.Client, Secret: msg.Secret, Name: name, Color: color, Rev: rev, Author: msg.Author}, nil
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

// People returns everyone joined, with their selections at the current
// revision.
func (c *Core) People() []presence.State { return c.pres.All() }
