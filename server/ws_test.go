package server

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/websocket"

	"github.com/tandem-editor/tandem/store"
	"github.com/tandem-editor/tandem/wire"
)

func TestWSForeignOrigin(t *testing.T) {
	_, ts := newTestServer(t, func(c *testConfig) { c.AllowedOrigins = []string{"https://editor.example"} })
	id := createDoc(t, ts)
	dialWith := func(origin string) (*websocket.Conn, *http.Response, error) {
		h := http.Header{}
		if origin != "" {
			h.Set("Origin", origin)
		}
		return websocket.DefaultDialer.Dial(wsURL(ts, id), h)
	}
	c, res, err := dialWith("https://evil.example")
	if err == nil {
		c.Close()
		t.Fatalf("dial from a foreign origin: upgraded, want 403")
	}
	if res == nil || res.StatusCode != http.StatusForbidden {
		t.Fatalf("dial from a foreign origin: got %v %v, want status 403", res, err)
	}
	for _, origin := range []string{"", "http://" + strings.TrimPrefix(ts.URL, "http://"), "https://editor.example"} {
		c, _, err := dialWith(origin)
		if err != nil {
			t.Fatalf("dial with Origin %q: %v", origin, err)
		}
		c.Close()
	}
}

func TestJoinSnapshot(t *testing.T) {
	_, ts := newTestServer(t, nil)
	id := createDoc(t, ts)
	a := dial(t, ts, id)
	before, joined := a.join("a", nil)
	aID := joined.Client
	if len(before) != 1 || before[0].Type != wire.TypeSnapshot || *before[0].Rev != 0 || *before[0].Text != "" {
		t.Fatalf("join: got %+v before joined, want one empty snapshot at rev 0", before)
	}
	if *joined.Rev != 0 || *joined.Seq != 0 || len(joined.Peers) != 0 {
		t.Fatalf("joined: got %+v, want rev 0, seq 0, no peers", joined)
	}
	a.submit(0, 1, `["héllo 😀"]`)

	// A second client gets the text, and a join with a rev above the
	// current one also gets a snapshot.
	b := dial(t, ts, id)
	before, joined = b.join("b", wire.IntPtr(7))
	if len(before) != 1 || before[0].Type != wire.TypeSnapshot || *before[0].Text != "héllo 😀" || *before[0].Rev != 1 {
		t.Fatalf("join: got %+v, want a snapshot of rev 1", before)
	}
	want := []wire.Peer{{Client: aID, Name: "N a", Color: "#123", Sel: []wire.Range{}}}
	if diff := cmp.Diff(want, joined.Peers); diff != "" {
		t.Fatalf("joined peers (-want +got):\n%s", diff)
	}
	// a sees b arrive.
	p := a.next(wire.TypePresence)
	if p.Client != joined.Client || p.Name != "N b" || p.Color != "#123" || len(p.Sel) != 0 {
		t.Fatalf("presence of the newcomer: got %+v", p)
	}
}

func TestOpAckBroadcast(t *testing.T) {
	_, ts := newTestServer(t, nil)
	id := createDoc(t, ts)
	a, b := dial(t, ts, id), dial(t, ts, id)
	_, ja := a.join("a", nil)
	b.join("b", nil)

	if rev := a.submit(0, 1, `["hello"]`); rev != 1 {
		t.Fatalf("ack: got rev %d, want 1", rev)
	}
	op := b.next(wire.TypeOp)
	if *op.Rev != 1 || op.Client != ja.Client || *op.Seq != 1 || op.Op.String() == "" {
		t.Fatalf("broadcast: got %+v", op)
	}
	if got, _ := json.Marshal(op.Op); string(got) != `["hello"]` {
		t.Fatalf("broadcast op: got %s, want [\"hello\"]", got)
	}

	// Concurrent edits: b's op against rev 0 is transformed past a's.
	if rev := b.submit(0, 1, `["X"]`); rev != 2 {
		t.Fatalf("b's ack: got rev %d, want 2", rev)
	}
	op = a.next(wire.TypeOp)
	if got, _ := json.Marshal(op.Op); *op.Rev != 2 || string(got) != `["X",5]` {
		t.Fatalf("transformed broadcast: got rev %d op %s, want rev 2 [\"X\",5] (the later insert lands left)", *op.Rev, got)
	}
	if text, rev := docText(t, ts, id); text != "Xhello" || rev != 2 {
		t.Fatalf("text: got %q at %d, want \"Xhello\" at 2", text, rev)
	}
}

func TestDedup(t *testing.T) {
	_, ts := newTestServer(t, nil)
	id := createDoc(t, ts)
	a, b := dial(t, ts, id), dial(t, ts, id)
	a.join("a", nil)
	b.join("b", nil)
	if rev := a.submit(0, 1, `["x"]`); rev != 1 {
		t.Fatalf("first ack: rev %d, want 1", rev)
	}
	// The same seq again (a resubmission after a lost ack), even against
	// an old rev and with another op: acked again with the same rev.
	if rev := a.submit(0, 1, `[99]`); rev != 1 {
		t.Fatalf("second ack: rev %d, want 1", rev)
	}
	a.submit(1, 2, `[1,"y"]`)
	// b sees revisions 1 and 2 once each.
	for want := 1; want <= 2; want++ {
		if op := b.next(wire.TypeOp); *op.Rev != want {
			t.Fatalf("b: got op rev %d, want %d", *op.Rev, want)
		}
	}
	code, body := do(t, "GET", ts.URL+"/api/docs/"+id+"/ops", "")
	var es []entryJSON
	json.Unmarshal(body, &es)
	if code != 200 || len(es) != 2 {
		t.Fatalf("log: got %d %s, want 2 entries", code, body)
	}
	// A rejoining client learns its highest applied seq.
	c := dial(t, ts, id)
	if _, joined := c.join("a", nil); *joined.Seq != 2 {
		t.Fatalf("rejoin: joined.seq %d, want 2", *joined.Seq)
	}
}

func TestRefusedOps(t *testing.T) {
	_, ts := newTestServer(t, func(c *testConfig) { c.Session.MaxDocLen = 8 })
	tests := []struct {
		name  string
		setup string // an op b applies first, against rev 0
		msg   string
		code  string
		seq   bool // the error carries the op's seq
	}{
		{"seq skips ahead", "", `{"type":"op","rev":0,"seq":3,"op":["x"]}`, wire.CodeBadSeq, false},
		{"seq zero", "", `{"type":"op","rev":0,"seq":0,"op":["x"]}`, wire.CodeBadSeq, false},
		{"rev in the future", "", `{"type":"op","rev":5,"seq":1,"op":["x"]}`, wire.CodeBadRev, false},
		{"zero component", "", `{"type":"op","rev":0,"seq":1,"op":[0]}`, wire.CodeBadOp, true},
		{"float component", "", `{"type":"op","rev":0,"seq":1,"op":[1.5]}`, wire.CodeBadOp, true},
		{"object component", "", `{"type":"op","rev":0,"seq":1,"op":[{}]}`, wire.CodeBadOp, true},
		{"missing op", "", `{"type":"op","rev":0,"seq":1}`, wire.CodeBadOp, false},
		{"base length", "", `{"type":"op","rev":0,"seq":1,"op":[5]}`, wire.CodeBaseLength, false},
		{"lone surrogate", "", `{"type":"op","rev":0,"seq":1,"op":["\ud83d"]}`, wire.CodeInvalidUnicode, true},
		{"surrogate split", `["😀"]`, `{"type":"op","rev":1,"seq":1,"op":[1,"x",1]}`, wire.CodeSurrogateSplit, false},
		{"doc too large", "", `{"type":"op","rev":0,"seq":1,"op":["123456789"]}`, wire.CodeDocTooLarge, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := createDoc(t, ts)
			a, b := dial(t, ts, id), dial(t, ts, id)
			a.join("a", nil)
			b.join("b", nil)
			bseq, rev := 1, 0
			if tt.setup != "" {
				rev = b.submit(0, 1, tt.setup)
				bseq++
				a.next(wire.TypeOp)
			}
			a.sendRaw(tt.msg)
			e := a.expectError(tt.code)
			if tt.seq && (e.Seq == nil || *e.Seq != 1) {
				t.Errorf("error %+v: want seq 1", e)
			}
			a.expectClose(wire.CloseResync)
			// The other client carries on.
			op := `["o"]`
			if tt.setup != "" {
				op = `["o",2]`
			}
			if got := b.submit(rev, bseq, op); got != rev+1 {
				t.Fatalf("b after a's refusal: ack rev %d, want %d", got, rev+1)
			}
		})
	}
}

func TestMessageErrorsKeepSocket(t *testing.T) {
	_, ts := newTestServer(t, nil)
	id := createDoc(t, ts)
	a := dial(t, ts, id)
	for _, tt := range []struct{ msg, code string }{
		{`{"type":"op","rev":0,"seq":1,"op":["x"]}`, wire.CodeNotJoined},
		{`{"type":"presence","rev":0,"sel":[]}`, wire.CodeNotJoined},
		{`nonsense`, wire.CodeBadJSON},
		{`{"type":"join"`, wire.CodeBadJSON},
		{`{"type":5}`, wire.CodeBadMessage},
		{`[1,2]`, wire.CodeBadMessage},
		{`{"rev":1}`, wire.CodeBadMessage},
		{`{"type":"join","name":"c","rev":"one"}`, wire.CodeBadMessage},
		{`{"type":"ack","seq":1}`, wire.CodeUnknownType},
		{`{"type":"join","client":"not valid!"}`, wire.CodeBadClient},
		{`{"type":"join","name":"c","color":"red"}`, wire.CodeBadMessage},
	} {
		a.sendRaw(tt.msg)
		a.expectError(tt.code)
	}
	a.join("a", nil)
	for _, tt := range []struct{ msg, code string }{
		{`{"type":"join","name":"a"}`, wire.CodeAlreadyJoined},
		{`{"type":"presence","rev":0,"sel":[[0]]}`, wire.CodeBadPresence},
		{`{"type":"presence","rev":0,"sel":[[0,1.5]]}`, wire.CodeBadPresence},
		{`{"type":"presence","rev":0,"sel":[[3,3]]}`, wire.CodeBadPresence},
		{`{"type":"presence","rev":4,"sel":[[0,0]]}`, wire.CodeBadPresence},
		{`{"type":"presence","rev":0}`, wire.CodeBadPresence},
		{`{"type":"nope"}`, wire.CodeUnknownType},
	} {
		a.sendRaw(tt.msg)
		a.expectError(tt.code)
	}
	if rev := a.submit(0, 1, `["still here"]`); rev != 1 {
		t.Fatalf("after refused messages: ack rev %d, want 1", rev)
	}
}

func TestBinaryFrame(t *testing.T) {
	_, ts := newTestServer(t, nil)
	id := createDoc(t, ts)
	a := dial(t, ts, id)
	a.join("a", nil)
	if err := a.c.WriteMessage(websocket.BinaryMessage, []byte(`{"type":"op"}`)); err != nil {
		t.Fatal(err)
	}
	a.expectError(wire.CodeBinaryFrame)
	a.expectClose(wire.CloseUnsupported)
}

func TestTooLarge(t *testing.T) {
	_, ts := newTestServer(t, func(c *testConfig) { c.MaxMessage = 1024 })
	id := createDoc(t, ts)
	op := func(n int) string { return `{"type":"op","rev":0,"seq":1,"op":["` + strings.Repeat("x", n) + `"]}` }

	// Just over the limit: an error, then close 1009.
	a := dial(t, ts, id)
	a.join("a", nil)
	a.sendRaw(op(2000))
	a.expectError(wire.CodeTooLarge)
	a.expectClose(wire.CloseTooLarge)

	// Far over it: the WebSocket library closes with 1009 as it reads.
	b := dial(t, ts, id)
	b.join("b", nil)
	b.c.WriteMessage(websocket.TextMessage, []byte(op(1<<20))) // may fail once the server closes
	b.expectClose(wire.CloseTooLarge)

	// Nothing was applied.
	if text, rev := docText(t, ts, id); text != "" || rev != 0 {
		t.Fatalf("text: got %q at %d, want empty at 0", text, rev)
	}
}

// The per-socket message rate slows a fast client down instead of
// closing it: every message is handled, in order, and the socket stays
// open.
func TestRateLimitPaces(t *testing.T) {
	const rate, burst, n = 40, 3, 30
	_, ts := newTestServer(t, func(c *testConfig) { c.RateLimit, c.RateBurst = rate, burst })
	id := createDoc(t, ts)
	a := dial(t, ts, id)
	a.join("a", nil) // the join is the first of the burst
	start := time.Now()
	for i := range n {
		op := `["x"]`
		if i > 0 {
			op = `[` + itoa(i) + `,"x"]`
		}
		a.sendRaw(`{"type":"op","rev":` + itoa(i) + `,"seq":` + itoa(i+1) + `,"op":` + op + `}`)
	}
	for i := range n {
		if ack := a.next(wire.TypeAck); *ack.Seq != i+1 {
			t.Fatalf("ack %d: %+v", i, ack)
		}
	}
	// The limiter cannot let n messages through faster than this; the
	// bound is what the rate allows, not a speed.
	if min := time.Duration(n-burst) * time.Second / rate; time.Since(start) < min*9/10 {
		t.Fatalf("%d messages handled in %v; the rate allows no less than %v", n, time.Since(start), min)
	}
	if text, rev := docText(t, ts, id); rev != n || text != strings.Repeat("x", n) {
		t.Fatalf("text %q at %d", text, rev)
	}
}

func TestUnknownDoc(t *testing.T) {
	_, ts := newTestServer(t, nil)
	a := dial(t, ts, "no-such-doc")
	a.sendRaw(`{"type":"join","name":"a"}`)
	a.expectError(wire.CodeNotFound)
	a.expectClose(wire.CloseNotFound)
}

func TestDeleteWhileConnected(t *testing.T) {
	srv, ts := newTestServer(t, nil)
	id := createDoc(t, ts)
	doc := docID(t, ts, id)
	a := dial(t, ts, id)
	a.join("a", nil)
	a.submit(0, 1, `["x"]`)
	if code, body := do(t, "DELETE", ts.URL+"/api/docs/"+id, "", "Content-Type", jsonCT); code != http.StatusNoContent {
		t.Fatalf("DELETE: got %d %s", code, body)
	}
	a.expectError(wire.CodeNotFound)
	a.expectClose(wire.CloseNotFound)
	waitFor(t, "the hub to stop", func() bool { return srv.sessions.Editors(doc) == 0 })
	// Joining it again is refused the same way.
	b := dial(t, ts, id)
	b.sendRaw(`{"type":"join","name":"b"}`)
	b.expectError(wire.CodeNotFound)
	b.expectClose(wire.CloseNotFound)
}

func TestPresenceAndLeave(t *testing.T) {
	_, ts := newTestServer(t, nil)
	id := createDoc(t, ts)
	a := dial(t, ts, id)
	_, ja := a.join("a", nil)
	a.submit(0, 1, `["hello"]`)
	a.sendRaw(`{"type":"presence","rev":1,"sel":[[2,2]]}`)
	a.submit(1, 2, `[5,"!"]`) // after the presence: the hub has it

	b := dial(t, ts, id)
	_, joined := b.join("b", nil)
	want := []wire.Peer{{Client: ja.Client, Name: "N a", Color: "#123", Sel: []wire.Range{{2, 2}}}}
	if diff := cmp.Diff(want, joined.Peers); diff != "" {
		t.Fatalf("joined peers (-want +got):\n%s", diff)
	}
	bID := joined.Client
	if p := a.next(wire.TypePresence); p.Client != bID {
		t.Fatalf("a: got presence %+v, want b's arrival", p)
	}

	b.sendRaw(`{"type":"presence","rev":2,"sel":[[3,3],[0,4]]}`)
	p := a.next(wire.TypePresence)
	if diff := cmp.Diff([]wire.Range{{3, 3}, {0, 4}}, p.Sel); diff != "" || p.Client != bID || *p.Rev != 2 {
		t.Fatalf("relayed presence %+v (-want +got sel):\n%s", p, diff)
	}

	// a inserts at 1; b, not having seen it, sends a selection at rev 2:
	// the server moves it past the insertion before relaying it.
	a.submit(2, 3, `[1,"ab",5]`)
	b.sendRaw(`{"type":"presence","rev":2,"sel":[[4,4],[1,1],[0,0]]}`)
	p = a.next(wire.TypePresence)
	if diff := cmp.Diff([]wire.Range{{6, 6}, {3, 3}, {0, 0}}, p.Sel); diff != "" || *p.Rev != 3 {
		t.Fatalf("transformed presence at rev %d (-want +got):\n%s", *p.Rev, diff)
	}

	// b leaves: a hears of it.
	b.c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	b.c.Close()
	if l := a.next(wire.TypeLeave); l.Client != bID {
		t.Fatalf("leave: got %+v, want b", l)
	}
}

func TestCatchUp(t *testing.T) {
	_, ts := newTestServer(t, nil)
	id := createDoc(t, ts)
	a := dial(t, ts, id)
	a.join("a", nil)
	for i, op := range []string{`["a"]`, `[1,"b"]`, `[2,"c"]`} {
		a.submit(i, i+1, op)
	}
	b := dial(t, ts, id)
	before, joined := b.join("b", wire.IntPtr(1))
	var got []int
	for _, m := range before {
		if m.Type != wire.TypeOp {
			t.Fatalf("catch-up: got %+v, want only ops", m)
		}
		got = append(got, *m.Rev)
	}
	if diff := cmp.Diff([]int{2, 3}, got); diff != "" || *joined.Rev != 3 {
		t.Fatalf("catch-up from rev 1 (-want +got):\n%s\njoined %+v", diff, joined)
	}
	// A client rejoining with its own ops missing gets them as ops (its
	// acks) and learns its highest seq.
	a2 := dial(t, ts, id)
	before, joined = a2.join("a", wire.IntPtr(0))
	if len(before) != 3 || before[0].Client != joined.Client || *before[2].Seq != 3 || *joined.Seq != 3 {
		t.Fatalf("rejoin: got %+v then %+v", before, joined)
	}
	// The replaced socket is closed with 4009.
	a.expectClose(wire.CloseReplaced)
}

func TestShutdown(t *testing.T) {
	dir := t.TempDir()
	srv, ts := newTestServerIn(t, dir, nil)
	keys := createDocLinks(t, ts)
	id := keys.Edit
	a := dial(t, ts, id)
	a.join("a", nil)
	a.submit(0, 1, `["kept"]`)
	idle := dial(t, ts, id) // never joins

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- srv.Close(ctx) }() // ends when the sockets are closed
	// The clients read, and answer the close frames, while Close waits.
	a.expectClose(wire.CloseGoingAway)
	idle.expectClose(wire.CloseGoingAway)
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}

	// New upgrades are refused.
	_, res, err := websocket.DefaultDialer.Dial(wsURL(ts, id), nil)
	if err == nil || res == nil || res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial after Close: got %v, want 503", err)
	}

	// The edit is on disk: a second store on the same file has it.
	db2, err := store.Open(context.Background(), filepath.Join(dir, "tandem.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	text, err := db2.TextAt(context.Background(), keys.ID, 1)
	if err != nil || text != "kept" {
		t.Fatalf("after restart: got %q, %v, want \"kept\"", text, err)
	}
}

func TestSlowPeerClosed(t *testing.T) {
	srv, ts := newTestServer(t, func(c *testConfig) {
		c.SendBudget = 64 << 10
		// The slow reader must not time out first, even on a busy machine.
		c.WriteWait, c.PongWait = time.Minute, 5*time.Minute
	})
	id := createDoc(t, ts)
	a := dial(t, ts, id)
	a.join("a", nil)
	// A small receive buffer, so that the socket fills up soon.
	d := websocket.Dialer{NetDial: func(network, addr string) (net.Conn, error) {
		c, err := net.Dial(network, addr)
		if err == nil {
			err = c.(*net.TCPConn).SetReadBuffer(16 << 10)
		}
		return c, err
	}}
	sc, _, err := d.Dial(wsURL(ts, id), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	slow := &wsClient{t: t, c: sc}
	slow.join("slow", nil)

	// a replaces the text with 64 KiB again and again while slow reads
	// nothing; once the socket buffers are full, slow's queue goes over
	// its budget and the hub closes it.
	const size = 64 << 10
	chunk := `"` + strings.Repeat("y", size) + `"`
	length, rev := 0, 0
	for seq := 1; ; seq++ {
		if seq > 400 {
			t.Fatalf("no slow peer after %d ops of 64 KiB", seq-1)
		}
		op := "[" + chunk
		if length > 0 {
			op += "," + itoa(-length)
		}
		rev = a.submit(rev, seq, op+"]")
		length = size
		if st, _, _ := srv.sessions.Stats(); st.SlowPeers > 0 {
			break
		}
	}
	// slow gets every op up to some revision, in order and without a gap,
	// then close 4001.
	msgs := slow.expectClose(wire.CloseTooSlow)
	want := 1
	for _, m := range msgs {
		if m.Type == wire.TypePresence || m.Type == wire.TypeLeave {
			continue
		}
		if m.Type != wire.TypeOp || *m.Rev != want {
			t.Fatalf("slow peer: got %s rev %v, want op rev %d", m.Type, m.Rev, want)
		}
		want++
	}
	if want == 1 {
		t.Fatalf("slow peer got no op before its close")
	}
	t.Logf("slow peer closed after %d ops; it had received %d", rev, want-1)
}

func TestPongTimeout(t *testing.T) {
	srv, ts := newTestServer(t, func(c *testConfig) { c.PingPeriod, c.PongWait = 20*time.Millisecond, 100*time.Millisecond })
	id := createDoc(t, ts)
	a := dial(t, ts, id)
	a.c.SetPingHandler(func(string) error { return nil }) // never answers
	a.join("a", nil)
	doc := docID(t, ts, id)
	if n := srv.sessions.Editors(doc); n != 1 {
		t.Fatalf("editors: got %d, want 1", n)
	}
	// The server drops the socket: the read fails.
	for range 10000 {
		if _, err := a.read(); err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the server kept a socket that answers no pings: %v", err)
			}
			break
		}
	}
	waitFor(t, "the peer to leave", func() bool { return srv.sessions.Editors(doc) == 0 })
}

// TestManyClientsConverge: several clients edit at once, each with one op
// in flight; every client sees every revision exactly once (its own as
// acks, the others' as ops), with no gap.
func TestManyClientsConverge(t *testing.T) {
	const clients, each = 5, 20
	_, ts := newTestServer(t, nil)
	id := createDoc(t, ts)
	conns := make([]*wsClient, clients)
	for i := range conns {
		conns[i] = dial(t, ts, id)
		conns[i].join(string(rune('a'+i)), nil)
	}
	errc := make(chan error, clients)
	seen := make([][]int, clients)
	for i, c := range conns {
		go func() { // ends when this client has seen every revision, or fails
			errc <- func() error {
				letter := string(rune('a' + i))
				for seq := 1; seq <= each; seq++ {
					// Against rev 0: the server transforms it past
					// everything applied since.
					msg := `{"type":"op","rev":0,"seq":` + itoa(seq) + `,"op":["` + letter + `"]}`
					if err := c.c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
						return err
					}
					for acked := false; !acked; {
						m, err := c.read()
						if err != nil {
							return err
						}
						switch m.Type {
						case wire.TypeAck:
							if *m.Seq != seq {
								return errors.New("ack for seq " + itoa(*m.Seq) + ", want " + itoa(seq))
							}
							acked = true
							seen[i] = append(seen[i], *m.Rev)
						case wire.TypeOp:
							seen[i] = append(seen[i], *m.Rev)
						case wire.TypePresence, wire.TypeLeave:
						default:
							return errors.New("unexpected " + m.Type + " " + m.Code)
						}
					}
				}
				for len(seen[i]) < clients*each {
					m, err := c.read()
					if err != nil {
						return err
					}
					if m.Type == wire.TypeOp {
						seen[i] = append(seen[i], *m.Rev)
					}
				}
				return nil
			}()
		}()
	}
	for range clients {
		if err := <-errc; err != nil {
			t.Fatalf("client: %v", err)
		}
	}
	want := make([]int, clients*each)
	for i := range want {
		want[i] = i + 1
	}
	for i := range seen {
		if diff := cmp.Diff(want, seen[i]); diff != "" {
			t.Errorf("client %d saw revisions (-want +got):\n%s", i, diff)
		}
	}
	if text, rev := docText(t, ts, id); len(text) != clients*each || rev != clients*each {
		t.Fatalf("text %q at rev %d, want %d letters", text, rev, clients*each)
	}
}

// ping is answered with pong at once, before and after a join.
func TestPingPong(t *testing.T) {
	_, ts := newTestServer(t, nil)
	id := createDoc(t, ts)
	a := dial(t, ts, id)
	a.sendRaw(`{"type":"ping"}`)
	if m, err := a.read(); err != nil || m.Type != wire.TypePong {
		t.Fatalf("before join: %+v %v", m, err)
	}
	a.join("a", nil)
	a.sendRaw(`{"type":"ping"}`)
	a.next(wire.TypePong)
}
