package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tandem-editor/tandem/session"
	"github.com/tandem-editor/tandem/wire"
)

// LeaseStore keeps the leases; *postgres.DB implements it. Expiry is by
// the store's clock.
type LeaseStore interface {
	// TakeLease gives doc's lease to owner for ttl if it is free, expired
	// or owner's already, and returns the holder afterwards.
	TakeLease(ctx context.Context, doc, owner string, ttl time.Duration) (string, error)
	// RenewLeases extends owner's unexpired leases of docs by ttl and
	// returns those renewed.
	RenewLeases(ctx context.Context, owner string, docs []string, ttl time.Duration) ([]string, error)
	// ReleaseLease gives up owner's lease of doc.
	ReleaseLease(ctx context.Context, doc, owner string) error
}

// Config configures a Node.
type Config struct {
	// ID names this process (default: random, new at every start).
	ID string
	// Leases is where leases are kept (required).
	Leases LeaseStore
	// Period is the lease's length (default 10 s): renewed every third of
	// it; an owner or a relay silent for a Period is given up.
	Period time.Duration
	// NATS, if set, carries relayed connections between processes.
	// Without it a document owned by another process cannot be joined
	// here: the join is refused (internal, close 1011) and the client
	// retries with backoff until the owner lets the document go.
	NATS *nats.Conn
	// Logger (default slog.Default()).
	Logger *slog.Logger
}

// Node is one process's part of the cluster. See the package comment.
type Node struct {
	cfg Config
	id  string
	nc  *nats.Conn
	log *slog.Logger
	m   *session.Manager

	// leaseMu serialises taking and releasing leases in the store, so
	// that a release cannot delete the row of a lease taken again since.
	leaseMu sync.Mutex

	mu       sync.Mutex
	owned    map[string]*owned // documents whose lease this process holds
	relays   map[string]*relay // this process's relayed connections, by id
	closing  bool
	nextConn atomic.Uint64
	gen      atomic.Uint64
	peerSub  *nats.Subscription
	eventSub *nats.Subscription
	onEvent  atomic.Pointer[func(doc, revokedToken string)]
	counts   map[string]counted // people in documents run elsewhere, as gossiped

	stop chan struct{}
	done chan struct{}
}

// New returns a Node; Start it with the Manager whose Config.Leases it is.
func New(cfg Config) *Node {
	if cfg.Period <= 0 {
		cfg.Period = 10 * time.Second
	}
	if cfg.ID == "" {
		b := make([]byte, 8)
		rand.Read(b)
		cfg.ID = hex.EncodeToString(b)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Node{
		cfg: cfg, id: cfg.ID, nc: cfg.NATS, log: cfg.Logger.With("node", cfg.ID),
		owned: make(map[string]*owned), relays: make(map[string]*relay), counts: make(map[string]counted),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
}

// ID returns the process's id, as written in the leases.
func (n *Node) ID() string { return n.id }

// Start begins renewing leases and, with NATS, serving relayed
// connections. m must have been built with this Node as Config.Leases.
func (n *Node) Start(m *session.Manager) error {
	n.m = m
	if n.nc != nil {
		sub, err := n.nc.Subscribe(peerWildcard(n.id), n.relayMsg)
		if err != nil {
			return fmt.Errorf("cluster: subscribe: %w", err)
		}
		n.peerSub = sub
		if n.eventSub, err = n.nc.Subscribe(eventsSubject, n.eventMsg); err != nil {
			return fmt.Errorf("cluster: subscribe: %w", err)
		}
		if err := n.nc.FlushTimeout(5 * time.Second); err != nil {
			return fmt.Errorf("cluster: nats: %w", err)
		}
	}
	go n.loop() // ends when Close closes stop
	return nil
}

// Close stops the renewals and heartbeats; call it after the Manager's
// Shutdown (which releases the leases).
func (n *Node) Close() {
	select {
	case <-n.stop:
		return
	default:
	}
	close(n.stop)
	<-n.done
	if n.peerSub != nil {
		n.peerSub.Unsubscribe()
	}
	if n.eventSub != nil {
		n.eventSub.Unsubscribe()
	}
}

// loop renews the leases and sends heartbeats every third of a period,
// and gossips the generation (events.go).
func (n *Node) loop() {
	defer close(n.done)
	t := time.NewTicker(n.cfg.Period / 3)
	defer t.Stop()
	g := time.NewTicker(gossipEvery)
	defer g.Stop()
	var gen uint64
	sent := make(map[string]int)
	for {
		select {
		case <-n.stop:
			return
		case <-g.C:
			n.gossip(&gen, sent, false)
		case <-t.C:
			n.renew()
			n.beat()
			n.gossip(&gen, sent, true)
		}
	}
}

// publish sends env on subject, numbered from *counter (one number per
// NATS message), split into parts if it is too large for one. number sets
// the envelope's number field. The caller holds the lock that guards
// counter, so that numbers go out in order.
func (n *Node) publish(subject string, env envelope, counter *uint64, number func(*envelope, uint64)) error {
	*counter++
	number(&env, *counter)
	b := encode(env)
	limit := int(n.nc.MaxPayload()) - 1024
	if len(b) <= limit {
		return n.nc.Publish(subject, b)
	}
	*counter--
	size := limit * 3 / 4 // P is base64 in JSON
	for off := 0; off < len(b); off += size {
		end := min(off+size, len(b))
		*counter++
		part := envelope{K: kPart, Conn: env.Conn, P: b[off:end], More: end < len(b)}
		number(&part, *counter)
		if err := n.nc.Publish(subject, encode(part)); err != nil {
			return err
		}
	}
	return nil
}

func toOwner(e *envelope, i uint64) { e.I = i }
func toRelay(e *envelope, i uint64) { e.N = i }

// reassemble adds a part to buf; once the last part is in, it returns the
// whole envelope (done). A malformed envelope is an error.
func reassemble(buf *[]byte, part *envelope) (whole *envelope, done bool, err error) {
	*buf = append(*buf, part.P...)
	if part.More {
		return nil, false, nil
	}
	var env envelope
	err = json.Unmarshal(*buf, &env)
	*buf = nil
	if err != nil {
		return nil, false, err
	}
	return &env, true, nil
}

// --- leases ---

// owned is a document whose lease this process holds, shared by the hubs
// of the document that hold it (one, or two while one stops and the next
// starts). Fields are guarded by Node.mu.
type owned struct {
	doc       string
	refs      int
	lost      chan struct{}
	gone      bool      // lost, or released: no longer in Node.owned
	renewedAt time.Time // when the last successful take or renewal began
	sub       *nats.Subscription
	remotes   map[string]*remote // remote peers, by relayed connection id
	// edits are the server edits arriving in parts, by id; touched only on
	// the subscription's goroutine.
	edits      map[string][]byte
	editsBytes int
}

type lease struct {
	n    *Node
	o    *owned
	once sync.Once
}

func (l *lease) Held() bool {
	l.n.mu.Lock()
	defer l.n.mu.Unlock()
	return !l.o.gone && time.Since(l.o.renewedAt) < l.n.cfg.Period
}

func (l *lease) Lost() <-chan struct{} { return l.o.lost }

func (l *lease) Release() { l.once.Do(func() { l.n.release(l.o) }) }

// Acquire takes the document's lease (session.Leases).
func (n *Node) Acquire(ctx context.Context, doc string) (session.Lease, error) {
	n.leaseMu.Lock()
	defer n.leaseMu.Unlock()
	n.mu.Lock()
	if o := n.owned[doc]; o != nil {
		o.refs++
		n.mu.Unlock()
		return &lease{n: n, o: o}, nil
	}
	n.mu.Unlock()
	start := time.Now()
	holder, err := n.cfg.Leases.TakeLease(ctx, doc, n.id, n.cfg.Period)
	if err != nil {
		return nil, err
	}
	if holder != n.id {
		return nil, &session.NotOwnerError{Doc: doc, Owner: holder}
	}
	o := &owned{doc: doc, refs: 1, lost: make(chan struct{}), renewedAt: start, remotes: make(map[string]*remote)}
	if n.nc != nil {
		// One goroutine per owned document delivers its relays'
		// messages in order; it ends with the unsubscription.
		o.sub, err = n.nc.Subscribe(docSubject(doc), func(msg *nats.Msg) { n.ownerMsg(o, msg) })
		if err != nil {
			n.releaseRow(doc)
			return nil, fmt.Errorf("cluster: subscribe to %s: %w", doc, err)
		}
		// Relays asking now must find the subscription (a failed flush
		// only delays them: they retry).
		n.nc.FlushTimeout(time.Second)
	}
	n.mu.Lock()
	n.owned[doc] = o
	n.mu.Unlock()
	n.log.Debug("lease taken", "doc", doc)
	return &lease{n: n, o: o}, nil
}

// release drops one hub's hold of o; the last gives the lease back.
func (n *Node) release(o *owned) {
	n.leaseMu.Lock()
	defer n.leaseMu.Unlock()
	n.mu.Lock()
	o.refs--
	if o.refs > 0 {
		n.mu.Unlock()
		return
	}
	wasGone := o.gone
	n.dropOwned(o)
	n.mu.Unlock()
	if !wasGone {
		n.releaseRow(o.doc)
		n.log.Debug("lease released", "doc", o.doc)
	}
}

func (n *Node) releaseRow(doc string) {
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.Period/3)
	defer cancel()
	if err := n.cfg.Leases.ReleaseLease(ctx, doc, n.id); err != nil {
		n.log.Warn("release lease (it will expire)", "doc", doc, "err", err)
	}
}

// dropOwned forgets o: no longer owned, its subscription ended, its
// remote peers forgotten (the hub closes them). n.mu must be held.
func (n *Node) dropOwned(o *owned) {
	if n.owned[o.doc] == o {
		delete(n.owned, o.doc)
	}
	o.gone = true
	if o.sub != nil {
		o.sub.Unsubscribe()
		o.sub = nil
	}
}

// renew extends every lease held; those not renewed are lost, and their
// hubs stop. A renewal that fails loses them all: the hubs cannot write
// either while the database is unreachable, and a lease may expire
// meanwhile.
func (n *Node) renew() {
	n.mu.Lock()
	docs := make([]string, 0, len(n.owned))
	for doc := range n.owned {
		docs = append(docs, doc)
	}
	n.mu.Unlock()
	if len(docs) == 0 {
		return
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.Period/3)
	kept, err := n.cfg.Leases.RenewLeases(ctx, n.id, docs, n.cfg.Period)
	cancel()
	if err != nil {
		n.log.Error("renew leases: giving up the documents", "docs", len(docs), "err", err)
	}
	ok := make(map[string]bool, len(kept))
	for _, d := range kept {
		ok[d] = true
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, doc := range docs {
		o := n.owned[doc]
		if o == nil {
			continue // released meanwhile
		}
		if ok[doc] {
			o.renewedAt = start
			continue
		}
		if err == nil {
			n.log.Warn("lease lost", "doc", doc)
		}
		n.dropOwned(o)
		close(o.lost)
	}
}

// --- the session.Manager's methods, cluster-wide (server.Sessions) ---

// Join joins p to the document: here if this process runs it or can take
// its lease, otherwise through the owner. While the owner does not answer
// (it died and its lease has not expired yet) it retries for up to a lease
// period, then refuses the join as internal (close 1011: the client
// reconnects with backoff).
func (n *Node) Join(doc string, p session.Peer, msg *wire.Message, rights session.Rights) (*session.Conn, error) {
	deadline := time.Now().Add(n.cfg.Period)
	for {
		conn, err := n.m.Join(doc, p, msg, rights)
		var no *session.NotOwnerError
		if !errors.As(err, &no) {
			return conn, err
		}
		if n.nc == nil {
			return nil, &session.Error{Code: wire.CodeInternal, Message: "the document is open in another server process; retrying"}
		}
		conn, err = n.relayJoin(doc, p, msg, rights)
		var serr *session.Error
		if err == nil || errors.As(err, &serr) || errors.Is(err, session.ErrClosed) {
			return conn, err
		}
		if time.Now().After(deadline) {
			n.log.Warn("join: the document's owner does not answer", "doc", doc, "owner", no.Owner, "err", err)
			return nil, &session.Error{Code: wire.CodeInternal, Message: "the document's server does not answer; retrying"}
		}
		time.Sleep(n.cfg.Period / 20)
	}
}

// Edit makes a server edit here or, if another process runs the document,
// there.
func (n *Node) Edit(ctx context.Context, doc string, e session.Edit) (int, error) {
	for {
		rev, err := n.m.Edit(ctx, doc, e)
		var no *session.NotOwnerError
		if !errors.As(err, &no) || n.nc == nil {
			return rev, err
		}
		op, err := e.Op.MarshalJSON()
		if err != nil {
			return 0, err
		}
		env := envelope{K: kEdit, Op: op, Rev: &e.Rev, Author: e.Author, Inserts: e.Inserts}
		reply, err := n.requestEdit(ctx, doc, env)
		if err == nil {
			var a answer
			if err := jsonUnmarshal(reply.Data, &a); err != nil {
				return 0, err
			}
			switch {
			case a.OK:
				return a.Rev, nil
			case !a.NotOwner:
				return 0, answerErr(a)
			}
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(n.cfg.Period / 20):
		}
	}
}

// requestEdit sends a server edit to the document's owner and waits for
// its answer. An edit too large for one NATS message goes in parts on the
// document's subject, named by an id of their own; the last part is the
// request. One publisher's messages on one subject arrive in order, and
// the owner handles its subject's messages one at a time, so the owner has
// the whole edit when the request comes.
func (n *Node) requestEdit(ctx context.Context, doc string, env envelope) (*nats.Msg, error) {
	b := encode(env)
	limit := int(n.nc.MaxPayload()) - 1024
	if len(b) <= limit {
		return n.nc.RequestWithContext(ctx, docSubject(doc), b)
	}
	id := fmt.Sprintf("%s%s.%d", editPrefix, n.id, n.nextConn.Add(1))
	size := limit * 3 / 4 // P is base64 in JSON
	for off := 0; ; off += size {
		end := min(off+size, len(b))
		part := encode(envelope{K: kPart, Conn: id, P: b[off:end], More: end < len(b)})
		if end == len(b) {
			return n.nc.RequestWithContext(ctx, docSubject(doc), part)
		}
		if err := n.nc.Publish(docSubject(doc), part); err != nil {
			return nil, err
		}
	}
}

// Deleted tells the document's hub, here or in its owner, that it is gone.
func (n *Node) Deleted(doc string) {
	n.m.Deleted(doc)
	if n.nc != nil {
		n.nc.Publish(docSubject(doc), encode(envelope{K: kDeleted}))
	}
}

// Editors counts the people in the document: all of them if it runs
// here (relayed ones included); otherwise as its owner last gossiped, or,
// before any gossip, the ones relayed by this process.
func (n *Node) Editors(doc string) int {
	k := n.m.Editors(doc)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.owned[doc] != nil {
		return k
	}
	if c, ok := n.counts[doc]; ok && time.Since(c.at) < n.cfg.Period {
		return c.n
	}
	for _, r := range n.relays {
		if r.doc == doc {
			k++
		}
	}
	return k
}

// Generation changes when the manager's does or a relayed connection
// comes or goes.
func (n *Node) Generation() uint64 { return n.m.Generation() + n.gen.Load() }

// Stats are the manager's.
func (n *Node) Stats() (session.Stats, int, int) { return n.m.Stats() }

// Shutdown closes the relayed connections (1001: reconnect, to another
// process) and shuts the manager down, which stops its hubs and so
// releases their leases.
func (n *Node) Shutdown(ctx context.Context) error {
	n.mu.Lock()
	n.closing = true
	rs := make([]*relay, 0, len(n.relays))
	for _, r := range n.relays {
		rs = append(rs, r)
	}
	n.mu.Unlock()
	for _, r := range rs {
		r.fail(wire.CloseGoingAway, "server shutting down")
	}
	return n.m.Shutdown(ctx)
}

// beat sends the heartbeats of both sides and gives up on silent ones.
func (n *Node) beat() {
	if n.nc == nil {
		return
	}
	now := time.Now()
	n.mu.Lock()
	rs := make([]*relay, 0, len(n.relays))
	for _, r := range n.relays {
		rs = append(rs, r)
	}
	var rps []*remote
	for _, o := range n.owned {
		for _, rp := range o.remotes {
			rps = append(rps, rp)
		}
	}
	n.mu.Unlock()
	for _, r := range rs {
		r.beat(now)
	}
	for _, rp := range rps {
		rp.beat(now)
	}
}
