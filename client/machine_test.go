package client

import (
	"errors"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/session"
	"github.com/tandem-editor/tandem/wire"
)

func ins(at, n int, s string) ot.Op {
	var op ot.Op
	op.Retain(at).Insert(s).Retain(n - at)
	return op
}

func del(at, k, n int) ot.Op {
	var op ot.Op
	op.Retain(at).Delete(k).Retain(n - at - k)
	return op
}

// joined returns a net whose clients have all joined a document with text.
func joinedNet(t *testing.T, text string, ids ...string) *simNet {
	t.Helper()
	n := newSimNet(t, text, ids...)
	for i := range n.clients {
		n.connect(i)
		n.settle()
	}
	return n
}

func upMsgs(t *testing.T, c *simClient) []*wire.Message {
	t.Helper()
	var out []*wire.Message
	for _, b := range c.up {
		out = append(out, decode(t, b))
	}
	return out
}

func TestEditWhileSynchronizedIsSentAtOnce(t *testing.T) {
	n := joinedNet(t, "ab", "a")
	n.edit(0, ins(1, 2, "x"))
	m := n.clients[0].m
	if got, want := m.Text(), "axb"; got != want {
		t.Fatalf("local text %q, want %q", got, want)
	}
	msgs := upMsgs(t, n.clients[0])
	if len(msgs) != 1 || msgs[0].Type != wire.TypeOp || *msgs[0].Seq != 1 || *msgs[0].Rev != 0 || msgs[0].Op.String() != `[1,"x",1]` {
		t.Fatalf("sent %s, want one op seq 1 at revision 0", encode(t, msgs[0]))
	}
	if m.Phase() != AwaitingConfirm {
		t.Fatalf("phase %v, want awaiting confirm", m.Phase())
	}
	n.settle()
	if m.Phase() != Synchronized || m.Rev() != 1 || n.srv.text != "axb" {
		t.Fatalf("after the ack: phase %v rev %d server %q; want synchronized at 1 with %q", m.Phase(), m.Rev(), n.srv.text, "axb")
	}
}

func TestEditsWhileAwaitingAreComposedIntoOneOp(t *testing.T) {
	n := joinedNet(t, "", "a")
	n.edit(0, ins(0, 0, "a"))
	n.edit(0, ins(1, 1, "b"))
	n.edit(0, ins(2, 2, "c"))
	m := n.clients[0].m
	if m.Phase() != AwaitingWithBuffer || len(n.clients[0].up) != 1 {
		t.Fatalf("phase %v with %d messages sent; want awaiting with buffer and 1", m.Phase(), len(n.clients[0].up))
	}
	n.deliverUp(0)
	n.deliverDown(0) // the ack sends the buffer
	msgs := upMsgs(t, n.clients[0])
	if len(msgs) != 1 || *msgs[0].Seq != 2 || *msgs[0].Rev != 1 || msgs[0].Op.String() != `[1,"bc"]` {
		t.Fatalf("after the ack sent %v, want op seq 2 at revision 1 [1,\"bc\"]", msgs)
	}
	n.settle()
	n.check()
	if got := len(n.srv.log); got != 2 {
		t.Fatalf("server log has %d entries, want 2", got)
	}
}

func TestRemoteOpTransformsPastFlightAndBuffer(t *testing.T) {
	n := joinedNet(t, "0123", "a", "b")
	n.edit(0, ins(1, 4, "A")) // in flight: 0A123
	n.edit(0, del(3, 1, 5))   // buffer: 0A13
	n.edit(1, ins(2, 4, "B")) // 01B23
	n.deliverUp(1)            // the server applies b's op first
	n.deliverDown(0)          // a receives it while awaiting with buffer
	if got, want := n.clients[0].m.Text(), "0A1B3"; got != want {
		t.Fatalf("a's text %q, want %q", got, want)
	}
	n.settle()
	n.check()
	if n.srv.text != "0A1B3" {
		t.Fatalf("server text %q, want %q", n.srv.text, "0A1B3")
	}
}

func TestConcurrentInsertsAtOnePositionPutTheLaterLeft(t *testing.T) {
	n := joinedNet(t, "", "a", "b")
	n.edit(0, ins(0, 0, "A"))
	n.edit(1, ins(0, 0, "B"))
	n.deliverUp(1) // b's op is applied first; a's arrives later and lands left
	n.settle()
	n.check()
	if n.srv.text != "AB" {
		t.Fatalf("text %q, want %q", n.srv.text, "AB")
	}
}

func TestLostAckOwnOpInCatchUpActsAsAck(t *testing.T) {
	n := joinedNet(t, "x", "a", "b")
	n.edit(0, ins(1, 1, "1"))
	n.deliverUp(0) // applied as revision 1; the ack is in transit
	n.edit(0, ins(2, 2, "2"))
	n.edit(1, ins(0, 1, "B"))
	n.deliverUp(1) // revision 2
	n.drop(0)      // the ack and the op of revision 2 are lost
	n.connect(0)
	n.deliverUp(0) // join with rev 0: catch-up sends revisions 1 (a's own) and 2
	ev := n.deliverDown(0)
	if ev.Acked != 1 {
		t.Fatalf("own op in catch-up: acked %d, want 1", ev.Acked)
	}
	if len(n.clients[0].up) != 0 {
		t.Fatalf("a sent %d messages during catch-up, want none before joined", len(n.clients[0].up))
	}
	n.settle()
	n.check()
	if n.srv.text != "Bx12" {
		t.Fatalf("text %q, want %q", n.srv.text, "Bx12")
	}
}

func TestUnappliedOpIsResentWithTheSameSeq(t *testing.T) {
	n := joinedNet(t, "x", "a", "b")
	n.edit(0, ins(0, 1, "A"))
	n.drop(0) // the op never reached the server
	n.edit(1, ins(1, 1, "B"))
	n.settle()
	n.connect(0)
	n.deliverUp(0)
	n.deliverDown(0) // b's op, caught up
	n.deliverDown(0) // joined, seq 0: a resends
	msgs := upMsgs(t, n.clients[0])
	if len(msgs) != 1 || *msgs[0].Seq != 1 || *msgs[0].Rev != 1 {
		t.Fatalf("after joined sent %v, want the op again with seq 1 at revision 1", msgs)
	}
	n.settle()
	n.check()
	if n.srv.text != "AxB" || len(n.srv.log) != 2 {
		t.Fatalf("server %q with %d entries, want %q with 2", n.srv.text, len(n.srv.log), "AxB")
	}
}

func TestPresenceWaitsUntilSynchronized(t *testing.T) {
	n := joinedNet(t, "abc", "a", "b")
	n.edit(0, ins(0, 3, "x"))
	n.setSel(0, []ot.Range{{Anchor: 2, Head: 2}})
	n.setSel(0, []ot.Range{{Anchor: 3, Head: 4}})
	for _, m := range upMsgs(t, n.clients[0]) {
		if m.Type == wire.TypePresence {
			t.Fatalf("presence sent while awaiting: %s", encode(t, m))
		}
	}
	n.deliverUp(0)
	n.deliverDown(0) // ack
	msgs := upMsgs(t, n.clients[0])
	if len(msgs) != 1 || msgs[0].Type != wire.TypePresence || *msgs[0].Rev != 1 || !slices.Equal(msgs[0].Sel, []wire.Range{{3, 4}}) {
		t.Fatalf("after the ack sent %v, want the latest selection [[3,4]] at revision 1", msgs)
	}
	n.settle()
	n.check()
}

func TestPeerCursorMapsThroughPendingOps(t *testing.T) {
	n := joinedNet(t, "abcd", "a", "b")
	n.setSel(1, []ot.Range{{Anchor: 2, Head: 2}})
	n.settle()
	n.edit(0, ins(1, 4, "12")) // before b's cursor, not yet acknowledged
	p := n.clients[0].m.Peers()["b"]
	if want := []ot.Range{{Anchor: 4, Head: 4}}; !slices.Equal(p.Sel, want) {
		t.Fatalf("b's cursor in a's view %v, want %v", p.Sel, want)
	}
	n.edit(0, ins(4, 6, "Z")) // exactly at b's cursor: the cursor moves after it
	if want := []ot.Range{{Anchor: 5, Head: 5}}; !slices.Equal(n.clients[0].m.Peers()["b"].Sel, want) {
		t.Fatalf("b's cursor after an insert at it %v, want %v", n.clients[0].m.Peers()["b"].Sel, want)
	}
	n.settle()
	n.check()
}

func TestPeerLeavesAndRejoins(t *testing.T) {
	n := joinedNet(t, "abc", "a", "b")
	if _, ok := n.clients[0].m.Peers()["b"]; !ok {
		t.Fatal("a does not see b")
	}
	n.drop(1)
	n.settle()
	if _, ok := n.clients[0].m.Peers()["b"]; ok {
		t.Fatal("a still sees b after it left")
	}
	n.connect(1)
	n.settle()
	n.check()
}

func TestSnapshotOnRejoinDropsPendingEdits(t *testing.T) {
	m := NewMachine("", "", "")
	m.Join()
	for _, s := range []string{`{"type":"snapshot","rev":5,"text":"hello"}`, `{"type":"joined","rev":5,"seq":2,"client":"a","secret":"s3cretS3cretS3cretS3cr"}`} {
		if _, err := m.Receive(decode(t, []byte(s))); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Edit(ins(5, 5, "!")); err != nil {
		t.Fatal(err)
	}
	m.Disconnected()
	if join := m.Join(); join.Rev == nil || *join.Rev != 5 {
		t.Fatalf("rejoin %s, want rev 5", encode(t, join))
	}
	// The server lost revision 5 and answers with a snapshot.
	ev, err := m.Receive(decode(t, []byte(`{"type":"snapshot","rev":4,"text":"hell"}`)))
	if err != nil {
		t.Fatal(err)
	}
	if !ev.Lost || ev.LostOp.String() != `[5,"!"]` {
		t.Fatalf("event %+v, want the lost op [5,\"!\"]", ev)
	}
	if _, err := m.Receive(decode(t, []byte(`{"type":"joined","rev":4,"seq":2,"client":"a","secret":"s3cretS3cretS3cretS3cr"}`))); err != nil {
		t.Fatal(err)
	}
	if m.Text() != "hell" || !m.Synced() || len(m.Outbox()) != 0 {
		t.Fatalf("text %q synced %v: want %q, synchronized, nothing to send", m.Text(), m.Synced(), "hell")
	}
	if err := m.Edit(ins(4, 4, "o")); err != nil {
		t.Fatal(err)
	}
	if out := m.Outbox(); len(out) != 1 || *out[0].Seq != 3 {
		t.Fatalf("next op %v, want seq 3 (after joined's seq 2)", out)
	}
}

func TestResetAsksForASnapshot(t *testing.T) {
	n := joinedNet(t, "abc", "a")
	n.edit(0, ins(0, 3, "x"))
	n.settle()
	n.edit(0, ins(0, 4, "y"))
	n.drop(0)
	lost, ok := n.clients[0].m.Reset()
	if !ok || lost.String() != `["y",4]` {
		t.Fatalf("reset lost %v %v, want [\"y\",4]", lost, ok)
	}
	if err := n.clients[0].m.Edit(ins(0, 4, "z")); !errors.Is(err, ErrNoDocument) {
		t.Fatalf("edit after reset: %v, want ErrNoDocument", err)
	}
	n.connect(0)
	if join := decode(t, n.clients[0].up[0]); join.Rev != nil {
		t.Fatalf("join after reset %s, want no rev", n.clients[0].up[0])
	}
	n.settle()
	n.check()
	if n.clients[0].m.Text() != "xabc" {
		t.Fatalf("text %q, want %q", n.clients[0].m.Text(), "xabc")
	}
}

func TestEditBetweenSnapshotAndJoinedIsNumberedAfterJoinedSeq(t *testing.T) {
	m := NewMachine("", "", "")
	m.Join()
	m.Receive(decode(t, []byte(`{"type":"snapshot","rev":0,"text":""}`)))
	m.Receive(decode(t, []byte(`{"type":"joined","rev":0,"seq":0,"client":"a","secret":"s3cretS3cretS3cretS3cr"}`)))
	m.Edit(ins(0, 0, "x")) // seq 1, refused by the server: resync
	m.Disconnected()
	m.Reset()
	m.Join()
	if _, err := m.Receive(decode(t, []byte(`{"type":"snapshot","rev":0,"text":""}`))); err != nil {
		t.Fatal(err)
	}
	if err := m.Edit(ins(0, 0, "y")); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Receive(decode(t, []byte(`{"type":"joined","rev":0,"seq":0,"client":"a","secret":"s3cretS3cretS3cretS3cr"}`))); err != nil {
		t.Fatalf("joined after an edit made on the snapshot: %v", err)
	}
	if out := m.Outbox(); len(out) != 1 || *out[0].Seq != 1 || *out[0].Rev != 0 {
		t.Fatalf("sent %v, want the edit as seq 1 at revision 0", out)
	}
}

func TestProtocolViolationsLeaveTheStateUnchanged(t *testing.T) {
	cases := []struct {
		name string
		msg  string
	}{
		{"revision gap", `{"type":"op","rev":3,"op":[1,"x"],"client":"b","seq":1}`},
		{"revision repeated", `{"type":"op","rev":1,"op":[1,"x"],"client":"b","seq":1}`},
		{"op that does not fit", `{"type":"op","rev":2,"op":[7,"x"],"client":"b","seq":1}`},
		{"ack of another seq", `{"type":"ack","seq":3,"rev":2}`},
		{"ack with a gap", `{"type":"ack","seq":2,"rev":3}`},
		{"own op of another seq", `{"type":"op","rev":2,"op":[2,"x"],"client":"a","seq":5}`},
		{"joined outside a join", `{"type":"joined","rev":1,"seq":1}`},
		{"snapshot outside a join", `{"type":"snapshot","rev":1,"text":""}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := joinedNet(t, "a", "a")
			n.edit(0, ins(1, 1, "b"))
			n.settle()
			n.edit(0, ins(2, 2, "c")) // seq 2 in flight at revision 1
			m := n.clients[0].m
			before, beforeText := *m, m.Text() // the text is a rope, shared by the copy: keep it as a string
			_, err := m.Receive(decode(t, []byte(tc.msg)))
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("receive %s: %v, want ErrProtocol", tc.msg, err)
			}
			if m.Text() != beforeText || m.Rev() != before.rev || m.Phase() != before.phase || m.flightSeq != before.flightSeq {
				t.Fatalf("state changed: text %q rev %d phase %v, was %q %d %v", m.Text(), m.Rev(), m.Phase(), beforeText, before.rev, before.phase)
			}
		})
	}
}

func TestEditRefusesAnOpThatDoesNotApply(t *testing.T) {
	n := joinedNet(t, "😀", "a")
	for _, op := range []ot.Op{ins(1, 2, "x"), ins(0, 3, "x")} {
		if err := n.clients[0].m.Edit(op); err == nil {
			t.Errorf("edit %v on %q succeeded, want an error", op, "😀")
		}
	}
	if m := n.clients[0].m; m.Text() != "😀" || !m.Synced() || len(n.clients[0].up) != 0 {
		t.Fatalf("after refused edits: text %q synced %v sent %d", m.Text(), m.Synced(), len(n.clients[0].up))
	}
}

// TestRandomConvergence runs clients against the simulated server with
// random edits, selections, delivery order and reconnects, then checks
// that everything converged and each (client, seq) was applied once.
// TANDEM_SEED=n reruns one seed.
func TestRandomConvergence(t *testing.T) { randomConvergence(t, session.Config{}) }

// TestRandomConvergenceSmallWindow is TestRandomConvergence with a server
// that keeps 2 ops in memory: joins from further back are caught up from
// the log page by page, and ops based further back are refused as stale
// (close 4001); the clients rejoin, catch up and resend.
func TestRandomConvergenceSmallWindow(t *testing.T) {
	stale, fetches := randomConvergence(t, session.Config{History: 2, CatchUpBytes: 200})
	if os.Getenv("TANDEM_SEED") == "" && (stale == 0 || fetches == 0) {
		t.Fatalf("%d stale refusals and %d log pages over all seeds: the small window was not exercised", stale, fetches)
	}
}

// randomConvergence runs the seeds and returns how many ops the server
// refused as stale and how many log pages it fetched, over all of them.
func randomConvergence(t *testing.T, cfg session.Config) (stale, fetches int) {
	seeds := make([]uint64, 40)
	for i := range seeds {
		seeds[i] = uint64(i + 1)
	}
	if s := os.Getenv("TANDEM_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("TANDEM_SEED: %v", err)
		}
		seeds = []uint64{v}
	}
	for _, seed := range seeds {
		t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 0))
			defer func() {
				if t.Failed() {
					t.Logf("rerun with TANDEM_SEED=%d", seed)
				}
			}()
			ids := []string{"a", "b", "c", "d", "e"}[:3+r.IntN(3)]
			n := newSimNetWith(t, cfg, randText(r, r.IntN(8)), ids...)
			for i := range n.clients {
				n.connect(i)
			}
			reconnects := 0
			for range 1500 {
				i := r.IntN(len(n.clients))
				c := n.clients[i]
				switch k := r.IntN(100); {
				case k < 30:
					if c.m.HasDocument() {
						n.edit(i, randOp(r, c.m.Text()))
					}
				case k < 35:
					if c.m.HasDocument() {
						n.setSel(i, randSel(r, c.m.Text()))
					}
				case k < 65:
					if len(c.up) > 0 {
						n.deliverUp(i)
					}
				case k < 95:
					if len(c.down) > 0 {
						n.deliverDown(i)
					}
				case k < 97:
					if c.connected {
						n.drop(i)
					}
				case k < 98: // a resync: local edits are dropped
					if c.connected {
						n.drop(i)
					}
					c.m.Reset()
					n.connect(i)
					reconnects++
				default:
					if !c.connected {
						n.connect(i)
						reconnects++
					}
				}
			}
			for i, c := range n.clients {
				if !c.connected {
					n.connect(i)
				}
			}
			n.settle()
			n.check()
			stale, fetches = stale+n.srv.stale, fetches+n.srv.fetches
			t.Logf("%d clients, %d revisions, %d reconnects, %d stale, %d pages fetched", len(ids), len(n.srv.log), reconnects, n.srv.stale, n.srv.fetches)
		})
	}
	return stale, fetches
}

func TestPhaseString(t *testing.T) {
	got := []string{Synchronized.String(), AwaitingConfirm.String(), AwaitingWithBuffer.String()}
	want := []string{"synchronized", "awaiting confirm", "awaiting with buffer"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("phase names (-want +got):\n%s", diff)
	}
}

// TestEditRefusedWithABufferChangesNothing: with an op in flight and a
// buffer, a refused edit (one cutting a pair the buffer inserted, one not
// valid Unicode, one of the wrong length) leaves the text, the buffer and
// the phase as they were; the text is a rope edited in place, so a half-made
// edit would show.
func TestEditRefusedWithABufferChangesNothing(t *testing.T) {
	n := joinedNet(t, "ab", "a")
	m := n.clients[0].m
	n.edit(0, ins(1, 2, "x")) // in flight
	n.edit(0, ins(3, 3, "😀")) // buffered: "axb😀"
	if m.Phase() != AwaitingWithBuffer {
		t.Fatalf("phase %v, want awaiting with buffer", m.Phase())
	}
	buffer := m.buffer.String()
	for _, op := range []ot.Op{ins(4, 5, "y"), ins(0, 5, "\xff"), ins(0, 4, "y")} {
		if err := m.Edit(op); err == nil {
			t.Errorf("edit %v on %q succeeded, want an error", op, m.Text())
		}
		if got, want := m.Text(), "axb😀"; got != want || m.Len() != 5 {
			t.Fatalf("after refusing %v: text %q (len %d), want %q (len 5)", op, got, m.Len(), want)
		}
		if m.buffer.String() != buffer || m.Phase() != AwaitingWithBuffer {
			t.Fatalf("after refusing %v: buffer %v phase %v, want %v awaiting with buffer", op, m.buffer, m.Phase(), buffer)
		}
	}
}

func TestCarrierNamesTheSeqThatAcknowledgesAnEdit(t *testing.T) {
	n := joinedNet(t, "", "a")
	m := n.clients[0].m
	if got := m.Carrier(); got != 0 {
		t.Fatalf("carrier while synchronized: %d, want 0", got)
	}
	n.edit(0, ins(0, 0, "a")) // sent at once as seq 1
	if got := m.Carrier(); got != 1 {
		t.Fatalf("carrier of the op in flight: %d, want 1", got)
	}
	n.edit(0, ins(1, 1, "b")) // buffered: goes out as seq 2
	n.edit(0, ins(2, 2, "c"))
	if got := m.Carrier(); got != 2 {
		t.Fatalf("carrier of the buffer: %d, want 2", got)
	}
	n.deliverUp(0)
	if ev := n.deliverDown(0); ev.Acked != 1 {
		t.Fatalf("acked %d, want 1", ev.Acked)
	}
	if got := m.Carrier(); got != 2 {
		t.Fatalf("carrier once the buffer is in flight: %d, want 2", got)
	}
	n.deliverUp(0)
	if ev := n.deliverDown(0); ev.Acked != 2 {
		t.Fatalf("acked %d, want 2 (the seq Carrier named for b and c)", ev.Acked)
	}
	if got := m.Carrier(); got != 0 {
		t.Fatalf("carrier after every ack: %d, want 0", got)
	}
	// Offline, the flight has no seq yet: Carrier names the one it will get.
	n.drop(0)
	n.edit(0, ins(3, 3, "d"))
	n.edit(0, ins(4, 4, "e"))
	if got := m.Carrier(); got != 4 {
		t.Fatalf("carrier of a buffer behind an unsent flight: %d, want 4", got)
	}
	n.connect(0)
	n.settle()
	n.check()
	if m.Seq() != 4 {
		t.Fatalf("seq after the reconnect %d, want 4", m.Seq())
	}
}
