package client

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/wire"
)

// simNet is a scripted network: Machines, a server implementing the
// protocol's server algorithm (ot.js's Server plus de-duplication by
// (client, seq), catch-up and presence), and one FIFO queue per direction
// and client. Every message goes through JSON. The test decides what is
// delivered when.
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
}

type simEntry struct {
	op     ot.Op
	client string
	seq    int
}

type simServer struct {
	text   string
	log    []simEntry
	maxSeq map[string]int
	revOf  map[[2]any]int // (client, seq) → revision
	conns  map[string]*simClient
	sel    map[string][]ot.Range // presence of joined clients at the current revision
}

func newSimNet(t testing.TB, text string, ids ...string) *simNet {
	n := &simNet{t: t, srv: &simServer{
		text:   text,
		maxSeq: make(map[string]int),
		revOf:  make(map[[2]any]int),
		conns:  make(map[string]*simClient),
		sel:    make(map[string][]ot.Range),
	}}
	for _, id := range ids {
		n.clients = append(n.clients, &simClient{m: NewMachine(id, id, "#123")})
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
	c.connected, c.joined = true, false
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
		seqs[e.client] = append(seqs[e.client], e.seq)
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
		for id, sel := range s.sel {
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
		if len(peers) != len(s.sel)-1 {
			n.t.Errorf("client %d sees %d peers, want %d", i, len(peers), len(s.sel)-1)
		}
	}
}

func (s *simServer) send(t testing.TB, c *simClient, m *wire.Message) {
	c.down = append(c.down, encode(t, m))
}

func (s *simServer) broadcast(t testing.TB, except *simClient, m *wire.Message) {
	for _, c := range s.conns {
		if c != except {
			s.send(t, c, m)
		}
	}
}

func (s *simServer) leave(c *simClient) {
	id := c.m.Client()
	if s.conns[id] != c {
		return
	}
	delete(s.conns, id)
	delete(s.sel, id)
	for _, o := range s.conns {
		o.down = append(o.down, []byte(fmt.Sprintf(`{"type":"leave","client":%q}`, id)))
	}
}

func (s *simServer) handle(t testing.TB, c *simClient, msg *wire.Message) {
	t.Helper()
	id := c.m.Client()
	rev := len(s.log)
	switch msg.Type {
	case wire.TypeJoin:
		if msg.Rev != nil && *msg.Rev >= 0 && *msg.Rev <= rev {
			for k := *msg.Rev; k < rev; k++ {
				e := s.log[k]
				s.send(t, c, &wire.Message{Type: wire.TypeOp, Rev: wire.IntPtr(k + 1), Op: e.op, Client: e.client, Seq: wire.IntPtr(e.seq)})
			}
		} else {
			s.send(t, c, &wire.Message{Type: wire.TypeSnapshot, Rev: wire.IntPtr(rev), Text: &s.text})
		}
		peers := []wire.Peer{}
		for pid, sel := range s.sel {
			if pid != id {
				peers = append(peers, wire.Peer{Client: pid, Name: pid, Color: "#123", Sel: toWire(sel)})
			}
		}
		s.conns[id], s.sel[id], c.joined = c, []ot.Range{}, true
		s.send(t, c, &wire.Message{Type: wire.TypeJoined, Rev: wire.IntPtr(rev), Seq: wire.IntPtr(s.maxSeq[id]), Peers: peers})
		s.broadcast(t, c, &wire.Message{Type: wire.TypePresence, Client: id, Name: id, Color: "#123", Rev: wire.IntPtr(rev), Sel: []wire.Range{}})
	case wire.TypeOp:
		if !c.joined {
			t.Fatalf("server: op from %s before its join", id)
		}
		seq := *msg.Seq
		if seq <= s.maxSeq[id] { // de-duplication comes first
			s.send(t, c, &wire.Message{Type: wire.TypeAck, Seq: wire.IntPtr(seq), Rev: wire.IntPtr(s.revOf[[2]any{id, seq}])})
			return
		}
		if seq != s.maxSeq[id]+1 {
			t.Fatalf("server: %s sent seq %d after %d", id, seq, s.maxSeq[id])
		}
		if *msg.Rev < 0 || *msg.Rev > rev {
			t.Fatalf("server: %s sent an op at revision %d; current %d", id, *msg.Rev, rev)
		}
		op := msg.Op
		for _, e := range s.log[*msg.Rev:] {
			var err error
			if op, _, err = ot.Transform(op, e.op); err != nil {
				t.Fatalf("server: %s's op %d %v at revision %d: %v", id, seq, msg.Op, *msg.Rev, err)
			}
		}
		text, err := ot.Apply(s.text, op)
		if err != nil {
			t.Fatalf("server: apply %s's op %d %v to %q: %v", id, seq, op, s.text, err)
		}
		s.text = text
		s.log = append(s.log, simEntry{op: op, client: id, seq: seq})
		s.maxSeq[id] = seq
		s.revOf[[2]any{id, seq}] = rev + 1
		for k, sel := range s.sel {
			s.sel[k] = ot.TransformSelection(sel, op)
		}
		s.send(t, c, &wire.Message{Type: wire.TypeAck, Seq: wire.IntPtr(seq), Rev: wire.IntPtr(rev + 1)})
		s.broadcast(t, c, &wire.Message{Type: wire.TypeOp, Rev: wire.IntPtr(rev + 1), Op: op, Client: id, Seq: wire.IntPtr(seq)})
	case wire.TypePresence:
		if !c.joined {
			t.Fatalf("server: presence from %s before its join", id)
		}
		at := *msg.Rev
		n := ot.Len(s.text)
		if at < rev {
			n = s.log[at].op.BaseLen()
		}
		sel := make([]ot.Range, len(msg.Sel))
		for k, r := range msg.Sel {
			if r[0] < 0 || r[1] < 0 || r[0] > n || r[1] > n {
				t.Fatalf("server: %s's presence %v is outside revision %d (length %d)", id, msg.Sel, at, n)
			}
			sel[k] = ot.Range{Anchor: r[0], Head: r[1]}
		}
		for _, e := range s.log[at:] {
			sel = ot.TransformSelection(sel, e.op)
		}
		s.sel[id] = sel
		s.broadcast(t, c, &wire.Message{Type: wire.TypePresence, Client: id, Name: id, Color: "#123", Rev: wire.IntPtr(rev), Sel: toWire(sel)})
	default:
		t.Fatalf("server: unexpected %s from %s", msg.Type, id)
	}
}

func toWire(sel []ot.Range) []wire.Range {
	out := make([]wire.Range, len(sel))
	for i, r := range sel {
		out[i] = wire.Range{r.Anchor, r.Head}
	}
	return out
}
