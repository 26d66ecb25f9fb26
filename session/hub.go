package session

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/wire"
)

type eventKind int

const (
	evJoin eventKind = iota
	evOp
	evCursor
	evLeave
	evFetched
	evDeleted
	evShutdown
	evEdit
	evLeaseLost
)

type event struct {
	kind eventKind
	conn *Conn
	at   time.Time // evOp: when it arrived
	// The hot requests are inline; the rare ones behind a pointer, which
	// keeps the inbox small (a hub per open document holds inboxSize).
	submit Submit
	cursor Cursor
	rare   *rareEvent
}

// rareEvent holds the payloads of joins, fetches and edits.
type rareEvent struct {
	join JoinRequest
	// handled is closed once the hub has taken a join (evJoin only).
	handled chan struct{}
	// refused, for a join, is where the hub puts a *NotOwnerError (before
	// closing handled) when another process runs the document: the peer
	// was told nothing and Manager.Join returns it.
	refused *error
	// evFetched: the answer to a Fetch.
	fetch   Fetch
	entries []oplog.Entry
	err     error
	// evEdit: a server edit and where to answer it (buffered, 1).
	edit   Edit
	editID EditID
	reply  chan EditResult
}

// inboxSize bounds a hub's inbox; a full inbox blocks the sockets' readers
// (back-pressure) rather than dropping anything. One batch takes up to
// maxBatch events, so a larger inbox would only hold more waiting.
const inboxSize = 128

// maxBatch bounds how many queued events one group commit takes.
const maxBatch = 256

// hub is the goroutine that drives one open document's Core: it takes a
// batch of events from its inbox, feeds them to the Core, persists what
// the Core's Ready holds, then delivers its messages and closes, starts
// its fetches and saves its snapshot. Every field below inbox is touched
// only by the hub goroutine (run).
type hub struct {
	m    *Manager
	doc  string
	refs int // guarded by m.mu: Conns that joined and have not left, and edits waiting
	// editRefs (guarded by m.mu) is how many of refs are edits.
	editRefs int

	inbox chan event
	done  chan struct{} // closed when run returns

	core   *Core // nil until the document is loaded
	conns  map[PeerID]*Conn
	wake   *time.Timer
	tick   chan struct{}
	saving atomic.Bool // a snapshot is being written
	// fetching: a catch-up page is being read; fetches wait their turn, so
	// that joins from far back cannot crowd the store and the CPU.
	fetching bool
	fetches  []Fetch
	deleted  bool // the document is gone: no snapshot on stop
	// edits are the server edits handed to the Core and not yet answered;
	// answered is how many were answered since the last batch (each held
	// a reference to the hub, released then).
	edits    map[EditID]chan EditResult
	answered int
	// lastOps is when the last batch holding ops was gathered; gatherT
	// ends a gathering wait (see gather).
	lastOps time.Time
	gatherT *time.Timer
	// lease is the document's lease (Config.Leases), taken before the
	// load and released when run returns; leaseGone: it was lost.
	lease     Lease
	leaseGone bool
}

func newHub(m *Manager, doc string) *hub {
	return &hub{
		m:     m,
		doc:   doc,
		inbox: make(chan event, inboxSize),
		done:  make(chan struct{}),
		conns: make(map[PeerID]*Conn),
		tick:  make(chan struct{}, 1),
		edits: make(map[EditID]chan EditResult),
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

// storeCtx bounds one store call: the manager cancels it at shutdown, and
// Config.StoreTimeout ends it.
func (h *hub) storeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(h.m.ctx, h.m.cfg.StoreTimeout)
}

// run is the hub goroutine. It returns when the last peer has left, the
// document is deleted, the manager shuts down, or the store fails.
func (h *hub) run() {
	defer close(h.done)
	defer func() {
		if h.lease != nil {
			h.lease.Release()
		}
	}()
	h.m.cfg.Logger.Debug("hub started", "doc", h.doc)
	defer h.m.cfg.Logger.Debug("hub stopped", "doc", h.doc)
	defer func() {
		if h.wake != nil {
			h.wake.Stop()
		}
	}()
	var batch []event // grows to what the document's batches need
	for {
		// Keep a small batch's array for the next; let a large one go, so
		// that a document that had one busy moment does not keep it.
		clear(batch)
		if cap(batch) > 32 {
			batch = nil
		}
		batch = batch[:0]
		select {
		case ev := <-h.inbox:
			batch = append(batch, ev)
		case <-h.tick: // presence relays are due
		case <-h.leaseLost():
			batch = append(batch, event{kind: evLeaseLost})
		}
		batch = h.gather(batch)
		if h.core != nil {
			h.core.Tick(h.m.cfg.Now())
		}
		stop := false
		for _, ev := range batch {
			if h.handle(ev) {
				stop = true
				break
			}
		}
		// Events after a stop are left unhandled: a join among them is
		// never marked handled, and Manager.Join, seeing the hub done,
		// takes it to a fresh hub.
		if !h.advance() {
			return
		}
		h.observeAnswers(batch)
		for ; h.answered > 0; h.answered-- {
			h.m.mu.Lock()
			h.editRefs--
			h.m.mu.Unlock()
			if h.m.release(h) {
				stop = true // the edit was the hub's last reason to live
			}
		}
		if stop {
			h.stop()
			return
		}
	}
}

// leaseLost returns the lease's Lost channel, or nil (never ready) when
// the hub holds no lease.
func (h *hub) leaseLost() <-chan struct{} {
	if h.lease == nil || h.leaseGone {
		return nil
	}
	return h.lease.Lost()
}

// busyWithin: a document whose last batch of ops started this recently is
// busy, and its next batch waits Config.BatchWait for company.
const busyWithin = 20 * time.Millisecond

// gather adds to batch the events already queued and, when the document
// is busy with ops, those that arrive within Config.BatchWait. Every batch
// costs one commit (and, with -durability power, one fsync) and one write
// per peer, whatever its size, so on a busy document a short wait saves
// more than it costs; a lone typist never waits.
func (h *hub) gather(batch []event) []event {
	batch = h.drain(batch)
	wait := h.m.cfg.BatchWait
	if wait <= 0 || !hasOp(batch) {
		return batch
	}
	now := h.m.cfg.Now()
	busy := now.Sub(h.lastOps) < busyWithin
	h.lastOps = now
	if !busy {
		return batch
	}
	if h.gatherT == nil {
		h.gatherT = time.NewTimer(wait)
	} else {
		h.gatherT.Reset(wait)
	}
	defer h.gatherT.Stop()
	for len(batch) < maxBatch {
		select {
		case ev := <-h.inbox:
			batch = append(batch, ev)
			if ev.kind != evOp && ev.kind != evCursor {
				// A join, leave or edit goes through at once.
				return h.drain(batch)
			}
		case <-h.gatherT.C:
			return h.drain(batch)
		}
	}
	return batch
}

// drain adds the events already queued to batch, up to maxBatch.
func (h *hub) drain(batch []event) []event {
	for len(batch) < maxBatch {
		select {
		case ev := <-h.inbox:
			batch = append(batch, ev)
		default:
			return batch
		}
	}
	return batch
}

func hasOp(batch []event) bool {
	for _, ev := range batch {
		if ev.kind == evOp {
			return true
		}
	}
	return false
}

// observeAnswers reports how long the batch's ops waited for their
// answers, which the batch's Readies have just handed over.
func (h *hub) observeAnswers(batch []event) {
	var now time.Time
	for _, ev := range batch {
		if ev.kind == evOp {
			if now.IsZero() {
				now = h.m.cfg.Now()
			}
			h.m.cfg.Observer.Answered(now.Sub(ev.at))
		}
	}
}

// handle feeds one event to the Core and reports whether the hub must stop.
func (h *hub) handle(ev event) bool {
	switch ev.kind {
	case evJoin:
		defer close(ev.rare.handled)
		if h.core == nil {
			if err := h.load(); err != nil {
				var no *NotOwnerError
				if errors.As(err, &no) && ev.rare.refused != nil {
					*ev.rare.refused = err
					return h.m.release(h)
				}
				h.refuseJoin(ev.conn, err)
				return false
			}
		}
		h.conns[ev.conn.id] = ev.conn
		h.core.Join(ev.conn.id, ev.rare.join)
	case evOp:
		if h.core != nil {
			h.core.Submit(ev.conn.id, ev.submit)
		}
	case evCursor:
		if h.core != nil {
			h.core.Cursor(ev.conn.id, ev.cursor)
		}
	case evFetched:
		h.fetching = false
		if h.core != nil {
			h.core.Fetched(ev.rare.fetch.Peer, ev.rare.fetch.From, ev.rare.entries, ev.rare.err)
		}
	case evLeave:
		delete(h.conns, ev.conn.id)
		if h.core != nil {
			h.core.Leave(ev.conn.id)
		}
		return h.m.release(h)
	case evEdit:
		if h.core == nil {
			if err := h.load(); err != nil {
				var no *NotOwnerError
				if !errors.Is(err, oplog.ErrNotFound) && !errors.As(err, &no) {
					h.m.cfg.Logger.Error("edit", "doc", h.doc, "err", err)
				}
				ev.rare.reply <- EditResult{ID: ev.rare.editID, Err: err}
				h.answered++
				return false
			}
		}
		h.edits[ev.rare.editID] = ev.rare.reply
		h.core.Edit(ev.rare.editID, ev.rare.edit)
	case evDeleted:
		h.deleted = true
		h.m.detach(h)
		if h.core != nil {
			h.core.CloseAll(wire.CodeNotFound, "the document was deleted", wire.CloseNotFound)
		}
		return true
	case evLeaseLost:
		// Another process may own the document now: stop at once,
		// without writing, and send everyone to catch up wherever it runs.
		h.leaseGone = true
		h.m.detach(h)
		h.m.cfg.Logger.Warn("lease lost: closing the document's peers", "doc", h.doc)
		if h.core != nil {
			h.core.CloseAll("", "the document moved to another server: catch up", wire.CloseTooSlow)
		}
		return true
	case evShutdown:
		h.m.detach(h)
		if h.core != nil {
			h.core.CloseAll("", "server shutting down", wire.CloseGoingAway)
		}
		return true
	}
	return false
}

// load builds the Core from the store: the latest snapshot, the log after
// it, and the highest seq of every client.
func (h *hub) load() (err error) {
	ctx, cancel := h.storeCtx()
	defer cancel()
	if h.m.cfg.Leases != nil && h.lease == nil {
		// The lease first: what is read next is then the latest, and no
		// other process writes after it.
		if h.lease, err = h.m.cfg.Leases.Acquire(ctx, h.doc); err != nil {
			h.lease = nil
			return err
		}
		defer func() {
			if err != nil {
				h.lease.Release()
				h.lease = nil
			}
		}()
	}
	rev, text, err := h.m.store.Snapshot(ctx, h.doc)
	if err != nil {
		return err
	}
	entries, err := h.m.store.Entries(ctx, h.doc, rev+1, 1<<62)
	if err != nil {
		return err
	}
	seqs, err := h.m.store.Seqs(ctx, h.doc)
	if err != nil {
		return err
	}
	core, err := NewCore(h.m.cfg, rev, text, entries, seqs)
	if err != nil {
		return err
	}
	core.Tick(h.m.cfg.Now()) // the batch that opened it was ticked before it existed
	h.core = core
	return nil
}

func (h *hub) refuseJoin(c *Conn, err error) {
	code, msg := wire.CodeInternal, "the document could not be loaded"
	if errors.Is(err, oplog.ErrNotFound) {
		code, msg = wire.CodeNotFound, "no such document"
	} else {
		h.m.cfg.Logger.Error("join", "doc", h.doc, "err", err)
	}
	c.peer.Send(wire.Encode(&wire.Message{Type: wire.TypeError, Code: code, Message: msg}))
	c.peer.Close(wire.CloseFor(code), msg)
}

// advance carries out the Core's Ready until it asks for nothing more
// (delivering can close a slow peer, which the others then see leave). It
// reports false if the store failed: the peers are then closed and the hub
// must stop.
func (h *hub) advance() bool {
	if h.core == nil {
		return true
	}
	for first := true; first || h.core.HasReady(); first = false {
		rd := h.core.Ready()
		if len(rd.Entries) > 0 {
			if h.lease != nil && !h.lease.Held() {
				h.storeFailed(ErrLeaseLost)
				return false
			}
			ctx, cancel := h.storeCtx()
			start := h.m.cfg.Now()
			err := h.m.store.Append(ctx, h.doc, rd.Entries)
			cancel()
			h.m.cfg.Observer.Committed(len(rd.Entries), h.m.cfg.Now().Sub(start))
			if err != nil {
				h.storeFailed(err)
				return false
			}
			h.m.opsApplied.Add(int64(len(rd.Entries)))
			h.m.commits.Add(1)
			h.m.gen.Add(1)
		}
		h.deliver(rd)
		h.answer(rd.Edits)
		h.fetches = append(h.fetches, rd.Fetches...)
		if !h.fetching && len(h.fetches) > 0 {
			f := h.fetches[0]
			h.fetches = h.fetches[1:]
			h.fetching = true
			h.startFetch(f)
		}
		if rd.Snapshot != nil {
			h.saveSnapshot(rd.Snapshot)
		}
		h.armWake(rd.Wake)
	}
	return true
}

// deliver sends the Ready's messages in order, then applies its closes. A
// peer over its send budget is closed as too slow (never silently
// skipped) and the Core is told it left.
//
// A peer's messages of one Ready are handed over together (BatchPeer),
// so that its connection can write them in one system call.
func (h *hub) deliver(rd Ready) {
	if len(rd.Messages) > 0 {
		n, size := 0, 0
		for _, msg := range rd.Messages {
			n += len(msg.To)
			size += len(msg.To) * len(msg.Data)
		}
		h.m.cfg.Observer.Fanout(n, size)
	}
	if len(rd.Messages) == 1 {
		msg := rd.Messages[0]
		for _, id := range msg.To {
			h.sendTo(id, msg.Data)
		}
	} else if len(rd.Messages) > 1 {
		for _, out := range groupByPeer(rd.Messages) {
			h.sendTo(out.id, out.msgs...)
		}
	}
	for _, cl := range rd.Closes {
		if c := h.conns[cl.Peer]; c != nil {
			c.peer.Close(cl.Code, cl.Reason)
			delete(h.conns, cl.Peer)
		}
	}
}

// peerMsgs is one peer's share of a Ready's messages, in order.
type peerMsgs struct {
	id   PeerID
	msgs [][]byte
}

// groupByPeer splits messages per recipient, keeping each peer's order
// and the order in which peers first appear.
func groupByPeer(messages []Message) []peerMsgs {
	var out []peerMsgs
	at := make(map[PeerID]int)
	for _, msg := range messages {
		for _, id := range msg.To {
			i, ok := at[id]
			if !ok {
				i = len(out)
				at[id] = i
				out = append(out, peerMsgs{id: id})
			}
			out[i].msgs = append(out[i].msgs, msg.Data)
		}
	}
	return out
}

// sendTo hands msgs to a peer, closing it as too slow if they do not fit
// its budget.
func (h *hub) sendTo(id PeerID, msgs ...[]byte) {
	c := h.conns[id]
	if c == nil {
		return
	}
	var ok bool
	if bp, isBatch := c.peer.(BatchPeer); isBatch && len(msgs) > 1 {
		ok = bp.SendBatch(msgs)
	} else {
		ok = true
		for _, m := range msgs {
			if ok = c.peer.Send(m); !ok {
				break
			}
		}
	}
	if !ok {
		h.m.slowPeers.Add(1)
		c.peer.Close(wire.CloseTooSlow, "too slow: reconnect and catch up")
		delete(h.conns, id)
		h.core.Leave(id)
	}
}

// answer reports server edits to their callers, once persisted.
func (h *hub) answer(results []EditResult) {
	for _, r := range results {
		if reply := h.edits[r.ID]; reply != nil {
			reply <- r
			delete(h.edits, r.ID)
			h.answered++
		}
	}
}

// failEdits answers every edit still waiting with err: the hub is stopping
// and none of them was persisted.
func (h *hub) failEdits(err error) {
	for id, reply := range h.edits {
		reply <- EditResult{ID: id, Err: err}
		delete(h.edits, id)
	}
}

// startFetch reads log entries for a catching-up peer off the hub
// goroutine, so that no join waits on the store in front of everyone else.
func (h *hub) startFetch(f Fetch) {
	h.m.wg.Add(1)
	// Ends when the read returns and its answer is queued, or the hub stopped.
	go func() {
		defer h.m.wg.Done()
		ctx, cancel := h.storeCtx()
		defer cancel()
		es, err := h.m.store.EntriesPage(ctx, h.doc, f.From, f.To, f.MaxBytes)
		if err != nil {
			h.m.cfg.Logger.Error("catch-up", "doc", h.doc, "from", f.From, "to", f.To, "err", err)
		}
		h.send(event{kind: evFetched, rare: &rareEvent{fetch: f, entries: es, err: err}})
	}()
}

// saveSnapshot writes s off the hub goroutine and prunes the snapshots it
// makes redundant. At most one is written at a time; one that comes while
// another is being written is skipped (the next comes SnapshotEvery ops
// later).
func (h *hub) saveSnapshot(s *Snapshot) {
	if !h.saving.CompareAndSwap(false, true) {
		return
	}
	h.m.wg.Add(1)
	// Ends when the snapshot is written (or failed) and pruned.
	go func() {
		defer h.m.wg.Done()
		defer h.saving.Store(false)
		h.writeSnapshot(s)
	}()
}

// writeSnapshot saves s, then keeps only the oldest snapshot of the
// SnapshotEvery-wide bucket that s falls in, besides s itself: at most one
// snapshot per SnapshotEvery revisions stays, so any revision is rebuilt
// from a snapshot at most about 2×SnapshotEvery ops before it.
func (h *hub) writeSnapshot(s *Snapshot) {
	ctx, cancel := h.storeCtx()
	defer cancel()
	if err := h.m.store.SaveSnapshot(ctx, h.doc, s.Rev, s.Text); err != nil {
		h.m.cfg.Logger.Error("save snapshot", "doc", h.doc, "rev", s.Rev, "err", err)
		return
	}
	every := h.m.cfg.SnapshotEvery
	if err := h.m.store.PruneSnapshots(ctx, h.doc, s.Rev/every*every, s.Rev); err != nil {
		h.m.cfg.Logger.Error("prune snapshots", "doc", h.doc, "rev", s.Rev, "err", err)
	}
}

// armWake arranges a tick at t (a presence relay due). One timer serves
// the hub's life, moved rather than replaced.
func (h *hub) armWake(t time.Time) {
	if t.IsZero() {
		return
	}
	d := t.Sub(h.m.cfg.Now())
	if h.wake == nil {
		h.wake = time.AfterFunc(d, func() {
			select {
			case h.tick <- struct{}{}:
			default: // a tick is already waiting
			}
		})
		return
	}
	h.wake.Reset(d)
}

// stop saves a snapshot if enough ops accumulated since the last one.
func (h *hub) stop() {
	if h.core == nil || h.deleted || h.leaseGone {
		return
	}
	if s := h.core.StopSnapshot(); s != nil {
		h.writeSnapshot(s)
	}
}

// storeFailed closes every peer and stops the hub: its memory may be ahead
// of the disk, and the next join reloads from the store. Nothing of the
// failed batch was acknowledged; clients resubmit it.
func (h *hub) storeFailed(err error) {
	h.m.storeErrors.Add(1)
	h.m.detach(h)
	code, msg, closeCode := wire.CodeInternal, "the server could not save the document; reconnecting", wire.CloseInternal
	switch {
	case errors.Is(err, oplog.ErrNotFound):
		code, msg, closeCode = wire.CodeNotFound, "the document was deleted", wire.CloseNotFound
	case errors.Is(err, oplog.ErrConflict), errors.Is(err, ErrLeaseLost):
		h.m.cfg.Logger.Warn("revision conflict: reloading", "doc", h.doc, "err", err)
		code, msg, closeCode = "", "document changed elsewhere: catch up", wire.CloseTooSlow
	default:
		h.m.cfg.Logger.Error("store failed: closing the document's peers", "doc", h.doc, "err", err)
	}
	h.core.StoreFailed(code, msg, closeCode)
	h.deliver(h.core.Ready())
	// The failed Ready may itself have let peers go (a CloseAll when the
	// document was deleted in the same batch): none of it was sent, so
	// every connection the hub still holds is closed here.
	var b []byte
	if code != "" {
		b = wire.Encode(&wire.Message{Type: wire.TypeError, Code: code, Message: msg})
	}
	for id, c := range h.conns {
		if b != nil {
			c.peer.Send(b)
		}
		c.peer.Close(closeCode, msg)
		delete(h.conns, id)
	}
	h.failEdits(err)
}
