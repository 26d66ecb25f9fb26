package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/gorilla/websocket"

	"github.com/tandem-editor/tandem/client"
	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/wire"
)

// Limits of the server in the hostile-client test: small, so that
// oversized messages and documents are cheap to make.
const (
	hostileMaxMessage = 16 << 10
	hostileMaxDoc     = 4096
	// goodMaxLen: the good clients delete more than they insert beyond it,
	// keeping far from hostileMaxDoc.
	goodMaxLen = 1000
)

// hostileSeed returns TANDEM_HOSTILE_SEED if set (to replay a failure),
// else a fresh seed.
func hostileSeed(t *testing.T) uint64 {
	if s := os.Getenv("TANDEM_HOSTILE_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("TANDEM_HOSTILE_SEED=%q: %v", s, err)
		}
		return n
	}
	return uint64(time.Now().UnixNano())
}

// TestHostileClient: while three well-behaved clients edit a document, a
// fourth connection sends a seeded random mix of malformed, out-of-order
// and out-of-range messages. Every answer must be the documented error with
// the documented consequence (socket open, or the close code of
// wire.CloseFor), never an internal error; afterwards the good clients
// agree with the server, the log holds exactly the acknowledged ops, and
// the server still serves new joins.
func TestHostileClient(t *testing.T) {
	seed := hostileSeed(t)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replay with TANDEM_HOSTILE_SEED=%d", seed)
		}
	})
	const (
		maxMessages = 2000
		budget      = 20 * time.Second
	)
	srv, ts := newTestServer(t, func(c *testConfig) {
		c.RateLimit = -1
		c.MaxMessage = hostileMaxMessage
		c.Session.MaxDocLen = hostileMaxDoc
	})
	id := createDoc(t, ts)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	goods := make([]*client.Client, 3)
	for i := range goods {
		c, err := client.Dial(ctx, client.Config{
			URL: ts.URL, Doc: id, Name: "Good " + strconv.Itoa(i),
			Color: "#3a3", Logger: testLogger(), MaxReconnects: 5,
		})
		if err != nil {
			t.Fatalf("seed %d: dial good client %d: %v", seed, i, err)
		}
		defer c.Close()
		goods[i] = c
	}
	stop := make(chan struct{})
	var stopOnce sync.Once
	halt := func() { stopOnce.Do(func() { close(stop) }) }
	defer halt() // on failure too: the editors end before their clients close
	var wg sync.WaitGroup
	editErrs := make([]error, len(goods))
	for i, c := range goods {
		wg.Add(1)
		go func() { // ends at stop or after its edits
			defer wg.Done()
			editErrs[i] = goodEditor(c, rand.New(rand.NewPCG(seed, uint64(i)+1)), stop, 1500)
		}()
	}

	h := &hostile{
		t: t, ts: ts, doc: id, seed: seed, rng: rand.New(rand.NewPCG(seed, 0)),
		texts: map[int]string{0: ""}, ids: map[string]*hostileID{}, names: map[string]string{}, outcomes: map[string]int{},
	}
	h.run(maxMessages, budget)
	halt()
	wg.Wait()
	h.hangUp()

	for i, err := range editErrs {
		if err != nil {
			t.Fatalf("seed %d: good client %d: edit: %v", seed, i, err)
		}
	}
	for i, c := range goods {
		if err := c.WaitSynced(ctx); err != nil {
			t.Fatalf("seed %d: good client %d: %v", seed, i, err)
		}
	}
	text, rev := docText(t, ts, id)
	for i, c := range goods {
		if err := c.WaitRev(ctx, rev); err != nil {
			t.Fatalf("seed %d: good client %d waiting for revision %d: %v", seed, i, rev, err)
		}
		if got := c.Text(); got != text || c.Rev() != rev {
			t.Fatalf("seed %d: good client %d has %q at %d; the server has %q at %d", seed, i, got, c.Rev(), text, rev)
		}
		if err := c.Err(); err != nil {
			t.Fatalf("seed %d: good client %d stopped: %v", seed, i, err)
		}
	}

	// The log: every good client's seqs 1..Seq() once, the hostile ids'
	// acknowledged ops exactly, nothing else, revisions 1..rev.
	log := allOps(t, ts, id)
	if len(log) != rev {
		t.Fatalf("seed %d: log has %d entries, the document is at %d", seed, len(log), rev)
	}
	seqs := map[string]map[int]int{}
	for i, e := range log {
		if e.Rev != i+1 {
			t.Fatalf("seed %d: log entry %d has revision %d", seed, i, e.Rev)
		}
		if seqs[e.Client] == nil {
			seqs[e.Client] = map[int]int{}
		}
		if r, dup := seqs[e.Client][e.Seq]; dup {
			t.Fatalf("seed %d: (%s, %d) applied twice: revisions %d and %d", seed, e.Client, e.Seq, r, e.Rev)
		}
		seqs[e.Client][e.Seq] = e.Rev
	}
	for i, c := range goods {
		got := seqs[c.ID()]
		for s := 1; s <= c.Seq(); s++ {
			if _, ok := got[s]; !ok {
				t.Fatalf("seed %d: good client %d: seq %d is not in the log", seed, i, s)
			}
		}
		if len(got) != c.Seq() {
			t.Fatalf("seed %d: good client %d: %d log entries, want %d", seed, i, len(got), c.Seq())
		}
		delete(seqs, c.ID())
	}
	public := map[string]string{}
	for pub, name := range h.names {
		public[name] = pub
	}
	for name, hid := range h.ids {
		got := seqs[public[name]]
		if len(got) != len(hid.revOf) {
			t.Fatalf("seed %d: hostile id %s: %d log entries, %d acknowledged", seed, name, len(got), len(hid.revOf))
		}
		for s, r := range hid.revOf {
			if got[s] != r {
				t.Fatalf("seed %d: hostile id %s seq %d: log says revision %d, ack said %d", seed, name, s, got[s], r)
			}
		}
		delete(seqs, public[name])
	}
	for name, got := range seqs {
		t.Fatalf("seed %d: the log has %d ops of unknown client %q", seed, len(got), name)
	}

	// A newcomer is served.
	late := dial(t, ts, id)
	before, joined := late.join("late", nil)
	if len(before) != 1 || before[0].Type != wire.TypeSnapshot || *before[0].Text != text || *joined.Rev != rev {
		t.Fatalf("seed %d: a join after the storm got %+v then %+v", seed, before, joined)
	}
	if st, _, _ := srv.sessions.Stats(); st.StoreErrors != 0 {
		t.Fatalf("seed %d: %d store errors", seed, st.StoreErrors)
	}
	t.Logf("seed %d: %d hostile messages over %d connections, %d hostile ops applied, final revision %d; outcomes %v",
		seed, h.sent, h.dials, h.applied, rev, h.outcomes)
}

// goodEditor makes up to max random edits (and sometimes moves its cursor)
// until stop is closed.
func goodEditor(c *client.Client, rng *rand.Rand, stop <-chan struct{}, max int) error {
	for range max {
		select {
		case <-stop:
			return nil
		default:
		}
		if err := c.Edit(func(text string) ot.Op { return randomEdit(rng, text) }); err != nil {
			return err
		}
		if rng.IntN(4) == 0 {
			// The text may change before the call: an out-of-range
			// selection is refused locally, which is not what is tested.
			c.SetSelection(randomSel(rng, c.Text()))
		}
		time.Sleep(time.Duration(1+rng.IntN(5)) * time.Millisecond)
	}
	return nil
}

// boundaries returns the UTF-16 offsets of text's code point boundaries,
// 0 and the length included.
func boundaries(text string) []int {
	b := []int{0}
	n := 0
	for _, r := range text {
		n += utf16.RuneLen(r)
		b = append(b, n)
	}
	return b
}

// pairs returns the UTF-16 offsets at which text's surrogate pairs start.
func pairs(text string) []int {
	var out []int
	n := 0
	for _, r := range text {
		if utf16.RuneLen(r) == 2 {
			out = append(out, n)
		}
		n += utf16.RuneLen(r)
	}
	return out
}

var pieces = []string{"a", "b", "é", "中", "😀", "🎉", "\n", " ", "xyz", "Ω"}

func randomInsert(rng *rand.Rand) string {
	var b strings.Builder
	for range 1 + rng.IntN(3) {
		b.WriteString(pieces[rng.IntN(len(pieces))])
	}
	return b.String()
}

// randomEdit returns a valid op on text: a delete and an insert at code
// point boundaries, deleting more once the text is long.
func randomEdit(rng *rand.Rand, text string) ot.Op {
	b := boundaries(text)
	n := b[len(b)-1]
	i := rng.IntN(len(b))
	j := i
	if len(b)-1 > i && (rng.IntN(3) == 0 || n > goodMaxLen) {
		j = i + 1 + rng.IntN(min(len(b)-1-i, 40))
	}
	var op ot.Op
	op.Retain(b[i])
	if n <= goodMaxLen || rng.IntN(4) == 0 {
		op.Insert(randomInsert(rng))
	}
	op.Delete(b[j] - b[i])
	op.Retain(n - b[j])
	return op
}

// randomSel returns up to 3 ranges anywhere in text, inside surrogate
// pairs included.
func randomSel(rng *rand.Rand, text string) []ot.Range {
	n := ot.Len(text)
	sel := make([]ot.Range, rng.IntN(4))
	for i := range sel {
		sel[i] = ot.Range{Anchor: rng.IntN(n + 1), Head: rng.IntN(n + 1)}
	}
	return sel
}

// allOps reads the whole log through /ops, page by page.
func allOps(t *testing.T, ts *httptest.Server, id string) []entryJSON {
	t.Helper()
	var out []entryJSON
	for page := 0; page < 1000; page++ {
		code, body := do(t, "GET", ts.URL+"/api/docs/"+id+"/ops?from="+strconv.Itoa(len(out)+1), "")
		if code != http.StatusOK {
			t.Fatalf("ops: status %d: %s", code, body)
		}
		var es []entryJSON
		if err := json.Unmarshal(body, &es); err != nil {
			t.Fatalf("ops: %v", err)
		}
		if len(es) == 0 {
			return out
		}
		out = append(out, es...)
	}
	t.Fatalf("ops: more than 1000 pages")
	return nil
}

// hostile drives the misbehaving connection. It sends one message at a
// time followed by a probe, a presence with revision -1 that is answered
// (not_joined or bad_presence) after everything the message caused, on
// the socket's reader or by the hub, and reads up to the probe's answer
// or the close.
type hostile struct {
	t    *testing.T
	ts   *httptest.Server
	doc  string
	seed uint64
	rng  *rand.Rand

	ws     *websocket.Conn // nil between connections
	joined bool
	id     string // the client id of the current join
	// rev: the latest revision seen, in order and without gaps while
	// joined; texts the text at revisions seen or fetched.
	rev   int
	texts map[int]string
	ids   map[string]*hostileID
	names map[string]string // public id (from joined) -> the name ids is keyed by

	sent, dials, applied int
	outcomes             map[string]int
	trail                []string // the latest steps, for failure reports
}

// hostileID is what the hostile side knows of one of its client ids.
type hostileID struct {
	highest int
	revOf   map[int]int // seq -> revision of every op applied
}

// step is one hostile message with the outcomes it may have.
type step struct {
	desc   string
	frames [][]byte // text frames sent back to back (several for a burst)
	binary bool
	// want holds the acceptable outcomes: "open" (no answer), "ack" (as
	// many fresh acks as frames), "dup" (an ack of seq dupSeq again),
	// "join" (a snapshot or catch-up, then joined), "close1009" (closed
	// without an error), or an error code (that error, then the close
	// code wire.CloseFor gives, or the socket stays open).
	want   []string
	dupSeq int
	// probeLike: the message itself may be answered like the probe
	// (not_joined, or bad_presence for a bad revision).
	probeLike bool
	// For a join: its client id and the revision the catch-up starts
	// from (nil: a snapshot comes).
	joinID   string
	joinFrom *int
}

const probe = `{"type":"presence","rev":-1,"sel":[]}`

func (h *hostile) failf(format string, args ...any) {
	h.t.Helper()
	h.t.Fatalf("seed %d: %s\nlatest steps:\n  %s", h.seed, fmt.Sprintf(format, args...), strings.Join(h.trail, "\n  "))
}

func (h *hostile) run(maxMessages int, budget time.Duration) {
	deadline := time.Now().Add(budget)
	for h.sent < maxMessages && time.Now().Before(deadline) {
		if h.ws == nil {
			h.connect()
		}
		s := h.next()
		h.trail = append(h.trail, s.desc+": "+clipBytes(s.frames))
		if len(h.trail) > 12 {
			h.trail = h.trail[1:]
		}
		h.do(s)
	}
}

func clipBytes(frames [][]byte) string {
	var parts []string
	for _, f := range frames {
		s := string(f)
		if len(s) > 160 {
			s = s[:160] + fmt.Sprintf("…(%d bytes)", len(f))
		}
		parts = append(parts, strconv.Quote(s))
	}
	if len(parts) > 3 {
		parts = append(parts[:3], fmt.Sprintf("…(%d frames)", len(parts)))
	}
	return strings.Join(parts, " ")
}

func (h *hostile) connect() {
	c, _, err := websocket.DefaultDialer.Dial(wsURL(h.ts, h.doc), nil)
	if err != nil {
		h.failf("dial: %v", err)
	}
	h.ws, h.joined, h.id = c, false, ""
	h.dials++
}

// hangUp closes the connection as a client would.
func (h *hostile) hangUp() {
	if h.ws == nil {
		return
	}
	h.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	for range 100000 { // until the server's close frame
		h.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, _, err := h.ws.ReadMessage(); err != nil {
			break
		}
	}
	h.ws.Close()
	h.ws = nil
}

// text returns the text at revision r, from memory or the HTTP API.
func (h *hostile) text(r int) string {
	if s, ok := h.texts[r]; ok {
		return s
	}
	code, body := do(h.t, "GET", h.ts.URL+"/api/docs/"+h.doc+"?rev="+strconv.Itoa(r), "")
	if code != http.StatusOK {
		h.failf("text at %d: status %d: %s", r, code, body)
	}
	var d docJSON
	if err := json.Unmarshal(body, &d); err != nil || d.Text == nil {
		h.failf("text at %d: %s: %v", r, body, err)
	}
	h.texts[r] = *d.Text
	return *d.Text
}

func (h *hostile) idState(id string) *hostileID {
	s := h.ids[id]
	if s == nil {
		s = &hostileID{revOf: map[int]int{}}
		h.ids[id] = s
	}
	return s
}

// do sends a step and its probe, reads the answers and checks them.
func (h *hostile) do(s step) {
	h.sent += len(s.frames)
	if s.joinID != "" {
		if s.joinFrom != nil {
			h.rev = *s.joinFrom
		}
	}
	h.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	typ := websocket.TextMessage
	if s.binary {
		typ = websocket.BinaryMessage
	}
	for _, f := range s.frames {
		// A write may fail once the server has closed: the read below
		// reports the close.
		if err := h.ws.WriteMessage(typ, f); err != nil {
			break
		}
	}
	h.ws.WriteMessage(websocket.TextMessage, []byte(probe))

	probes := 1
	if s.probeLike {
		probes = 2 // the message's own answer is checked below
	}
	var errs []wire.Message
	acks, dups, joins := 0, 0, 0
	closed := 0
	for seen := 0; seen < probes; {
		h.ws.SetReadDeadline(time.Now().Add(15 * time.Second))
		_, b, err := h.ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) {
				h.failf("%s: the socket ended without a close frame: %v (errors %+v)", s.desc, err, errs)
			}
			closed = ce.Code
			break
		}
		var m wire.Message
		if err := json.Unmarshal(b, &m); err != nil {
			h.failf("%s: the server sent %q: %v", s.desc, b, err)
		}
		switch m.Type {
		case wire.TypeError:
			if !documentedCode(m.Code) {
				h.failf("%s: undocumented error code %q (%s)", s.desc, m.Code, m.Message)
			}
			if m.Code == wire.CodeNotJoined || (m.Code == wire.CodeBadPresence && strings.HasPrefix(m.Message, "rev must be between")) {
				seen++
				if seen == probes {
					continue // the probe's answer
				}
			}
			errs = append(errs, m)
		case wire.TypeOp:
			h.onOp(s, m)
		case wire.TypeSnapshot:
			if s.joinID == "" || h.joined || s.joinFrom != nil {
				h.failf("%s: unexpected snapshot at %d", s.desc, *m.Rev)
			}
			h.rev = *m.Rev
			h.texts[h.rev] = *m.Text
		case wire.TypeJoined:
			if s.joinID == "" || h.joined {
				h.failf("%s: unexpected joined %+v", s.desc, m)
			}
			if *m.Rev != h.rev {
				h.failf("%s: joined at %d after catching up to %d", s.desc, *m.Rev, h.rev)
			}
			if want := h.idState(s.joinID).highest; *m.Seq != want {
				h.failf("%s: joined says the highest seq of %s is %d; its acks say %d", s.desc, s.joinID, *m.Seq, want)
			}
			h.joined, h.id = true, s.joinID
			if prev, ok := h.names[m.Client]; ok && prev != s.joinID {
				h.failf("%s: %s and %s have the same public id %s", s.desc, prev, s.joinID, m.Client)
			}
			h.names[m.Client] = s.joinID
			joins++
		case wire.TypeAck:
			if h.onAck(s, m) {
				acks++
			} else {
				dups++
			}
		case wire.TypePresence, wire.TypeLeave:
		default:
			h.failf("%s: unexpected message %s", s.desc, b)
		}
	}
	if closed != 0 {
		h.ws.Close()
		h.ws, h.joined = nil, false
	}

	// What happened, as one outcome.
	var got string
	switch {
	case len(errs) > 1:
		h.failf("%s: several errors %+v", s.desc, errs)
	case len(errs) == 1:
		got = errs[0].Code
		if want := wire.CloseFor(got); want != closed {
			h.failf("%s: error %s (%s) followed by close %d, want %d", s.desc, got, errs[0].Message, closed, want)
		}
		if acks+dups+joins > 0 {
			h.failf("%s: error %s after %d acks, %d duplicate acks, %d joins", s.desc, got, acks, dups, joins)
		}
	case closed != 0:
		got = "close" + strconv.Itoa(closed)
	case joins == 1:
		got = "join"
	case acks == len(s.frames) && dups == 0:
		got = "ack"
	case dups == 1 && acks == 0:
		got = "dup"
	case acks+dups+joins == 0:
		got = "open"
	default:
		h.failf("%s: %d acks, %d duplicate acks, %d joins", s.desc, acks, dups, joins)
	}
	if closed == wire.CloseInternal {
		h.failf("%s: close 1011 though the store works", s.desc)
	}
	for _, w := range s.want {
		if w == got {
			h.outcomes[got]++
			if got == "dup" && dups == 1 && s.dupSeq == 0 {
				h.failf("%s: a duplicate ack for an op that was not one", s.desc)
			}
			return
		}
	}
	detail := ""
	if len(errs) == 1 {
		detail = " (" + errs[0].Message + ")"
	}
	h.failf("%s: got %s%s, want one of %v", s.desc, got, detail, s.want)
}

// onOp checks that an op message is the next revision and follows it.
func (h *hostile) onOp(s step, m wire.Message) {
	if !h.joined && s.joinID == "" {
		h.failf("%s: an op before joining: %+v", s.desc, m)
	}
	if *m.Rev != h.rev+1 {
		h.failf("%s: op of revision %d after %d", s.desc, *m.Rev, h.rev)
	}
	if hid := h.ids[h.names[m.Client]]; hid != nil {
		// One of the hostile ids: it came with an ack before.
		if r, ok := hid.revOf[*m.Seq]; !ok || r != *m.Rev {
			h.failf("%s: op %s/%d at revision %d, never acknowledged as such (ack: %d, %v)", s.desc, m.Client, *m.Seq, *m.Rev, r, ok)
		}
	}
	if prev, ok := h.texts[h.rev]; ok {
		next, err := ot.Apply(prev, m.Op)
		if err != nil {
			h.failf("%s: op of revision %d does not apply to the text before it: %v", s.desc, *m.Rev, err)
		}
		h.texts[*m.Rev] = next
	}
	delete(h.texts, h.rev-200) // keep memory bounded
	h.rev = *m.Rev
}

// onAck checks an ack and reports whether it acknowledged a new op.
func (h *hostile) onAck(s step, m wire.Message) bool {
	if !h.joined {
		h.failf("%s: ack before joining: %+v", s.desc, m)
	}
	hid := h.idState(h.id)
	seq, rev := *m.Seq, *m.Rev
	switch {
	case seq == hid.highest+1:
		if rev != h.rev+1 {
			h.failf("%s: ack of seq %d at revision %d after %d", s.desc, seq, rev, h.rev)
		}
		hid.highest = seq
		hid.revOf[seq] = rev
		h.rev = rev
		h.applied++
		return true
	case seq >= 1 && seq <= hid.highest:
		if hid.revOf[seq] != rev {
			h.failf("%s: duplicate ack of seq %d says revision %d; it was %d", s.desc, seq, rev, hid.revOf[seq])
		}
		if seq != s.dupSeq {
			h.failf("%s: duplicate ack of seq %d, sent %d", s.desc, seq, s.dupSeq)
		}
		return false
	}
	h.failf("%s: ack of seq %d; the highest acknowledged is %d", s.desc, seq, hid.highest)
	return false
}

func documentedCode(code string) bool {
	switch code {
	case wire.CodeBadJSON, wire.CodeBadMessage, wire.CodeUnknownType, wire.CodeNotJoined, wire.CodeAlreadyJoined,
		wire.CodeBadClient, wire.CodeBadPresence, wire.CodeBinaryFrame, wire.CodeBadSeq, wire.CodeBadRev,
		wire.CodeBadOp, wire.CodeBaseLength, wire.CodeSurrogateSplit, wire.CodeInvalidUnicode, wire.CodeDocTooLarge,
		wire.CodeRateLimited, wire.CodeTooLarge, wire.CodeNotFound, wire.CodeForbidden, wire.CodeInternal:
		return true
	}
	return false
}

// Message makers.

func pick[T any](rng *rand.Rand, xs ...T) T { return xs[rng.IntN(len(xs))] }

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func opJSON(op ot.Op) string {
	b, err := json.Marshal(op)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// opFrame builds an op message from raw JSON values; "" leaves a field out.
func opFrame(rev, seq, op string) []byte {
	var parts []string
	parts = append(parts, `"type":"op"`)
	if rev != "" {
		parts = append(parts, `"rev":`+rev)
	}
	if seq != "" {
		parts = append(parts, `"seq":`+seq)
	}
	if op != "" {
		parts = append(parts, `"op":`+op)
	}
	return []byte("{" + strings.Join(parts, ",") + "}")
}

func presenceFrame(rev, sel string) []byte {
	parts := []string{`"type":"presence"`}
	if rev != "" {
		parts = append(parts, `"rev":`+rev)
	}
	if sel != "" {
		parts = append(parts, `"sel":`+sel)
	}
	return []byte("{" + strings.Join(parts, ",") + "}")
}

func one(desc string, frame string, want ...string) step {
	return step{desc: desc, frames: [][]byte{[]byte(frame)}, want: want}
}

var (
	badJSON = []string{`nonsense`, `{"type":"join"`, `{`, `}`, ``, `{"type":"op",}`, "\x00", `tru`, `"unterminated`,
		`{"type":"op","rev":01}`, `{'type':'op'}`, strings.Repeat("[", 10001)}
	wrongShapes = []string{`{"type":5}`, `[]`, `[1,2]`, `null`, `42`, `"op"`, `true`, `{}`, `{"type":null}`,
		`{"type":"op","rev":"1"}`, `{"type":"join","name":5}`, `{"type":"op","seq":1.5}`, `{"type":"op","seq":"1"}`,
		`{"type":"presence","rev":1e400}`, `{"type":"op","seq":99999999999999999999}`, `{"type":"op","rev":1.0}`,
		`{"type":["op"]}`, `{"type":{"a":1}}`, `{"type":"join","name":7}`, `{"type":"join","color":[]}`,
		`{"x":` + strings.Repeat(`{"x":`, 300) + `1` + strings.Repeat("}", 301)}
	unknownTypes = []string{"ack", "joined", "snapshot", "leave", "error", "OP", "Join", " join", "op ", "Ping",
		"\u0000", "😀", strings.Repeat("t", 300)}
	badSecrets = []string{" ", "short", strings.Repeat("a", 21), strings.Repeat("a", 65), strings.Repeat("é", 22),
		strings.Repeat("a", 21) + ".", strings.Repeat("a", 21) + "\u0000", "<script>" + strings.Repeat("a", 20), strings.Repeat("😀", 11)}
	badColors = []string{"red", "#12", "#1234", "#12345g", "#", " #123", "#123 ", "#1234567", "#ggg", "888"}
	badNames  = []string{strings.Repeat("n", 65), strings.Repeat("😀", 33), strings.Repeat("é", 65),
		strings.Repeat("\u2028", 65)}
	goodNames = []string{"", "Ada", strings.Repeat("n", 64), strings.Repeat("😀", 32),
		strings.Repeat("\u0007", 100) + "bell", "tab\tand\nnewline\u0085" + strings.Repeat("x", 40), "<b>bold</b>"}
	undecodableOps = []string{`[0]`, `[1.5]`, `[2.0]`, `[1e1]`, `[99999999999999999999]`, `[1099511627777]`,
		`[-1099511627777]`, `[[1]]`, `[[["x"]]]`, `[null]`, `[true]`, `[{}]`, `{}`, `"x"`, `5`, `true`, `[-0]`,
		`[1,` + strings.Repeat("[", 50) + strings.Repeat("]", 50) + `]`, `[1099511627776,1099511627776]`, `["a",0]`}
	// Raw invalid UTF-8 is left out here: TestCloseReasonIsValidUTF8.
	badUnicodeOps = []string{`["\ud83d"]`, `["\udc00x"]`, `["a\ud83d\u0041"]`, `["\ud83d\ud83d"]`, `["x\udfff"]`,
		`["\ud83d\u00e9"]`}
)

// next chooses the next step from the connection's state.
func (h *hostile) next() step {
	rng := h.rng
	if h.rng.IntN(60) == 0 {
		return h.anyState()
	}
	if !h.joined {
		switch k := rng.IntN(20); {
		case k < 9:
			return h.goodJoin()
		case k < 12:
			return h.badJoin()
		case k < 14:
			s := one("op before join", string(opFrame("0", "1", `["x"]`)), wire.CodeNotJoined)
			s.probeLike = true
			return s
		case k < 15:
			s := one("presence before join", string(presenceFrame("0", "[]")), wire.CodeNotJoined)
			s.probeLike = true
			return s
		default:
			return h.junk()
		}
	}
	switch k := rng.IntN(40); {
	case k < 2:
		return one("second join", `{"type":"join","name":`+jsonString(pick(rng, "hostile", "x", "", "a b"))+`}`, wire.CodeAlreadyJoined)
	case k < 22:
		return h.op()
	case k < 32:
		return h.presence()
	default:
		return h.junk()
	}
}

// anyState: binary frames and oversized messages, refused in any state.
func (h *hostile) anyState() step {
	rng := h.rng
	switch rng.IntN(3) {
	case 0:
		return step{desc: "binary frame", frames: [][]byte{[]byte(`{"type":"join","name":"b"}`)}, binary: true, want: []string{wire.CodeBinaryFrame}}
	case 1:
		n := hostileMaxMessage + 1 + rng.IntN(readSlack-100)
		msg := string(opFrame("0", "1", `["`+strings.Repeat("x", n)+`"]`))
		return one("oversized within the slack", msg, wire.CodeTooLarge)
	default:
		n := hostileMaxMessage + readSlack + 1 + rng.IntN(20000)
		return one("oversized beyond the slack", `{"type":"x","pad":"`+strings.Repeat("y", n)+`"}`, "close1009")
	}
}

// junk: malformed messages that are refused and leave the socket open.
func (h *hostile) junk() step {
	rng := h.rng
	switch rng.IntN(3) {
	case 0:
		return one("bad JSON", pick(rng, badJSON...), wire.CodeBadJSON)
	case 1:
		return one("wrong shape", pick(rng, wrongShapes...), wire.CodeBadMessage)
	default:
		typ := pick(rng, unknownTypes...)
		if rng.IntN(3) == 0 { // deep nesting in an unknown field
			return one("unknown type, nested", `{"type":`+jsonString(typ)+`,"x":`+strings.Repeat("[", 500)+strings.Repeat("]", 500)+`}`, wire.CodeUnknownType)
		}
		return one("unknown type", `{"type":`+jsonString(typ)+`,"client":"c","rev":1}`, wire.CodeUnknownType)
	}
}

func (h *hostile) badJoin() step {
	rng := h.rng
	switch rng.IntN(4) {
	case 0:
		// Ids are the server's: a join naming one, even a well-formed
		// one (another client's public id), is refused.
		return one("join naming a client", `{"type":"join","client":`+jsonString(pick(rng, "hostile", "a", "good-0"))+`}`, wire.CodeBadClient)
	case 3:
		return one("join, bad secret", `{"type":"join","secret":`+jsonString(pick(rng, badSecrets...))+`}`, wire.CodeBadClient)
	case 1:
		return one("join, bad color", `{"type":"join","name":"hostile","color":`+jsonString(pick(rng, badColors...))+`}`, wire.CodeBadMessage)
	default:
		return one("join, bad name", `{"type":"join","name":"hostile","name":`+jsonString(pick(rng, badNames...))+`}`, wire.CodeBadMessage)
	}
}

func (h *hostile) goodJoin() step {
	rng := h.rng
	id := pick(rng, "hostile", "hostile", "h2", "h3-x_y")
	m := map[string]any{"type": "join", "secret": secretOf(id)}
	if rng.IntN(2) == 0 {
		m["name"] = pick(rng, goodNames...)
	}
	if rng.IntN(2) == 0 {
		m["color"] = pick(rng, "#abc", "#A1B2C3", "", "#000000")
	}
	var from *int
	desc := "join"
	switch rng.IntN(8) {
	case 0: // no rev: snapshot
	case 1:
		m["rev"] = pick(rng, -1, -99, -(1 << 62))
		desc = "join, negative rev"
	case 2:
		m["rev"] = pick(rng, h.rev+1000000, 1<<62)
		desc = "join, rev in the future"
	case 3:
		m["rev"] = nil
		desc = "join, rev null"
	case 4:
		r := max(0, h.rev-rng.IntN(300))
		m["rev"], from = r, &r
		desc = "join, catch-up"
	default:
		r := h.rev
		m["rev"], from = r, &r
		desc = "join, current rev"
	}
	b, _ := json.Marshal(m)
	return step{desc: desc, frames: [][]byte{b}, want: []string{"join"}, joinID: id, joinFrom: from}
}

// op: an op message, valid or not, with the outcomes it may have.
func (h *hostile) op() step {
	rng := h.rng
	hid := h.idState(h.id)
	fresh := strconv.Itoa(hid.highest + 1)
	cur := strconv.Itoa(h.rev)
	text := h.text(h.rev)
	n := ot.Len(text)
	valid := opJSON(randomEdit(rng, text))
	switch k := rng.IntN(24); {
	case k < 5: // valid, against the current or an older revision
		r := h.rev
		if rng.IntN(3) == 0 {
			r = max(0, h.rev-rng.IntN(20))
		}
		return one("valid op", string(opFrame(strconv.Itoa(r), fresh, opJSON(randomEdit(rng, h.text(r))))), "ack")
	case k < 7: // a burst of ops in flight at once
		cnt := 2 + rng.IntN(30)
		s := step{desc: "burst of " + strconv.Itoa(cnt) + " ops", want: []string{"ack"}}
		for i := range cnt {
			s.frames = append(s.frames, opFrame(cur, strconv.Itoa(hid.highest+1+i), opJSON(randomEdit(rng, text))))
		}
		return s
	case k < 10 && hid.highest > 0: // a duplicate, with anything that decodes
		seq := 1 + rng.IntN(hid.highest)
		rev := pick(rng, "", "null", "-1", cur, "999999999", strconv.Itoa(1<<62))
		op := pick(rng, "", "null", `[999]`, `[]`, valid, `["`+strings.Repeat("z", hostileMaxDoc+1)+`"]`)
		s := one("duplicate seq", string(opFrame(rev, strconv.Itoa(seq), op)), "dup")
		s.dupSeq = seq
		return s
	case k < 11 && hid.highest > 0: // a duplicate whose op does not decode
		seq := strconv.Itoa(1 + rng.IntN(hid.highest))
		if rng.IntN(2) == 0 {
			return one("duplicate seq, undecodable op", string(opFrame(cur, seq, pick(rng, undecodableOps...))), wire.CodeBadOp)
		}
		return one("duplicate seq, lone surrogate", string(opFrame(cur, seq, pick(rng, badUnicodeOps...))), wire.CodeInvalidUnicode)
	case k < 13:
		seq := pick(rng, "", "null", "0", "-1", strconv.Itoa(-(1 << 62)), strconv.Itoa(hid.highest+2),
			strconv.Itoa(hid.highest+1000), strconv.Itoa(1<<62), "9223372036854775807")
		return one("bad seq", string(opFrame(cur, seq, valid)), wire.CodeBadSeq)
	case k < 14:
		seq := pick(rng, "1.5", `"1"`, "true", "1e3", "99999999999999999999", "[1]", "{}", fresh+".0")
		return one("seq of the wrong type", string(opFrame(cur, seq, valid)), wire.CodeBadMessage)
	case k < 15:
		rev := pick(rng, "", "null", "-1", strconv.Itoa(-(1 << 62)), strconv.Itoa(h.rev+1000000), strconv.Itoa(1<<62))
		return one("bad rev", string(opFrame(rev, fresh, valid)), wire.CodeBadRev)
	case k < 16:
		rev := pick(rng, "1.5", `"1"`, "[]", cur+".0", "1e2", "-0.5")
		return one("rev of the wrong type", string(opFrame(rev, fresh, valid)), wire.CodeBadMessage)
	case k < 18:
		// Undecodable ops are refused whatever the seq.
		seq := pick(rng, fresh, "", "0", strconv.Itoa(hid.highest+5))
		return one("undecodable op", string(opFrame(cur, seq, pick(rng, undecodableOps...))), wire.CodeBadOp)
	case k < 19:
		return one("lone surrogate or bad UTF-8", string(opFrame(cur, fresh, pick(rng, badUnicodeOps...))), wire.CodeInvalidUnicode)
	case k < 20:
		return one("missing op", string(opFrame(cur, fresh, pick(rng, "", "null"))), wire.CodeBadOp)
	case k < 21:
		if rng.IntN(6) == 0 {
			// Too long for the text and for the limit: the protocol does
			// not say which is checked first.
			return one("base length, huge", string(opFrame(cur, fresh, `[1099511627776]`)), wire.CodeBaseLength, wire.CodeDocTooLarge)
		}
		op := pick(rng, `[`+strconv.Itoa(n+1+rng.IntN(5))+`]`, `["x",`+strconv.Itoa(n+3)+`]`, `[-`+strconv.Itoa(n+1)+`]`)
		if n > 0 {
			op = pick(rng, op, `[]`, `["x"]`)
		}
		if n > 1 {
			op = pick(rng, op, `[`+strconv.Itoa(n-1)+`]`)
		}
		return one("base length", string(opFrame(cur, fresh, op)), wire.CodeBaseLength)
	case k < 22:
		ps := pairs(text)
		if len(ps) == 0 {
			var op ot.Op
			op.Insert("😀").Retain(n)
			return one("valid op, a pair to split later", string(opFrame(cur, fresh, opJSON(op))), "ack")
		}
		p := pick(rng, ps...)
		var op string
		switch rng.IntN(4) {
		case 0:
			op = `[` + strconv.Itoa(p+1) + `,"x",` + strconv.Itoa(n-p-1) + `]`
		case 1:
			op = `[` + strconv.Itoa(p+1) + `,-1` + retainTail(n-p-2) + `]`
		case 2:
			op = retainHead(p) + `-1,` + strconv.Itoa(n-p-1) + `]`
		default:
			op = `[` + strconv.Itoa(p+1) + `,"😀",` + strconv.Itoa(n-p-1) + `]`
		}
		// A concurrent edit may have removed the pair: then it applies.
		return one("op splitting a surrogate pair", string(opFrame(cur, fresh, op)), wire.CodeSurrogateSplit, "ack")
	default:
		var op ot.Op
		op.Insert(strings.Repeat("L", hostileMaxDoc+1)).Retain(n)
		return one("document too large", string(opFrame(cur, fresh, opJSON(op))), wire.CodeDocTooLarge)
	}
}

func retainHead(n int) string {
	if n == 0 {
		return "["
	}
	return "[" + strconv.Itoa(n) + ","
}

func retainTail(n int) string {
	if n == 0 {
		return ""
	}
	return "," + strconv.Itoa(n)
}

func (h *hostile) presence() step {
	rng := h.rng
	cur := strconv.Itoa(h.rev)
	n := ot.Len(h.text(h.rev))
	ranges := func(k, lim int) string {
		rs := make([]string, k)
		for i := range rs {
			rs[i] = "[" + strconv.Itoa(rng.IntN(lim+1)) + "," + strconv.Itoa(rng.IntN(lim+1)) + "]"
		}
		return "[" + strings.Join(rs, ",") + "]"
	}
	switch k := rng.IntN(10); {
	case k < 3: // valid, inside surrogate pairs included
		return one("presence", string(presenceFrame(cur, ranges(pick(rng, 0, 1, 2, 5, 100), n))), "open")
	case k < 4:
		r := max(0, h.rev-rng.IntN(30))
		return one("presence at an older revision", string(presenceFrame(strconv.Itoa(r), ranges(1+rng.IntN(3), ot.Len(h.text(r))))), "open")
	case k < 5:
		return one("presence, too many ranges", string(presenceFrame(cur, ranges(101+rng.IntN(50), n))), wire.CodeBadPresence)
	case k < 6:
		bad := pick(rng, strconv.Itoa(n+1+rng.IntN(10)), "-1", strconv.Itoa(1<<62), strconv.Itoa(-(1 << 62)))
		return one("presence out of range", string(presenceFrame(cur, `[[0,0],[`+bad+`,0]]`)), wire.CodeBadPresence)
	case k < 7:
		// (null is left out: TestPresenceNullPositionIsRefused)
		bad := pick(rng, "1.5", `"1"`, "true", "1e2", "[1]", "99999999999999999999", "{}")
		return one("presence, not an integer", string(presenceFrame(cur, `[[0,`+bad+`]]`)), wire.CodeBadPresence)
	case k < 8:
		sel := pick(rng, `[[1]]`, `[[0,0,0]]`, `[[]]`, `[{}]`, `"x"`, `5`, `{}`, `null`, `[null]`, "")
		return one("presence, bad sel", string(presenceFrame(cur, sel)), wire.CodeBadPresence)
	case k < 9:
		rev := pick(rng, "", "null", "-1", strconv.Itoa(h.rev+1000000), strconv.Itoa(1<<62))
		s := one("presence, bad rev", string(presenceFrame(rev, "[]")), wire.CodeBadPresence)
		s.probeLike = true
		return s
	default:
		rev := pick(rng, "1.5", `"1"`, "[]", "1e400")
		return one("presence, rev of the wrong type", string(presenceFrame(rev, "[]")), wire.CodeBadMessage)
	}
}

// Targeted cases.

// The reason of a close frame must be valid UTF-8 (RFC 6455, 7.1.6): a
// client library, or a browser, fails the connection on one that is not,
// and then sees 1006 instead of the close code. The reason repeats the
// error, which may quote the client's bytes.
func TestCloseReasonIsValidUTF8(t *testing.T) {
	_, ts := newTestServer(t, nil)
	id := createDoc(t, ts)
	for _, tt := range []struct{ name, op string }{
		{"invalid UTF-8 in an insert", "[\"\xff\xfe\"]"},
		{"a lone surrogate after multi-byte text", `["ééééééééééééé\ud800"]`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := dial(t, ts, id)
			a.join("a-"+strconv.Itoa(len(tt.name)), nil)
			a.sendRaw(`{"type":"op","rev":0,"seq":1,"op":` + tt.op + `}`)
			a.expectError(wire.CodeInvalidUnicode)
			a.c.SetReadDeadline(time.Now().Add(15 * time.Second))
			_, _, err := a.c.ReadMessage()
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != wire.CloseResync {
				t.Fatalf("got %v, want close 4000", err)
			}
		})
	}
}

// A range that is not two integers is refused: null is not an integer
// (encoding/json would silently read it as 0).
func TestPresenceNullPositionIsRefused(t *testing.T) {
	_, ts := newTestServer(t, nil)
	id := createDoc(t, ts)
	a := dial(t, ts, id)
	a.join("a", nil)
	a.submit(0, 1, `["hello"]`)
	for _, sel := range []string{`[[0,null]]`, `[[null,2]]`, `[[null,null]]`} {
		a.sendRaw(`{"type":"presence","rev":1,"sel":` + sel + `}`)
		a.sendRaw(probe)
		m := a.next(wire.TypeError)
		if m.Code != wire.CodeBadPresence || strings.HasPrefix(m.Message, "rev must be between") {
			t.Fatalf("sel %s: got %s (%s), want bad_presence for the range", sel, m.Code, m.Message)
		}
		a.expectError(wire.CodeBadPresence) // the probe
	}
}

// De-duplication comes before every other check of an op, except decoding
// the op itself.
func TestDuplicateSeqComesFirst(t *testing.T) {
	_, ts := newTestServer(t, func(c *testConfig) { c.Session.MaxDocLen = 100 })
	id := createDoc(t, ts)
	a, b := dial(t, ts, id), dial(t, ts, id)
	a.join("a", nil)
	b.join("b", nil)
	a.submit(0, 1, `["😀"]`) // revision 1
	b.next(wire.TypeOp)
	b.submit(1, 1, `[2,"b"]`) // revision 2: "😀b"
	a.next(wire.TypeOp)
	for _, tt := range []struct{ name, msg string }{
		{"rev missing", `{"type":"op","seq":1,"op":["x"]}`},
		{"rev negative", `{"type":"op","rev":-1,"seq":1,"op":["x"]}`},
		{"rev in the future", `{"type":"op","rev":99,"seq":1,"op":["x"]}`},
		{"op missing", `{"type":"op","rev":2,"seq":1}`},
		{"op null", `{"type":"op","rev":2,"seq":1,"op":null}`},
		{"wrong base length", `{"type":"op","rev":2,"seq":1,"op":[999]}`},
		{"splits a pair", `{"type":"op","rev":2,"seq":1,"op":[1,"x",2]}`},
		{"too large", `{"type":"op","rev":2,"seq":1,"op":["` + strings.Repeat("x", 200) + `",3]}`},
	} {
		a.sendRaw(tt.msg)
		ack := a.next(wire.TypeAck)
		if *ack.Seq != 1 || *ack.Rev != 1 {
			t.Fatalf("%s: got ack %+v, want seq 1 at revision 1", tt.name, ack)
		}
	}
	// An op that does not decode is refused even with a duplicate seq.
	a.sendRaw(`{"type":"op","rev":2,"seq":1,"op":[0]}`)
	if e := a.expectError(wire.CodeBadOp); e.Seq == nil || *e.Seq != 1 {
		t.Fatalf("undecodable duplicate: error %+v, want seq 1", e)
	}
	a.expectClose(wire.CloseResync)
	// A field of the wrong type is a malformed message, whatever its seq.
	a2 := dial(t, ts, id)
	a2.join("a", wire.IntPtr(2))
	a2.sendRaw(`{"type":"op","rev":"2","seq":1,"op":["x"]}`)
	a2.expectError(wire.CodeBadMessage)
	if rev := a2.submit(2, 2, `[3,"!"]`); rev != 3 {
		t.Fatalf("next op: ack at %d, want 3", rev)
	}
	if text, rev := docText(t, ts, id); text != "😀b!" || rev != 3 {
		t.Fatalf("text %q at %d, want %q at 3", text, rev, "😀b!")
	}
}

// After a refused op (close 4000), the client rejoins; joined.seq tells
// it the highest applied seq, and highest + 1 is accepted, whatever seq
// the refused op had.
func TestNextSeqAfterARefusedOp(t *testing.T) {
	_, ts := newTestServer(t, nil)
	for _, refused := range []string{
		`{"type":"op","rev":2,"seq":3,"op":[99]}`,       // base_length
		`{"type":"op","rev":2,"seq":7,"op":["x",2]}`,    // bad_seq
		`{"type":"op","rev":9,"seq":3,"op":["x",2]}`,    // bad_rev
		`{"type":"op","rev":2,"seq":3,"op":[1,"x",1]}`,  // surrogate_split
		`{"type":"op","rev":2,"seq":3,"op":["\udc00"]}`, // invalid_unicode
	} {
		id := createDoc(t, ts)
		a := dial(t, ts, id)
		a.join("a", nil)
		a.submit(0, 1, `["😀"]`)
		a.submit(1, 2, `[2]`) // a no-op still takes a revision
		a.sendRaw(refused)
		a.next(wire.TypeError)
		a.expectClose(wire.CloseResync)

		again := dial(t, ts, id)
		before, joined := again.join("a", nil)
		if *joined.Seq != 2 || *joined.Rev != 2 || len(before) != 1 || *before[0].Text != "😀" {
			t.Fatalf("after %s: rejoin got %+v then %+v, want the snapshot at 2 and seq 2", refused, before, joined)
		}
		if rev := again.submit(2, 3, `[2,"ok"]`); rev != 3 {
			t.Fatalf("after %s: seq 3 acked at %d, want 3", refused, rev)
		}
	}
}

// A cursor inside a surrogate pair is relayed at the pair's start, to the
// peers and in joined.peers.
func TestPresenceInsideAPairOverSockets(t *testing.T) {
	_, ts := newTestServer(t, nil)
	id := createDoc(t, ts)
	a, b := dial(t, ts, id), dial(t, ts, id)
	a.join("a", nil)
	_, jb := b.join("b", nil)
	a.submit(0, 1, `["a😀b😀"]`)
	b.next(wire.TypeOp)
	b.sendRaw(`{"type":"presence","rev":1,"sel":[[2,5],[0,2],[6,3]]}`)
	p := a.next(wire.TypePresence)
	want := []wire.Range{{1, 4}, {0, 1}, {6, 3}}
	if p.Client != jb.Client || fmt.Sprint(p.Sel) != fmt.Sprint(want) {
		t.Fatalf("relayed %+v, want b at %v", p, want)
	}
	c := dial(t, ts, id)
	_, joined := c.join("c", nil)
	found := false
	for _, peer := range joined.Peers {
		if peer.Client == jb.Client {
			found = true
			if fmt.Sprint(peer.Sel) != fmt.Sprint(want) {
				t.Fatalf("joined.peers has b at %v, want %v", peer.Sel, want)
			}
		}
	}
	if !found {
		t.Fatalf("joined.peers %+v has no b", joined.Peers)
	}
}

// A join with a revision the document has not reached, or a negative or
// null one, gets a snapshot; a revision of the wrong type is refused.
func TestJoinRevisionsWithoutCatchUp(t *testing.T) {
	_, ts := newTestServer(t, nil)
	id := createDoc(t, ts)
	a := dial(t, ts, id)
	a.join("a", nil)
	a.submit(0, 1, `["hi"]`)
	for i, rev := range []string{`2`, `4611686018427387904`, `9223372036854775807`, `-1`, `-9223372036854775808`, `null`} {
		c := dial(t, ts, id)
		c.sendRaw(`{"type":"join","name":"c` + strconv.Itoa(i) + `","rev":` + rev + `}`)
		m := c.next(wire.TypeSnapshot)
		if *m.Text != "hi" || *m.Rev != 1 {
			t.Fatalf("rev %s: snapshot %+v, want \"hi\" at 1", rev, m)
		}
		if j := c.next(wire.TypeJoined); *j.Rev != 1 {
			t.Fatalf("rev %s: joined at %d, want 1", rev, *j.Rev)
		}
	}
	for _, rev := range []string{`1.0`, `1e0`, `"1"`, `9223372036854775808`, `[1]`} {
		c := dial(t, ts, id)
		c.sendRaw(`{"type":"join","name":"d","rev":` + rev + `}`)
		c.expectError(wire.CodeBadMessage)
		c.sendRaw(probe) // still not joined
		c.expectError(wire.CodeNotJoined)
	}
}

// A document reopened by a new hub has no history in memory: catch-up from
// long ago reads the log from the store (off the hub goroutine); an op or
// duplicate from before the window is refused as stale (4001) and its
// client catches up instead; presence at an old revision is ignored.
func TestFarPastAfterTheHubRestarts(t *testing.T) {
	srv, ts := newTestServer(t, func(c *testConfig) { c.RateLimit = -1 })
	id := createDoc(t, ts)
	a := dial(t, ts, id)
	_, ja := a.join("a", nil)
	const n = 300
	for i := range n { // pipelined: one ack each, in order
		op := `["a"]`
		if i > 0 {
			op = `[` + strconv.Itoa(i) + `,"a"]`
		}
		a.sendRaw(`{"type":"op","rev":` + strconv.Itoa(i) + `,"seq":` + strconv.Itoa(i+1) + `,"op":` + op + `}`)
	}
	for i := range n {
		if ack := a.next(wire.TypeAck); *ack.Seq != i+1 || *ack.Rev != i+1 {
			t.Fatalf("ack %+v, want seq and revision %d", ack, i+1)
		}
	}
	a.c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	a.expectClose(websocket.CloseNormalClosure)
	waitFor(t, "the hub to stop", func() bool { _, open, _ := srv.sessions.Stats(); return open == 0 })

	for _, from := range []int{0, 1, 150, n - 1, n} {
		c := dial(t, ts, id)
		before, joined := c.join("c"+strconv.Itoa(from), wire.IntPtr(from))
		if len(before) != n-from || *joined.Rev != n {
			t.Fatalf("catch-up from %d: %d messages, joined at %d; want %d ops, joined at %d", from, len(before), *joined.Rev, n-from, n)
		}
		for i, m := range before {
			if m.Type != wire.TypeOp || *m.Rev != from+i+1 || m.Client != ja.Client || *m.Seq != from+i+1 {
				t.Fatalf("catch-up from %d: message %d is %+v", from, i, m)
			}
		}
		c.c.Close()
	}
	// a comes back with an old duplicate: stale, 4001; rejoining from
	// revision 0 brings its own op back as the acknowledgement.
	a2 := dial(t, ts, id)
	a2.join("a", wire.IntPtr(n))
	a2.sendRaw(`{"type":"op","rev":0,"seq":1,"op":["zz"]}`)
	if e := a2.next(wire.TypeError); e.Code != wire.CodeStale || *e.Seq != 1 {
		t.Fatalf("old duplicate: %+v, want stale for seq 1", e)
	}
	a2.expectClose(wire.CloseTooSlow)
	a3 := dial(t, ts, id)
	before, _ := a3.join("a", wire.IntPtr(0))
	if len(before) != n || before[0].Client != ja.Client || *before[0].Seq != 1 || *before[0].Rev != 1 {
		t.Fatalf("rejoin from 0: %d ops, first %+v; want %d starting with a's seq 1", len(before), before[0], n)
	}
	// An op based on revision 1: stale, nothing written.
	b := dial(t, ts, id)
	b.join("b", wire.IntPtr(n))
	b.sendRaw(`{"type":"op","rev":1,"seq":1,"op":["B",1]}`)
	if e := b.next(wire.TypeError); e.Code != wire.CodeStale {
		t.Fatalf("op based on revision 1: %+v, want stale", e)
	}
	b.expectClose(wire.CloseTooSlow)
	// b rejoins; its presence at revision 1 is ignored, the next one at
	// the current revision is relayed. The pause is longer than the relay
	// interval (50 ms), so that a relay of the first, were it taken, would
	// come before the second rather than be replaced by it.
	b2 := dial(t, ts, id)
	_, jb := b2.join("b", wire.IntPtr(n))
	b2.sendRaw(`{"type":"presence","rev":1,"sel":[[1,0]]}`)
	time.Sleep(200 * time.Millisecond)
	b2.sendRaw(`{"type":"presence","rev":` + strconv.Itoa(n) + `,"sel":[[2,2]]}`)
	for range 1000 {
		p, err := a3.read()
		if err != nil {
			t.Fatalf("waiting for b's presence: %v", err)
		}
		if p.Type != wire.TypePresence || p.Client != jb.Client || len(p.Sel) == 0 {
			continue // b's arrivals
		}
		if want := (wire.Range{2, 2}); len(p.Sel) != 1 || p.Sel[0] != want {
			t.Fatalf("b's presence relayed as %v, want [%v]", p.Sel, want)
		}
		break
	}
	if text, rev := docText(t, ts, id); text != strings.Repeat("a", n) || rev != n {
		t.Fatalf("text %q at %d", text, rev)
	}
}

// deleteRaw deletes a document without the testing helpers, for use off
// the test goroutine; it returns the status or the error.
func deleteRaw(url string) (int, error) {
	req, err := http.NewRequest("DELETE", url, nil)
	if err != nil {
		return 0, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}

// A document deleted while clients join (and catch up with a long log) and
// while another client's ops are being committed: every socket gets an
// answer, the ops it got are in order and without gaps, and it ends with
// not_found and close 4004; none is left waiting.
func TestDeleteDuringCatchUp(t *testing.T) {
	_, ts := newTestServer(t, func(c *testConfig) { c.RateLimit = -1 })
	for round := range 8 {
		id := createDoc(t, ts)
		a := dial(t, ts, id)
		a.join("a", nil)
		const n = 200
		for i := range n {
			op := `["a"]`
			if i > 0 {
				op = `[` + strconv.Itoa(i) + `,"a"]`
			}
			a.sendRaw(`{"type":"op","rev":` + strconv.Itoa(i) + `,"seq":` + strconv.Itoa(i+1) + `,"op":` + op + `}`)
		}
		for range n {
			a.next(wire.TypeAck)
		}
		joiners := make([]*wsClient, 4)
		for i := range joiners {
			joiners[i] = dial(t, ts, id)
		}
		// More ops keep the hub busy while the delete and the joins race.
		for i := n; i < n+50; i++ {
			a.sendRaw(`{"type":"op","rev":` + strconv.Itoa(i) + `,"seq":` + strconv.Itoa(i+1) + `,"op":[` + strconv.Itoa(i) + `,"b"]}`)
		}
		deleted := make(chan error, 1)
		go func() { // ends when the DELETE has been answered
			code, err := deleteRaw(ts.URL + "/api/docs/" + id)
			if err == nil && code != http.StatusNoContent {
				err = fmt.Errorf("DELETE: status %d", code)
			}
			deleted <- err
		}()
		for i, j := range joiners {
			j.sendRaw(`{"type":"join","name":"j` + strconv.Itoa(i) + `","rev":0}`)
		}
		for i, j := range joiners {
			msgs := j.expectClose(wire.CloseNotFound)
			want := 1
			for k, m := range msgs {
				switch m.Type {
				case wire.TypeOp:
					if *m.Rev != want {
						t.Fatalf("round %d: joiner %d got revision %d, want %d", round, i, *m.Rev, want)
					}
					want++
				case wire.TypeJoined:
					if *m.Rev != want-1 {
						t.Fatalf("round %d: joiner %d: joined at %d after revision %d", round, i, *m.Rev, want-1)
					}
				case wire.TypeError:
					if m.Code != wire.CodeNotFound || k != len(msgs)-1 {
						t.Fatalf("round %d: joiner %d: error %+v as message %d of %d", round, i, m, k, len(msgs))
					}
				}
			}
			if len(msgs) == 0 || msgs[len(msgs)-1].Code != wire.CodeNotFound {
				t.Fatalf("round %d: joiner %d: closed 4004 without not_found first: %+v", round, i, msgs)
			}
		}
		a.expectClose(wire.CloseNotFound)
		if err := <-deleted; err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		late := dial(t, ts, id)
		late.sendRaw(`{"type":"join","name":"late","rev":0}`)
		late.expectError(wire.CodeNotFound)
		late.expectClose(wire.CloseNotFound)
	}
}

// A client that pipelines many ops and resubmits some of them before they
// are committed gets them acknowledged again; nobody is disconnected.
func TestPipelinedDuplicatesOverSockets(t *testing.T) {
	_, ts := newTestServer(t, func(c *testConfig) { c.RateLimit = -1 })
	const n = 100
	for round := range 10 {
		id := createDoc(t, ts)
		a, b := dial(t, ts, id), dial(t, ts, id)
		a.join("a", nil)
		b.join("b", nil)
		for i := range n {
			op := `["a"]`
			if i > 0 {
				op = `[` + strconv.Itoa(i) + `,"a"]`
			}
			a.sendRaw(`{"type":"op","rev":` + strconv.Itoa(i) + `,"seq":` + strconv.Itoa(i+1) + `,"op":` + op + `}`)
		}
		dups := []int{60, 61, 62, 63, 64, 65}
		for _, s := range dups {
			a.sendRaw(`{"type":"op","rev":0,"seq":` + strconv.Itoa(s) + `,"op":["dup"]}`)
		}
		fresh, again := 0, 0
		for fresh+again < n+len(dups) {
			m, err := a.read()
			if err != nil {
				t.Fatalf("round %d: after %d acks and %d duplicate acks: %v", round, fresh, again, err)
			}
			switch m.Type {
			case wire.TypeAck:
				switch {
				case *m.Seq == fresh+1 && *m.Rev == fresh+1:
					fresh++
				case *m.Seq <= fresh && *m.Rev == *m.Seq:
					again++
				default:
					t.Fatalf("round %d: ack %+v after %d acks", round, m, fresh)
				}
			case wire.TypeError:
				t.Fatalf("round %d: resubmitted ops got error %s (%s) after %d acks and %d duplicate acks", round, m.Code, m.Message, fresh, again)
			}
		}
		for i := range n {
			if op := b.next(wire.TypeOp); *op.Rev != i+1 {
				t.Fatalf("round %d: b got revision %d, want %d", round, *op.Rev, i+1)
			}
		}
		if rev := b.submit(n, 1, `[`+strconv.Itoa(n)+`,"b"]`); rev != n+1 {
			t.Fatalf("round %d: b's op acked at %d, want %d", round, rev, n+1)
		}
		a.c.Close()
		b.c.Close()
	}
}

// After the server and its clients are closed, every goroutine they
// started ends: hubs, socket readers and writers, pingers, lingering
// connections.
func TestNoGoroutineLeak(t *testing.T) {
	idle := func() {
		if tr, ok := http.DefaultTransport.(*http.Transport); ok {
			tr.CloseIdleConnections()
		}
	}
	idle()
	before := runtime.NumGoroutine()
	func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		srv, db, err := wireServer(ctx, t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close() // after srv.Close below
		ts := httptest.NewServer(srv.Handler())
		defer ts.Close()
		id, gone := createDoc(t, ts), createDoc(t, ts)

		var goods []*client.Client
		for range 3 {
			c, err := client.Dial(ctx, client.Config{URL: ts.URL, Doc: id, Logger: testLogger()})
			if err != nil {
				t.Fatal(err)
			}
			goods = append(goods, c)
		}
		for i, c := range goods {
			for range 20 {
				if err := c.Edit(func(text string) ot.Op { return randomEdit(rand.New(rand.NewPCG(uint64(i), 1)), text) }); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, c := range goods {
			if err := c.WaitSynced(ctx); err != nil {
				t.Fatal(err)
			}
		}
		goods[0].Close()
		goods[1].Disconnect() // reconnects by itself

		// Raw sockets: joined, never joined, refused (binary frame),
		// on a deleted document, on an unknown one.
		joined, silent, binary := dial(t, ts, id), dial(t, ts, id), dial(t, ts, id)
		joined.join("raw", nil)
		binary.join("bin", nil)
		binary.c.WriteMessage(websocket.BinaryMessage, []byte("x"))
		binary.expectClose(wire.CloseUnsupported)
		onGone := dial(t, ts, gone)
		onGone.join("x", nil)
		if code, _ := do(t, "DELETE", ts.URL+"/api/docs/"+gone, ""); code != http.StatusNoContent {
			t.Fatalf("DELETE: %d", code)
		}
		onGone.expectClose(wire.CloseNotFound)
		unknown := dial(t, ts, "nope")
		unknown.sendRaw(`{"type":"join","name":"u"}`)
		unknown.expectClose(wire.CloseNotFound)

		// Shut down with sockets open; they answer the close frames.
		var wg sync.WaitGroup
		for _, w := range []*wsClient{joined, silent} {
			wg.Add(1)
			go func() { // ends when the server closes the socket
				defer wg.Done()
				for range 100000 {
					w.c.SetReadDeadline(time.Now().Add(20 * time.Second))
					if _, _, err := w.c.ReadMessage(); err != nil {
						return
					}
				}
			}()
		}
		if err := srv.Close(ctx); err != nil {
			t.Fatalf("Close: %v", err)
		}
		wg.Wait()
		for _, c := range goods {
			c.Close()
		}
		for _, w := range []*wsClient{joined, silent, binary, onGone, unknown} {
			w.c.Close()
		}
	}()
	idle()
	var now int
	for range 1000 { // a bound, not a timing assertion
		if now = runtime.NumGoroutine(); now <= before {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	var b strings.Builder
	pprof.Lookup("goroutine").WriteTo(&b, 1)
	t.Fatalf("%d goroutines before, %d after the server and its clients closed:\n%s", before, now, b.String())
}
