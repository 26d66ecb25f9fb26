package session

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/wire"
)

// These tests drive the Core directly, as its owner would: requests in,
// Ready out, nothing sent until the test says the entries are persisted.

func newTestCore(t *testing.T, text string) *Core {
	t.Helper()
	c, err := NewCore(Config{}, 0, text, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Tick(time.Unix(1e9, 0))
	return c
}

// sent decodes what rd sends to peer id, in order.
func sent(t *testing.T, rd Ready, id PeerID) []wire.Message {
	t.Helper()
	var out []wire.Message
	for _, m := range rd.Messages {
		for _, to := range m.To {
			if to == id {
				var msg wire.Message
				if err := json.Unmarshal(m.Data, &msg); err != nil {
					t.Fatalf("bad message %s: %v", m.Data, err)
				}
				out = append(out, msg)
			}
		}
	}
	return out
}

func editor(client string, rev int) JoinRequest {
	return JoinRequest{Client: client, Name: client, Color: "#123", Rev: rev, Rights: Rights{Edit: true}}
}

// An op's entry, its ack and its broadcast come out in one Ready: the
// owner persists the entry before it sends anything of that Ready.
func TestCoreOpComesOutAsEntryAckAndBroadcastTogether(t *testing.T) {
	c := newTestCore(t, "ab")
	c.Join(1, editor("a", -1))
	c.Join(2, editor("b", -1))
	c.Ready()
	c.Submit(1, Submit{Seq: wire.IntPtr(1), Rev: wire.IntPtr(0), Op: mustOp(t, `[1,"x",1]`)})
	rd := c.Ready()
	if len(rd.Entries) != 1 || rd.Entries[0].Rev != 1 || rd.Entries[0].Client != "a" {
		t.Fatalf("entries %+v, want a's op as revision 1", rd.Entries)
	}
	if got := types(sent(t, rd, 1)); !cmp.Equal(got, []string{"ack"}) {
		t.Fatalf("author got %v, want [ack]", got)
	}
	if got := sent(t, rd, 2); len(got) != 1 || got[0].Type != "op" || *got[0].Rev != 1 {
		t.Fatalf("other got %+v, want the op at revision 1", got)
	}
	if c.HasReady() {
		t.Fatalf("a second Ready is pending after taking the first")
	}
}

// When the entries could not be persisted, nothing of that Ready goes
// out: the acks are dropped and everyone is closed to reconnect.
func TestCoreStoreFailureDropsTheAcks(t *testing.T) {
	c := newTestCore(t, "")
	c.Join(1, editor("a", -1))
	c.Ready()
	c.Submit(1, Submit{Seq: wire.IntPtr(1), Rev: wire.IntPtr(0), Op: mustOp(t, `["x"]`)})
	c.StoreFailed(wire.CodeInternal, "disk full", wire.CloseInternal)
	rd := c.Ready()
	if len(rd.Entries) != 0 {
		t.Fatalf("entries %+v after a store failure, want none", rd.Entries)
	}
	if got := types(sent(t, rd, 1)); !cmp.Equal(got, []string{"error"}) {
		t.Fatalf("peer got %v, want only the error", got)
	}
	if len(rd.Closes) != 1 || rd.Closes[0].Code != wire.CloseInternal {
		t.Fatalf("closes %+v, want one 1011", rd.Closes)
	}
}

// Rights are checked on every op: a peer that may only read is refused
// and nothing is applied; it still receives the others' ops.
func TestCoreReadOnlyPeerCannotEdit(t *testing.T) {
	c := newTestCore(t, "")
	c.Join(1, JoinRequest{Client: "v", Name: "v", Color: "#123", Rev: -1})
	c.Join(2, editor("e", -1))
	c.Ready()
	c.Submit(2, Submit{Seq: wire.IntPtr(1), Rev: wire.IntPtr(0), Op: mustOp(t, `["e"]`)})
	if got := sent(t, c.Ready(), 1); len(got) != 1 || got[0].Type != "op" {
		t.Fatalf("reader got %+v, want the editor's op", got)
	}
	c.Submit(1, Submit{Seq: wire.IntPtr(1), Rev: wire.IntPtr(1), Op: mustOp(t, `[1,"v"]`)})
	rd := c.Ready()
	if got := sent(t, rd, 1); len(got) != 1 || got[0].Code != wire.CodeForbidden {
		t.Fatalf("reader's op: got %+v, want forbidden", got)
	}
	if len(rd.Entries) != 0 || c.Rev() != 1 || c.Text() != "e" {
		t.Fatalf("after a refused op: entries %+v, text %q at %d", rd.Entries, c.Text(), c.Rev())
	}
}

// A second connection of the same client replaces the first (4009); the
// others do not see the client leave.
func TestCoreSameClientReplacesWithoutALeave(t *testing.T) {
	c := newTestCore(t, "")
	c.Join(1, editor("a", -1))
	c.Join(2, editor("b", -1))
	c.Ready()
	c.Join(3, editor("a", 0))
	rd := c.Ready()
	if len(rd.Closes) != 1 || rd.Closes[0].Peer != 1 || rd.Closes[0].Code != wire.CloseReplaced {
		t.Fatalf("closes %+v, want peer 1 with 4009", rd.Closes)
	}
	for _, m := range sent(t, rd, 2) {
		if m.Type == wire.TypeLeave {
			t.Fatalf("b saw a leave of a, which only reconnected")
		}
	}
	if got := types(sent(t, rd, 3)); !cmp.Equal(got, []string{"joined"}) {
		t.Fatalf("new connection got %v, want [joined]", got)
	}
}

// The window is bounded in bytes as well as in count: large ops push the
// oldest out, and a join from before them is fetched from the store.
func TestCoreWindowIsBoundedInBytes(t *testing.T) {
	c, err := NewCore(Config{HistoryBytes: 3000}, 0, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Join(1, editor("a", -1))
	c.Ready()
	for i := range 5 {
		c.Submit(1, Submit{Seq: wire.IntPtr(i + 1), Rev: wire.IntPtr(i), Op: mustOp(t, insertAt(1000*i, strings.Repeat("x", 1000)))})
	}
	c.Ready()
	if n := len(c.hist) - c.head; n != 2 || c.histBytes > 3000 {
		t.Fatalf("window holds %d ops of %d bytes, want 2 within 3000", n, c.histBytes)
	}
	c.Join(2, editor("b", 1))
	rd := c.Ready()
	if len(rd.Fetches) != 1 || rd.Fetches[0].From != 2 || rd.Fetches[0].To != 3 {
		t.Fatalf("fetches %+v, want revisions 2..3 from the store", rd.Fetches)
	}
}

func mustOp(t *testing.T, js string) ot.Op {
	t.Helper()
	var op ot.Op
	if err := json.Unmarshal([]byte(js), &op); err != nil {
		t.Fatalf("bad op %s: %v", js, err)
	}
	return op
}
