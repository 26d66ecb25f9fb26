package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/wire"
)

// Peer is one connected client as the hub sees it. The WebSocket adapter
// implements it.
type Peer interface {
	// Send queues an encoded server message without blocking and without
	// ever dropping it. It returns false when the peer's queue is over its
	// budget; the hub then closes the peer with wire.CloseTooSlow.
	Send(msg []byte) bool
	// Close sends a close frame with the code and reason, then closes the
	// connection. It may be called more than once.
	Close(code int, reason string)
}

// BatchPeer is a Peer that can take several messages at once, in order: as
// if by Send for each, except that the messages before a refused one are
// queued, and all of them are handed to its connection together (which may
// then write them in one system call). It returns false as Send does.
type BatchPeer interface {
	Peer
	SendBatch(msgs [][]byte) bool
}

// Observer is told what the hubs do, for metrics. Its methods are called
// on the hubs' goroutines and must be cheap and safe for concurrent use.
type Observer interface {
	// Committed: a batch of ops was persisted in d.
	Committed(ops int, d time.Duration)
	// Answered: an op was acknowledged or refused d after it arrived.
	Answered(d time.Duration)
	// Fanout: messages of that many bytes in all were handed to peers.
	Fanout(messages, bytes int)
}

type noObserver struct{}

func (noObserver) Committed(int, time.Duration) {}
func (noObserver) Answered(time.Duration)       {}
func (noObserver) Fanout(int, int)              {}

// Store is what a hub needs from durable storage. Package store implements
// it on SQLite; tests use an in-memory fake. Every method is safe for
// concurrent use. Errors wrap oplog.ErrNotFound or oplog.ErrConflict where
// they apply.
type Store interface {
	// Snapshot returns the latest snapshot of the document (revision and
	// text); a document with none is at revision 0 with empty text.
	Snapshot(ctx context.Context, doc string) (rev int, text string, err error)
	// Entries returns the log entries with from <= Rev <= to, in order.
	Entries(ctx context.Context, doc string, from, to int) ([]oplog.Entry, error)
	// EntriesPage is Entries stopped before the entry that would take the
	// page's ops over maxBytes of JSON; it returns at least one entry if
	// the range has any.
	EntriesPage(ctx context.Context, doc string, from, to, maxBytes int) ([]oplog.Entry, error)
	// Append adds entries (consecutive revisions, following the current
	// one) in one transaction and moves the document's revision and
	// updated time. If a revision is already taken (another process wrote
	// it) it fails with ErrConflict and writes nothing.
	Append(ctx context.Context, doc string, entries []oplog.Entry) error
	// SaveSnapshot records the text at a revision.
	SaveSnapshot(ctx context.Context, doc string, rev int, text string) error
	// PruneSnapshots keeps the oldest of the document's snapshots with
	// from <= rev < to and deletes the others in that range (never the
	// one at revision 0).
	PruneSnapshots(ctx context.Context, doc string, from, to int) error
	// Seqs returns the highest seq applied per client of the document.
	Seqs(ctx context.Context, doc string) (map[string]int, error)
}

// Config holds a Manager's knobs. Zero values take the defaults.
type Config struct {
	// SnapshotEvery: save a snapshot after this many operations (default 1000).
	SnapshotEvery int
	// SnapshotOnStop: a hub that stops (last person gone) saves a snapshot
	// only if this many operations were applied since the last one
	// (default SnapshotEvery/10, at least 1).
	SnapshotOnStop int
	// MaxDocLen: the longest document, in UTF-16 units (default 10 Mi).
	MaxDocLen int
	// History and HistoryBytes bound the window of recent operations a hub
	// keeps in memory for transforming and catch-up (defaults 4096 and
	// 8 MiB). An op or cursor based before the window is not transformed:
	// see wire.CodeStale.
	History, HistoryBytes int
	// MaxTransform bounds the component steps of transforming one op or
	// cursor to the current revision (default 256 Ki, about 16 ms): an op
	// that would cost more is refused as stale, and its client transforms
	// it while it catches up.
	MaxTransform int
	// CatchUpOps and CatchUpBytes bound one page of catch-up read from the
	// store for a client joining from before the window (defaults 1000 ops
	// and 4 MiB); a document reads one page at a time.
	CatchUpOps, CatchUpBytes int
	// BatchWait is how long a busy document's hub waits for more ops
	// before it commits a batch (default 0: none; tandem sets 1 ms). See
	// hub.gather.
	BatchWait time.Duration
	// StoreTimeout bounds each store call of a hub (default 10 s).
	StoreTimeout time.Duration
	// Observer is told what the hubs do (default: nobody).
	Observer Observer
	// Logger (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock (default time.Now); tests may replace it.
	Now func() time.Time
	// Leases, if set, makes each hub hold its document's lease while it
	// runs (several processes on one store; see Leases). Nil: every
	// document runs here.
	Leases Leases
}

func (c *Config) setDefaults() {
	if c.SnapshotEvery <= 0 {
		c.SnapshotEvery = 1000
	}
	if c.SnapshotOnStop <= 0 {
		c.SnapshotOnStop = max(1, c.SnapshotEvery/10)
	}
	if c.MaxDocLen <= 0 {
		c.MaxDocLen = 10 << 20
	}
	if c.History <= 0 {
		c.History = 4096
	}
	if c.HistoryBytes <= 0 {
		c.HistoryBytes = 8 << 20
	}
	if c.MaxTransform <= 0 {
		c.MaxTransform = 256 << 10
	}
	if c.CatchUpOps <= 0 {
		c.CatchUpOps = 1000
	}
	if c.CatchUpBytes <= 0 {
		c.CatchUpBytes = 4 << 20
	}
	if c.StoreTimeout <= 0 {
		c.StoreTimeout = 10 * time.Second
	}
	if c.Observer == nil {
		c.Observer = noObserver{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// ErrClosed: the manager is shutting down and accepts no joins.
var ErrClosed = errors.New("session: server shutting down")

// Error is a refusal with a protocol error code (wire.Code*).
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Manager owns the hubs of every open document.
type Manager struct {
	store Store
	cfg   Config
	// ctx is the parent of every store call; Shutdown cancels it when its
	// own deadline passes, so that no hub waits on the store for ever.
	ctx    context.Context
	cancel context.CancelFunc
	nextID atomic.Uint64 // PeerIDs

	mu     sync.Mutex
	hubs   map[string]*hub // open documents
	closed bool
	wg     sync.WaitGroup // running hub goroutines and their store readers and writers

	// Counters, atomic so that hubs count without the manager's lock.
	opsApplied, commits, joins, slowPeers, storeErrors atomic.Int64
	// gen moves whenever a document's people or revision may have
	// changed, so that watchers re-read only then.
	gen atomic.Uint64
}

// Stats are counters for /metrics.
type Stats struct {
	OpsApplied  int64
	Commits     int64
	Joins       int64
	SlowPeers   int64
	StoreErrors int64
}

// NewManager returns a Manager persisting through store.
func NewManager(store Store, cfg Config) *Manager {
	cfg.setDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{store: store, cfg: cfg, ctx: ctx, cancel: cancel, hubs: make(map[string]*hub)}
}

// Join registers peer p with the document's hub, starting the hub if need
// be, and hands it the join, waiting until the hub has taken it: the hub
// answers through p (snapshot or catch-up, then joined; or an error). A
// malformed join is refused with an *Error and p is not registered. The
// rights are the server's decision, checked by the core on every op. The
// returned Conn carries p's later messages.
func (m *Manager) Join(doc string, p Peer, msg *wire.Message, rights Rights) (*Conn, error) {
	j, err := ParseJoin(msg)
	if err != nil {
		return nil, err
	}
	j.Rights = rights
	id := PeerID(m.nextID.Add(1))
	// A hub that stops (document deleted, store failure) before it takes
	// the join never answers it: the join then goes to a fresh hub, which
	// does. The second attempt cannot meet the same hub, which has left
	// the map.
	for {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return nil, ErrClosed
		}
		h := m.hubs[doc]
		if h == nil {
			h = newHub(m, doc)
			m.hubs[doc] = h
			m.wg.Add(1)
			// The hub goroutine ends when the hub stops: last peer gone,
			// document deleted, shutdown or a store failure.
			go func() {
				defer m.wg.Done()
				h.run()
			}()
		}
		h.refs++
		m.mu.Unlock()
		c := &Conn{hub: h, peer: p, client: j.Client, name: j.Name, color: j.Color, id: id}
		handled := make(chan struct{})
		var refused error // set by the hub before it closes handled
		h.send(event{kind: evJoin, conn: c, rare: &rareEvent{join: j, handled: handled, refused: &refused}})
		select {
		case <-handled:
		case <-h.done:
			select {
			case <-handled:
			default:
				continue
			}
		}
		if refused != nil {
			return nil, refused // another process runs the document
		}
		m.joins.Add(1)
		m.gen.Add(1)
		return c, nil
	}
}

// Editors returns how many peers are connected to a document now.
func (m *Manager) Editors(doc string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if h := m.hubs[doc]; h != nil {
		return h.refs - h.editRefs
	}
	return 0
}

// Generation returns a number that changes whenever a document's people
// or revision may have changed (a join, a leave, a commit).
func (m *Manager) Generation() uint64 { return m.gen.Load() }

// Stats returns a copy of the counters.
func (m *Manager) Stats() (s Stats, openDocs, peers int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, h := range m.hubs {
		peers += h.refs
	}
	s = Stats{
		OpsApplied:  m.opsApplied.Load(),
		Commits:     m.commits.Load(),
		Joins:       m.joins.Load(),
		SlowPeers:   m.slowPeers.Load(),
		StoreErrors: m.storeErrors.Load(),
	}
	return s, len(m.hubs), peers
}

// Deleted tells the document's hub, if open, that the document is gone: its
// peers get not_found and close 4004.
// Edit makes a server edit in the document, ordered like any client's op,
// and returns its revision once it is persisted. A refused edit returns an
// *Error (bad_rev, stale, base_length, ...); a missing document wraps
// oplog.ErrNotFound. The document's hub is opened for it if need be.
func (m *Manager) Edit(ctx context.Context, doc string, e Edit) (int, error) {
	id := EditID(m.nextID.Add(1))
	for {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return 0, ErrClosed
		}
		h := m.hubs[doc]
		if h == nil {
			h = newHub(m, doc)
			m.hubs[doc] = h
			m.wg.Add(1)
			// Ends when the hub stops, as for a join.
			go func() {
				defer m.wg.Done()
				h.run()
			}()
		}
		h.refs++ // released by the hub once it has answered
		h.editRefs++
		m.mu.Unlock()
		reply := make(chan EditResult, 1)
		h.send(event{kind: evEdit, rare: &rareEvent{edit: e, editID: id, reply: reply}})
		select {
		case r := <-reply:
			return r.Rev, r.Err
		case <-h.done:
			select {
			case r := <-reply:
				return r.Rev, r.Err
			default:
				// The hub stopped before taking the edit: nothing was
				// applied; a fresh hub takes it.
				continue
			}
		case <-ctx.Done():
			// The edit may still be applied; the caller cannot know.
			return 0, ctx.Err()
		}
	}
}

func (m *Manager) Deleted(doc string) {
	m.mu.Lock()
	h := m.hubs[doc]
	m.mu.Unlock()
	if h != nil {
		h.send(event{kind: evDeleted})
	}
}

// Shutdown stops accepting joins, tells every hub to commit what it has,
// save a snapshot and close its peers with 1001 (going away), and waits
// for the hubs to end or ctx to expire.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	hubs := make([]*hub, 0, len(m.hubs))
	for _, h := range m.hubs {
		hubs = append(hubs, h)
	}
	m.mu.Unlock()
	for _, h := range hubs {
		h.send(event{kind: evShutdown})
	}
	done := make(chan struct{})
	go func() { // ends when every hub goroutine has ended
		m.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		m.cancel()
		return nil
	case <-ctx.Done():
		m.cancel() // hubs waiting on the store give up
		return fmt.Errorf("session: shutdown: %w", ctx.Err())
	}
}

// release drops one reference to h; at zero the hub is removed from the
// map (later joins start a new hub) and it stops once its inbox drains.
// It reports whether h must stop.
func (m *Manager) release(h *hub) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gen.Add(1)
	h.refs--
	if h.refs > 0 {
		return false
	}
	if m.hubs[h.doc] == h {
		delete(m.hubs, h.doc)
	}
	return true
}

// detach removes h from the map at once (it is stopping for good).
func (m *Manager) detach(h *hub) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.hubs[h.doc] == h {
		delete(m.hubs, h.doc)
	}
}

// Conn is one joined peer's handle on its hub. Its methods queue a message
// for the hub and return; answers go through the Peer. A relayed Conn
// (RelayConn) hands them to its Forwarder instead.
type Conn struct {
	hub         *hub
	fwd         Forwarder
	peer        Peer
	client      string
	name, color string
	id          PeerID
	once        sync.Once
}

// Client returns the peer's client id.
func (c *Conn) Client() string { return c.client }

// Name and Color are those the peer joined with, as checked.
func (c *Conn) Name() string  { return c.name }
func (c *Conn) Color() string { return c.color }

// Op submits an op message.
func (c *Conn) Op(s Submit) {
	if c.fwd != nil {
		c.fwd.Op(s)
		return
	}
	c.hub.send(event{kind: evOp, conn: c, submit: s, at: c.hub.m.cfg.Now()})
}

// Presence submits a presence message.
func (c *Conn) Presence(cur Cursor) {
	if c.fwd != nil {
		c.fwd.Presence(cur)
		return
	}
	c.hub.send(event{kind: evCursor, conn: c, cursor: cur})
}

// Leave tells the hub the peer disconnected. Later calls do nothing.
func (c *Conn) Leave() {
	c.once.Do(func() {
		if c.fwd != nil {
			c.fwd.Leave()
			return
		}
		c.hub.send(event{kind: evLeave, conn: c})
	})
}
