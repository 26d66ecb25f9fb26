package client

import (
	"errors"
	"fmt"
	"slices"

	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/wire"
)

// ErrProtocol: the server sent something the protocol does not allow (a
// revision gap, an acknowledgement of an op never sent, an op that does not
// fit the text). The local state is left as it was before the message.
var ErrProtocol = errors.New("server broke the protocol")

// ErrNoDocument: an edit was made before the first snapshot arrived (or
// after a resync dropped the document and before the new snapshot).
var ErrNoDocument = errors.New("no document yet")

// Phase says where a Machine stands with its local edits; the three states
// of ot.js's client.
type Phase int

const (
	// Synchronized: every local edit is acknowledged.
	Synchronized Phase = iota
	// AwaitingConfirm: one op is in flight, nothing else is pending.
	AwaitingConfirm
	// AwaitingWithBuffer: one op is in flight and later edits wait,
	// composed into one buffer, for its acknowledgement.
	AwaitingWithBuffer
)

func (p Phase) String() string {
	switch p {
	case Synchronized:
		return "synchronized"
	case AwaitingConfirm:
		return "awaiting confirm"
	case AwaitingWithBuffer:
		return "awaiting with buffer"
	}
	return fmt.Sprintf("Phase(%d)", int(p))
}

// Peer is another client's presence. Its selections are in the positions
// of the local text.
type Peer struct {
	Client string
	Name   string
	Color  string
	Sel    []ot.Range
}

// ServerError is an error message from the server.
type ServerError struct {
	Code    string // a wire.Code* value
	Message string
	Seq     int // the refused op's seq, 0 when the refusal was not about an op
}

func (e *ServerError) Error() string {
	if e.Seq > 0 {
		return fmt.Sprintf("server refused op %d: %s: %s", e.Seq, e.Code, e.Message)
	}
	return fmt.Sprintf("server error %s: %s", e.Code, e.Message)
}

// Event tells the driver of a Machine what a received message did.
type Event struct {
	// Remote: a remote op was applied to the local text; Op is that op as
	// applied locally (transformed past the local pending edits).
	Remote bool
	Op     ot.Op
	// Acked is the seq of the local op this message acknowledged, or 0.
	Acked int
	// Joined: the join completed; the Machine is connected.
	Joined bool
	// Lost: a snapshot replaced the text while local edits were pending;
	// LostOp is what was dropped, as one op on the text before the
	// snapshot at the revision the edits were based on.
	Lost   bool
	LostOp ot.Op
	// Error is the server's error message, if the message was one.
	Error *ServerError
}

// Machine is the client side of the protocol as a plain value: the local
// text and revision, the op in flight and the buffer of later edits (ot.js's
// Synchronized / AwaitingConfirm / AwaitingWithBuffer), the client's
// selection and the peers' presence. It does no I/O: the caller feeds it
// server messages (Receive) and local edits (Edit, SetSelection), and sends
// what Outbox returns on the current connection. The caller marks
// connection boundaries with Join and Disconnected.
//
// The zero value is not usable; call NewMachine. A Machine is not safe for
// concurrent use.
type Machine struct {
	// client is the public id the server gave this client ("" until the
	// first joined); secret is what the client joins with, the server's
	// proof that it is that client ("" until issued, unless chosen).
	client, secret string
	name, color    string

	// doc is the local text: the server's text at rev, then the op in
	// flight, then the buffer. Both ops are kept based on rev, as in ot.js.
	// A rope, so that a keystroke costs about the same on any length of
	// text; text caches doc.String() for Text until the next change.
	doc    *ot.Doc
	text   string
	textOK bool
	rev    int
	hasDoc bool // a snapshot arrived: a rejoin asks for catch-up from rev
	seq    int  // highest seq given to an op

	phase     Phase
	flight    ot.Op // the op in flight, with seq flightSeq
	flightSeq int   // 0 until first sent
	buffer    ot.Op // local edits made while flight is unacknowledged

	sentRev int   // the revision the op in flight was first sent at
	sentOp  ot.Op // the op in flight as first sent

	joining bool // join queued, joined not yet received
	joined  bool // connected: ops and presence may be sent

	sel      []ot.Range // own selection, local positions
	selDirty bool       // sel changed since last sent

	peers  map[string]*Peer // selections at the server's revision rev
	outbox []*wire.Message

	resend resendRule // always resendSameSeq, except in tests
}

// resendRule is how the op in flight is sent again after a rejoin. Only
// resendSameSeq is the protocol's; tests set the others to check that the
// protocol scripts in testdata/protocol catch a wrong rule.
type resendRule int

const (
	resendSameSeq  resendRule = iota // same seq, at the current revision
	resendFreshSeq                   // wrong: a new seq, as for a new op
	resendOldRev                     // wrong: the op as first sent, at its first revision
)

// NewMachine returns a Machine with the name and colour announced in its
// joins. secret is the client's secret ([A-Za-z0-9_-]{22,64}), or "" for
// one issued by the server on the first join.
func NewMachine(secret, name, color string) *Machine {
	return &Machine{secret: secret, name: name, color: color, doc: ot.NewDoc(""), textOK: true, sel: []ot.Range{}, peers: make(map[string]*Peer)}
}

// Client returns the client's public id, as the server gave it in the
// last joined ("" before).
func (m *Machine) Client() string { return m.client }

// Secret returns the secret the client joins with ("" before the server
// issued one).
func (m *Machine) Secret() string { return m.secret }

// Text returns the local text. It is built from the rope the first time it
// is asked for after a change, so it costs a copy of the text then; Len does
// not.
func (m *Machine) Text() string {
	if !m.textOK {
		m.text, m.textOK = m.doc.String(), true
	}
	return m.text
}

// Len returns the length of the local text in UTF-16 code units.
func (m *Machine) Len() int { return m.doc.Len() }

// changed drops the cached text after an edit of doc.
func (m *Machine) changed() { m.text, m.textOK = "", false }

// Rev returns the server revision the local text is based on: the last
// revision received.
func (m *Machine) Rev() int { return m.rev }

// Seq returns the highest seq given to a local op so far: an op gets its
// seq when first sent.
func (m *Machine) Seq() int { return m.seq }

// Phase returns the state of the local edits.
func (m *Machine) Phase() Phase { return m.phase }

// Synced reports whether the Machine has a document and no local edit
// waits for the server. After a Reset it is false until the snapshot.
func (m *Machine) Synced() bool { return m.phase == Synchronized && m.hasDoc }

// HasDocument reports whether a snapshot arrived since the Machine was
// created or reset.
func (m *Machine) HasDocument() bool { return m.hasDoc }

// Joined reports whether the current connection has completed its join.
func (m *Machine) Joined() bool { return m.joined }

// Selection returns the client's own selection in local positions.
func (m *Machine) Selection() []ot.Range { return slices.Clone(m.sel) }

// Peers returns the other clients' presence, with selections moved to the
// local text (through the op in flight and the buffer).
func (m *Machine) Peers() map[string]Peer {
	out := make(map[string]Peer, len(m.peers))
	for id, p := range m.peers {
		q := *p
		q.Sel = m.toLocal(p.Sel)
		out[id] = q
	}
	return out
}

func (m *Machine) toLocal(sel []ot.Range) []ot.Range {
	switch m.phase {
	case AwaitingConfirm:
		sel = ot.TransformSelection(sel, m.flight)
	case AwaitingWithBuffer:
		sel = ot.TransformSelection(ot.TransformSelection(sel, m.flight), m.buffer)
	default:
		sel = slices.Clone(sel)
	}
	return sel
}

// Outbox returns the messages to send on the current connection, in order,
// and forgets them.
func (m *Machine) Outbox() []*wire.Message {
	out := m.outbox
	m.outbox = nil
	return out
}

// Join starts a connection: it returns the join message to send first.
// After a first snapshot the join asks for catch-up from Rev; pending ops
// are sent again once the join completes.
func (m *Machine) Join() *wire.Message {
	m.joining, m.joined, m.outbox = true, false, nil
	msg := &wire.Message{Type: wire.TypeJoin, Secret: m.secret, Name: m.name, Color: m.color}
	if m.hasDoc {
		msg.Rev = wire.IntPtr(m.rev)
	}
	return msg
}

// Disconnected marks the end of the current connection. Unsent messages are
// dropped; the pending edits stay and go out after the next join.
func (m *Machine) Disconnected() {
	m.joining, m.joined, m.outbox = false, false, nil
}

// Closed marks the end of the current connection, which the server closed
// with code (0 when it ended without a close frame), and returns what to
// do next: the code's action in the table wire/closecodes.json, read with
// wire.CloseAction. For wire.ActionResync the pending edits are dropped as
// by Reset and returned (ok false if there were none); for every other
// action they stay and go out after the next join.
func (m *Machine) Closed(code int) (act wire.Action, lost ot.Op, ok bool) {
	m.Disconnected()
	act = wire.CloseAction(code)
	if act == wire.ActionResync {
		lost, ok = m.Reset()
	}
	return act, lost, ok
}

// Reset forgets the document, for a resync: the pending edits are dropped
// (returned as one op on the text at the old revision, ok false if there
// were none) and the next Join asks for a snapshot.
func (m *Machine) Reset() (lost ot.Op, ok bool) {
	lost, ok = m.dropPending()
	m.hasDoc = false
	return lost, ok
}

func (m *Machine) dropPending() (ot.Op, bool) {
	var lost ot.Op
	switch m.phase {
	case Synchronized:
		return nil, false
	case AwaitingConfirm:
		lost = m.flight
	case AwaitingWithBuffer:
		var err error
		if lost, err = ot.Compose(m.flight, m.buffer); err != nil {
			lost = m.flight // cannot happen: the buffer follows the flight
		}
	}
	m.phase, m.flight, m.flightSeq, m.buffer = Synchronized, nil, 0, nil
	return lost, true
}

// Edit applies a local op, made against Text(), to the local text and
// queues it: sent at once when nothing is in flight, otherwise composed into
// the buffer. A no-op changes nothing and is not sent.
func (m *Machine) Edit(op ot.Op) error {
	if !m.hasDoc {
		return ErrNoDocument
	}
	// Everything that can fail comes before the text changes: Doc.Apply
	// leaves the text as it was on error, and the buffer is composed first.
	var buffer ot.Op
	if m.phase == AwaitingWithBuffer && op.BaseLen() == m.doc.Len() {
		var err error
		if buffer, err = ot.Compose(m.buffer, op); err != nil {
			return fmt.Errorf("local edit: compose with the buffer: %w", err)
		}
	}
	if err := m.doc.Apply(op); err != nil {
		return fmt.Errorf("local edit: %w", err)
	}
	if op.IsNoop() {
		return nil
	}
	m.changed()
	switch m.phase {
	case Synchronized:
		m.phase, m.flight, m.flightSeq = AwaitingConfirm, op, 0
		m.sendFlight()
	case AwaitingConfirm:
		m.phase, m.buffer = AwaitingWithBuffer, op
	case AwaitingWithBuffer:
		m.buffer = buffer
	}
	m.sel = ot.TransformSelection(m.sel, op)
	return nil
}

// Carrier returns the seq of the op that carries the latest local edit:
// the op in flight's (or the one it will get when sent), or, while a buffer
// waits behind it, the next seq. It is 0 when nothing is pending. An
// acknowledgement of that seq (Event.Acked) means the edit is applied.
func (m *Machine) Carrier() int {
	flight := m.flightSeq
	if flight == 0 {
		flight = m.seq + 1
	}
	switch m.phase {
	case AwaitingConfirm:
		return flight
	case AwaitingWithBuffer:
		return flight + 1
	}
	return 0
}

// SetSelection sets the client's selections, in positions of Text(); nil
// or empty means no cursor. They are sent at once while synchronized,
// otherwise (the latest only) once synchronized again.
func (m *Machine) SetSelection(sel []ot.Range) error {
	if len(sel) > wire.MaxRanges {
		return fmt.Errorf("selection has %d ranges; at most %d", len(sel), wire.MaxRanges)
	}
	n := m.doc.Len()
	for i, r := range sel {
		if r.Anchor < 0 || r.Head < 0 || r.Anchor > n || r.Head > n {
			return fmt.Errorf("range %d [%d, %d] is outside the text (length %d)", i, r.Anchor, r.Head, n)
		}
	}
	m.sel = append(make([]ot.Range, 0, len(sel)), sel...)
	m.selDirty = true
	m.sendPresence()
	return nil
}

// sendFlight queues the op in flight if connected. It gets its seq when
// first sent, so that an op never sent can follow whatever the server has.
func (m *Machine) sendFlight() {
	if !m.joined {
		return
	}
	op := m.flight
	if op == nil {
		op = ot.Op{} // "op": [] on the wire, never absent
	}
	if m.flightSeq == 0 {
		m.seq++
		m.flightSeq = m.seq
		m.sentRev, m.sentOp = m.rev, op
	}
	m.outbox = append(m.outbox, &wire.Message{Type: wire.TypeOp, Rev: wire.IntPtr(m.rev), Seq: wire.IntPtr(m.flightSeq), Op: op})
}

// resendFlight sends the op in flight after a rejoin: with the seq it was
// first sent with (or its first seq if it was never sent), as transformed
// through the catch-up, at the current revision. The other rules exist
// only for tests.
func (m *Machine) resendFlight() {
	if m.flightSeq != 0 {
		switch m.resend {
		case resendFreshSeq:
			m.flightSeq = 0
		case resendOldRev:
			m.outbox = append(m.outbox, &wire.Message{Type: wire.TypeOp, Rev: wire.IntPtr(m.sentRev), Seq: wire.IntPtr(m.flightSeq), Op: m.sentOp})
			return
		}
	}
	m.sendFlight()
}

// sendPresence queues the selection if it changed and the protocol allows
// it now (joined and synchronized).
func (m *Machine) sendPresence() {
	if !m.selDirty || !m.joined || m.phase != Synchronized {
		return
	}
	sel := make([]wire.Range, len(m.sel))
	for i, r := range m.sel {
		sel[i] = wire.Range{r.Anchor, r.Head}
	}
	m.outbox = append(m.outbox, &wire.Message{Type: wire.TypePresence, Rev: wire.IntPtr(m.rev), Sel: sel})
	m.selDirty = false
}

// serverLen is the length of the server's text at rev.
func (m *Machine) serverLen() int {
	if m.phase != Synchronized {
		return m.flight.BaseLen()
	}
	return m.doc.Len()
}

func protocolErr(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrProtocol)
}

// Receive handles one server message. An error wraps ErrProtocol and
// leaves the Machine as it was; the connection should then be dropped.
// Unknown message types are ignored.
func (m *Machine) Receive(msg *wire.Message) (Event, error) {
	switch msg.Type {
	case wire.TypeSnapshot:
		return m.snapshot(msg)
	case wire.TypeOp:
		return m.op(msg)
	case wire.TypeAck:
		if msg.Seq == nil || msg.Rev == nil {
			return Event{}, protocolErr("ack without seq or rev")
		}
		if m.phase == Synchronized || *msg.Seq != m.flightSeq {
			return Event{}, protocolErr("ack of op %d, but the op in flight is %d", *msg.Seq, m.flightSeq)
		}
		return m.ack(*msg.Rev, m.flight)
	case wire.TypeJoined:
		return m.joinedMsg(msg)
	case wire.TypePresence:
		m.presence(msg)
		return Event{}, nil
	case wire.TypeLeave:
		delete(m.peers, msg.Client)
		return Event{}, nil
	case wire.TypeError:
		e := &ServerError{Code: msg.Code, Message: msg.Message}
		if msg.Seq != nil {
			e.Seq = *msg.Seq
		}
		return Event{Error: e}, nil
	}
	return Event{}, nil
}

func (m *Machine) snapshot(msg *wire.Message) (Event, error) {
	if !m.joining {
		return Event{}, protocolErr("snapshot outside a join")
	}
	if msg.Rev == nil || msg.Text == nil {
		return Event{}, protocolErr("snapshot without rev or text")
	}
	var ev Event
	ev.LostOp, ev.Lost = m.dropPending()
	m.doc, m.text, m.textOK = ot.NewDoc(*msg.Text), *msg.Text, true
	m.rev, m.hasDoc = *msg.Rev, true
	clear(m.peers)
	n := m.doc.Len()
	for i, r := range m.sel {
		m.sel[i] = ot.Range{Anchor: min(r.Anchor, n), Head: min(r.Head, n)}
	}
	return ev, nil
}

func (m *Machine) op(msg *wire.Message) (Event, error) {
	if msg.Rev == nil || msg.Op == nil {
		return Event{}, protocolErr("op without rev or op")
	}
	if !m.hasDoc {
		return Event{}, protocolErr("op before any snapshot")
	}
	if rev := *msg.Rev; rev != m.rev+1 {
		return Event{}, protocolErr("op of revision %d after revision %d", rev, m.rev)
	}
	if msg.Client == m.client {
		// During catch-up the client's own op comes back as an op: it
		// acts as the acknowledgement that was lost with the connection.
		if m.phase == Synchronized || msg.Seq == nil || *msg.Seq != m.flightSeq {
			return Event{}, protocolErr("own op %v at revision %d, but the op in flight is %d", msg.Seq, *msg.Rev, m.flightSeq)
		}
		return m.ack(*msg.Rev, msg.Op)
	}
	// ot.js: transform(pending, serverOp) for the flight, then the buffer;
	// what is left of the server op applies to the local text.
	op := msg.Op
	flight, buffer := m.flight, m.buffer
	var err error
	if m.phase != Synchronized {
		if flight, op, err = ot.Transform(flight, op); err != nil {
			return Event{}, protocolErr("op of revision %d does not fit the op in flight: %v", *msg.Rev, err)
		}
	}
	if m.phase == AwaitingWithBuffer {
		if buffer, op, err = ot.Transform(buffer, op); err != nil {
			return Event{}, protocolErr("op of revision %d does not fit the buffer: %v", *msg.Rev, err)
		}
	}
	if err := m.doc.Apply(op); err != nil { // leaves the text alone on error
		return Event{}, protocolErr("op of revision %d does not apply: %v", *msg.Rev, err)
	}
	if !op.IsNoop() {
		m.changed()
	}
	for _, p := range m.peers {
		p.Sel = ot.TransformSelection(p.Sel, msg.Op)
	}
	m.rev, m.flight, m.buffer = *msg.Rev, flight, buffer
	m.sel = ot.TransformSelection(m.sel, op)
	return Event{Remote: true, Op: op}, nil
}

// ack moves the states on when the op in flight became revision rev (op is
// that op as the server applied it).
func (m *Machine) ack(rev int, op ot.Op) (Event, error) {
	if rev != m.rev+1 {
		return Event{}, protocolErr("op %d acknowledged as revision %d after revision %d", m.flightSeq, rev, m.rev)
	}
	ev := Event{Acked: m.flightSeq}
	m.rev = rev
	for _, p := range m.peers {
		p.Sel = ot.TransformSelection(p.Sel, op)
	}
	if m.phase == AwaitingWithBuffer {
		m.phase, m.flight, m.flightSeq, m.buffer = AwaitingConfirm, m.buffer, 0, nil
		m.sendFlight()
		return ev, nil
	}
	m.phase, m.flight, m.flightSeq = Synchronized, nil, 0
	m.sendPresence()
	return ev, nil
}

func (m *Machine) joinedMsg(msg *wire.Message) (Event, error) {
	if !m.joining {
		return Event{}, protocolErr("joined outside a join")
	}
	if msg.Rev == nil || msg.Seq == nil {
		return Event{}, protocolErr("joined without rev or seq")
	}
	if msg.Client == "" || !wire.ValidSecret(msg.Secret) {
		return Event{}, protocolErr("joined without the client's public id and secret")
	}
	if m.secret != "" && msg.Secret != m.secret {
		return Event{}, protocolErr("joined with a secret the client did not join with")
	}
	if !m.hasDoc {
		return Event{}, protocolErr("joined with neither snapshot nor catch-up")
	}
	if *msg.Rev != m.rev {
		return Event{}, protocolErr("joined at revision %d after catch-up to %d", *msg.Rev, m.rev)
	}
	seq := *msg.Seq
	if m.flightSeq != 0 && m.flightSeq != seq+1 {
		return Event{}, protocolErr("joined says op %d is the latest applied, but the op in flight is %d", seq, m.flightSeq)
	}
	m.joining, m.joined = false, true
	// The identity is kept for every later join: own ops in a catch-up are
	// recognised by the public id.
	m.client, m.secret = msg.Client, msg.Secret
	if m.flightSeq == 0 {
		m.seq = seq // the server's count is the truth; ours may be stale
	}
	clear(m.peers)
	for _, p := range msg.Peers {
		if p.Client == m.client {
			continue
		}
		m.peers[p.Client] = &Peer{Client: p.Client, Name: p.Name, Color: p.Color, Sel: m.clamp(p.Sel)}
	}
	// The op in flight was not applied (its own op would have come back
	// during catch-up): send it, again with the same seq if it was sent
	// before, now based on the current revision.
	if m.phase != Synchronized {
		m.resendFlight()
	}
	// The server knows the newcomer without a cursor; send ours if any.
	if len(m.sel) > 0 {
		m.selDirty = true
	}
	m.sendPresence()
	return Event{Joined: true}, nil
}

// clamp converts wire ranges to the server's text at rev, clamping
// positions into it.
func (m *Machine) clamp(sel []wire.Range) []ot.Range {
	n := m.serverLen()
	out := make([]ot.Range, len(sel))
	for i, r := range sel {
		out[i] = ot.Range{Anchor: max(0, min(r[0], n)), Head: max(0, min(r[1], n))}
	}
	return out
}

func (m *Machine) presence(msg *wire.Message) {
	if msg.Client == m.client || msg.Client == "" {
		return
	}
	p := m.peers[msg.Client]
	if p == nil {
		p = &Peer{Client: msg.Client, Sel: []ot.Range{}}
		m.peers[msg.Client] = p
	}
	if msg.Name != "" {
		p.Name = msg.Name
	}
	if msg.Color != "" {
		p.Color = msg.Color
	}
	if msg.Sel != nil {
		// The server relays presence at the revision the client has just
		// reached; clamping only guards against a server that does not.
		p.Sel = m.clamp(msg.Sel)
	}
}
