package client

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/session"
	"github.com/tandem-editor/tandem/wire"
)

// simNet is a scripted network: Machines, the server's real document core
// (session.Core, the same value the hub drives), and one FIFO queue per
// direction and client. Every message goes through JSON. The test decides
// what is delivered when; the server side persists instantly.
type simNet struct {
	t       testing.TB
	srv     *simServer
	clients []*simClient
}

type simClient struct {
	m         *Machine
	up, down  [][]byte // client→server and server→client messages in transit
	connected bool     // a connection exists (its join was queued)
	joined    bool     // the server handled the join on this connection
	id        session.PeerID
	kicked    bool // the server closed the last connection
}

// simServer drives a session.Core as the hub does: feed a request, then
// carry out its Ready (persist into log, deliver into the clients' down
// queues, answer fetches from log at once).
type simServer struct {
	t     testing.TB
	core  *session.Core
	text  string        // the core's text after the last request
	log   []oplog.Entry // every persisted entry
	conns map[session.PeerID]*simClient
	next  session.PeerID
	now   time.Time
	// small: the core's window is configured (a few ops), so that
	// catch-ups are fetched and ops are refused as stale (close 4001),
	// which the clients must survive; other refusals still fail the test.
	small bool
	// stale and fetches count refusals as stale and log pages fetched.
	stale, fetches int
}

// closed stands in a down queue for the server's close frame: the
// connection ends when the client reaches it.
var closed = []byte("close")

// simSecret is the secret of the simulated client id; the simulated server
// derives the id back from it (the real one uses an HMAC), so that tests
// can name clients.
func simSecret(id string) string { return (id + "-secret-secret-secret-secret")[:max(22, len(id)+1)] }

func simPublic(secret string) string { return secret[:strings.Index(secret, "-secret")] }

func newSimNet(t testing.TB, text string, ids ...string) *simNet {
	return newSimNetWith(t, session.Config{}, text, ids...)
}

// newSimNetWith is newSimNet with a core configured by cfg; setting
// cfg.History lets the core refuse ops as stale.
func newSimNetWith(t testing.TB, cfg session.Config, text string, ids ...string) *simNet {
	core, err := session.NewCore(cfg, 0, text, nil, nil)
	if err != nil {
		t.Fatalf("new core: %v", err)
	}
	n := &simNet{t: t, srv: &simServer{t: t, core: core, text: text,
		conns: make(map[session.PeerID]*simClient), now: time.Unix(1e9, 0), small: cfg.History > 0}}
	for _, id := range ids {
		n.clients = append(n.clients, &simClient{m: NewMachine(simSecret(id), id, "#123")})
	}
	return n
}

func encode(t testing.TB, m *wire.Message) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("encode %+v: %v", m, err)
	}
	return b
}

func decode(t testing.TB, b []byte) *wire.Message {
	t.Helper()
	var m wire.Message
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return &m
}

// connect opens a connection for client i: its join is queued.
func (n *simNet) connect(i int) {
	c := n.clients[i]
	if c.connected {
		n.t.Fatalf("client %d is already connected", i)
	}
	c.connected, c.joined, c.kicked = true, false, false
	c.up = [][]byte{encode(n.t, c.m.Join())}
	c.down = nil
}

// drop cuts client i's connection: what is in transit is lost.
func (n *simNet) drop(i int) {
	c := n.clients[i]
	c.connected, c.joined, c.up, c.down = false, false, nil, nil
	c.m.Disconnected()
	n.srv.leave(c)
}

// pump moves client i's outbox into its up queue.
func (n *simNet) pump(i int) {
	c := n.clients[i]
	for _, msg := range c.m.Outbox() {
		if !c.connected {
			n.t.Fatalf("client %d emitted %s while disconnected", i, encode(n.t, msg))
		}
		c.up = append(c.up, encode(n.t, msg))
	}
}

func (n *simNet) edit(i int, op ot.Op) {
	n.t.Helper()
	if err := n.clients[i].m.Edit(op); err != nil {
		n.t.Fatalf("client %d: edit %v on %q: %v", i, op, n.clients[i].m.Text(), err)
	}
	n.pump(i)
}

func (n *simNet) setSel(i int, sel []ot.Range) {
	n.t.Helper()
	if err := n.clients[i].m.SetSelection(sel); err != nil {
		n.t.Fatalf("client %d: select %v: %v", i, sel, err)
	}
	n.pump(i)
}

// deliverUp hands client i's oldest message in transit to the server.
func (n *simNet) deliverUp(i int) {
	n.t.Helper()
	c := n.clients[i]
	b := c.up[0]
	c.up = c.up[1:]
	n.srv.handle(n.t, c, decode(n.t, b))
}

// deliverDown hands client i the oldest server message in transit.
func (n *simNet) deliverDown(i int) Event {
	n.t.Helper()
	c := n.clients[i]
	b := c.down[0]
	c.down = c.down[1:]
	if bytes.Equal(b, closed) {
		n.drop(i)
		c.kicked = true
		return Event{}
	}
	ev, err := c.m.Receive(decode(n.t, b))
	if err != nil {
		n.t.Fatalf("client %d: receive %s: %v", i, b, err)
	}
	n.pump(i)
	return ev
}

// settle delivers everything in transit, in a fixed order, until quiet.
func (n *simNet) settle() {
	n.t.Helper()
	for range 100000 {
		moved := false
		for i, c := range n.clients {
			if c.kicked && !c.connected { // closed by the server: reconnect at once, as for 4001
				n.connect(i)
				moved = true
			}
			if len(c.up) > 0 {
				n.deliverUp(i)
				moved = true
			}
			if len(c.down) > 0 {
				n.deliverDown(i)
				moved = true
			}
		}
		if !moved {
			return
		}
	}
	n.t.Fatal("the network did not settle")
}

// check asserts convergence: every joined client synchronized, at the
// server's revision and text; the log holds each client's seqs 1..Seq()
// once, in order; every client sees every peer's selection as the server
// holds it.
func (n *simNet) check() {
	n.t.Helper()
	s := n.srv
	seqs := make(map[string][]int)
	for _, e := range s.log {
		seqs[e.Client] = append(seqs[e.Client], e.Seq)
	}
	for i, c := range n.clients {
		m := c.m
		if !m.Synced() || !m.Joined() {
			n.t.Errorf("client %d: phase %v, joined %v: want synchronized and joined", i, m.Phase(), m.Joined())
		}
		if m.Rev() != len(s.log) || m.Text() != s.text {
			n.t.Errorf("client %d at revision %d has %q; server at %d has %q", i, m.Rev(), m.Text(), len(s.log), s.text)
		}
		want := make([]int, m.Seq())
		for k := range want {
			want[k] = k + 1
		}
		if got := seqs[m.Client()]; !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			n.t.Errorf("client %d: log seqs %v, want %v", i, got, want)
		}
		peers := m.Peers()
		sels := s.selections()
		for id, sel := range sels {
			if id == m.Client() {
				continue
			}
			p, ok := peers[id]
			if !ok {
				n.t.Errorf("client %d does not see peer %s", i, id)
				continue
			}
			if !slices.Equal(p.Sel, sel) && !(len(p.Sel) == 0 && len(sel) == 0) {
				n.t.Errorf("client %d sees %s at %v; server has %v", i, id, p.Sel, sel)
			}
		}
		if len(peers) != len(sels)-1 {
			n.t.Errorf("client %d sees %d peers, want %d", i, len(peers), len(sels)-1)
		}
	}
}

// selections returns the core's presence: each joined client's selection.
func (s *simServer) selections() map[string][]ot.Range {
	out := make(map[string][]ot.Range)
	for _, p := range s.core.People() {
		out[p.Client] = p.Sel
	}
	return out
}

func (s *simServer) leave(c *simClient) {
	if s.conns[c.id] != c {
		return
	}
	delete(s.conns, c.id)
	s.core.Leave(c.id)
	s.advance()
}

func (s *simServer) handle(t testing.TB, c *simClient, msg *wire.Message) {
	t.Helper()
	// A second per request: every presence change is due at once.
	s.now = s.now.Add(time.Second)
	s.core.Tick(s.now)
	switch msg.Type {
	case wire.TypeJoin:
		// As the server's edge does: the public id comes from the secret.
		msg.Client = simPublic(msg.Secret)
		j, err := session.ParseJoin(msg)
		if err != nil {
			t.Fatalf("server: join %+v: %v", msg, err)
		}
		j.Rights = session.Rights{Edit: true}
		s.next++
		c.id, c.joined = s.next, true
		s.conns[c.id] = c
		s.core.Join(c.id, j)
	case wire.TypeOp:
		s.core.Submit(c.id, session.Submit{Seq: msg.Seq, Rev: msg.Rev, Op: msg.Op})
	case wire.TypePresence:
		s.core.Cursor(c.id, session.Cursor{Rev: msg.Rev, Sel: msg.Sel})
	default:
		t.Fatalf("server: unexpected %s from %s", msg.Type, c.m.Client())
	}
	s.advance()
}

// advance carries out the core's Ready as the hub does. The scripted
// clients follow the protocol, so an error or a close fails the test.
func (s *simServer) advance() {
	s.t.Helper()
	for first := true; first || s.core.HasReady(); first = false {
		rd := s.core.Ready()
		for i, e := range rd.Entries {
			if e.Rev != len(s.log)+1 {
				s.t.Fatalf("server: entry %d has revision %d after %d", i, e.Rev, len(s.log))
			}
			s.log = append(s.log, e)
		}
		for _, msg := range rd.Messages {
			if bytes.Contains(msg.Data, []byte(`"type":"error"`)) && !(s.small && bytes.Contains(msg.Data, []byte(`"code":"stale"`))) {
				s.t.Fatalf("server refused a protocol-abiding client: %s", msg.Data)
			}
			for _, id := range msg.To {
				if c := s.conns[id]; c != nil {
					c.down = append(c.down, msg.Data)
				}
			}
		}
		for _, cl := range rd.Closes {
			c := s.conns[cl.Peer]
			if !s.small || cl.Code != wire.CloseTooSlow || c == nil {
				s.t.Fatalf("server closed %+v", cl)
			}
			c.down = append(c.down, closed)
			delete(s.conns, cl.Peer)
			s.stale++
		}
		for _, f := range rd.Fetches {
			s.fetches++
			s.core.Fetched(f.Peer, f.From, page(s.log[f.From-1:f.To], f.MaxBytes), nil)
		}
	}
	s.text = s.core.Text()
}

func toWire(sel []ot.Range) []wire.Range {
	out := make([]wire.Range, len(sel))
	for i, r := range sel {
		out[i] = wire.Range{r.Anchor, r.Head}
	}
	return out
}

// page cuts es to maxBytes as the store does: at least one entry.
func page(es []oplog.Entry, maxBytes int) []oplog.Entry {
	n := 0
	for i, e := range es {
		if i > 0 && n+e.Size() > maxBytes {
			return es[:i]
		}
		n += e.Size()
	}
	return es
}
