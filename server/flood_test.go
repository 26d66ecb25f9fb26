package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tandem-editor/tandem/client"
	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/store"
	"github.com/tandem-editor/tandem/wire"
)

// Sizes of the flood test.
const (
	// floodRevs: the document's length of history before the attack, far
	// more than a hub keeps in memory (session.Config.History, 4096).
	floodRevs = 20000
	// floodAttack: how long the attackers and the honest editors run.
	floodAttack = 4 * time.Second
	// floodPresencePerSec bounds the presence attacker (the server's rate
	// limit is off in this test).
	floodPresencePerSec = 2000
	// floodMinAcks: the progress every honest editor must make during the
	// attack. Generous on purpose: the point is that nobody is frozen (a
	// frozen document acknowledges nothing for the whole attack), not how
	// fast they go on a shared machine: on two cores also running three
	// browser suites, editors made 9 to 10 each.
	floodMinAcks = 5
)

// TestFloodOfOldRevisionsDoesNotStallHonestEditors: on a document with
// 20,000 revisions, two attackers name revision 0 as fast as they can, the
// way a hostile client once froze a document (store reads and huge
// transforms on the hub goroutine):
//
//   - one joined connection floods presence at revision 0, before the
//     window: the hub must ignore it (no error, no close, no work);
//   - one loop dials, joins from revision 0 (a 20,000-op catch-up read from
//     the store in pages, off the hub goroutine), and submits an op based
//     on revision 0: the hub must refuse it as stale and close 4001.
//
// Meanwhile three honest editors (package client) type in a closed loop.
// The test asserts progress, not speed: every honest editor gets at least
// floodMinAcks acknowledgements during the attack, every attack was
// answered as documented, and at the end the honest editors hold the
// server's text.
func TestFloodOfOldRevisionsDoesNotStallHonestEditors(t *testing.T) {
	seed := hostileSeed(t)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replay with TANDEM_HOSTILE_SEED=%d", seed)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	id := prefillFlood(ctx, t, dir)
	_, ts := newTestServerIn(t, dir, func(c *testConfig) { c.RateLimit = -1 })

	honest := make([]*client.Client, 3)
	for i := range honest {
		c, err := client.Dial(ctx, client.Config{
			URL: ts.URL, Doc: id, Name: fmt.Sprintf("Honest %d", i),
			Logger: testLogger(), MaxReconnects: 5,
		})
		if err != nil {
			t.Fatalf("dial honest editor %d: %v", i, err)
		}
		defer c.Close()
		honest[i] = c
	}
	if got := honest[0].Rev(); got != floodRevs {
		t.Fatalf("honest editor joined at revision %d, want %d", got, floodRevs)
	}

	stop := make(chan struct{})
	var stopOnce sync.Once
	halt := func() { stopOnce.Do(func() { close(stop) }) }
	defer halt() // on failure too: the loops end before their sockets close
	var wg sync.WaitGroup

	// The honest editors: edit, wait for the acknowledgement, pause a
	// little, again.
	acks := make([]int, len(honest))
	editErrs := make([]error, len(honest))
	for i, c := range honest {
		wg.Add(1)
		go func() { // ends at stop or on the first failure
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(i)+1))
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := c.Edit(func(text string) ot.Op { return smallEdit(rng, text) }); err != nil {
					editErrs[i] = err
					return
				}
				if err := c.WaitSynced(ctx); err != nil {
					editErrs[i] = err
					return
				}
				acks[i]++
				time.Sleep(time.Duration(1+rng.IntN(5)) * time.Millisecond)
			}
		}()
	}

	// Attacker (a): presence at revision 0, floodPresencePerSec.
	pres := &presenceFlood{}
	wg.Add(1)
	go func() { // ends at stop or when its socket fails
		defer wg.Done()
		pres.run(ts.URL, id, stop)
	}()

	// Attacker (b): join from revision 0, then an op based on revision 0.
	joins := &joinFlood{}
	wg.Add(1)
	go func() { // ends at stop or on the first unexpected answer
		defer wg.Done()
		joins.run(ts.URL, id, stop)
	}()

	time.Sleep(floodAttack)
	halt()
	wg.Wait()

	for i, err := range editErrs {
		if err != nil {
			t.Errorf("honest editor %d: %v", i, err)
		}
	}
	if pres.err != nil {
		t.Errorf("presence attacker: %v", pres.err)
	}
	if joins.err != nil {
		t.Errorf("join attacker: %v", joins.err)
	}
	if t.Failed() {
		t.FailNow()
	}
	for i, n := range acks {
		if n < floodMinAcks {
			t.Errorf("honest editor %d: got %d acknowledgements during the attack, want at least %d", i, n, floodMinAcks)
		}
	}
	if pres.sent < floodPresencePerSec/10 {
		t.Errorf("presence attacker sent only %d messages", pres.sent)
	}
	if pres.errors > 0 {
		t.Errorf("presence at revision 0 drew %d error messages, want none (ignored)", pres.errors)
	}
	if joins.refused == 0 {
		t.Errorf("join attacker: no op at revision 0 was refused (%d joins)", joins.joined)
	}

	// Convergence: every honest editor holds the server's text.
	for i, c := range honest {
		if err := c.WaitSynced(ctx); err != nil {
			t.Fatalf("honest editor %d: %v", i, err)
		}
	}
	text, rev := docText(t, ts, id)
	for i, c := range honest {
		if err := c.WaitRev(ctx, rev); err != nil {
			t.Fatalf("honest editor %d waiting for revision %d: %v", i, rev, err)
		}
		if got := c.Text(); got != text || c.Rev() != rev {
			t.Fatalf("honest editor %d has %d units at revision %d; the server has %d at %d", i, ot.Len(got), c.Rev(), ot.Len(text), rev)
		}
		if err := c.Err(); err != nil {
			t.Fatalf("honest editor %d stopped: %v", i, err)
		}
	}
	if want := floodRevs + acks[0] + acks[1] + acks[2]; rev != want {
		t.Fatalf("the document is at revision %d, want %d (prefill + acknowledged edits)", rev, want)
	}
	t.Logf("seed %d: in %v, honest acks %v; presence attacker sent %d (0 answered); join attacker: %d catch-ups of ≥ %d ops, %d ops refused stale with 4001",
		seed, floodAttack, acks, pres.sent, joins.joined, floodRevs, joins.refused)
}

// prefillFlood creates a document with floodRevs revisions in the store in
// dir, before any server opens it, and returns its id. Each op types one
// "x" at the end; a snapshot at the end stands for the ones a hub saves.
func prefillFlood(ctx context.Context, t *testing.T, dir string) string {
	t.Helper()
	db, err := store.Open(ctx, filepath.Join(dir, "tandem.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	closed := false
	defer func() {
		if !closed { // a failed prefill
			db.Close()
		}
	}()
	d, err := db.CreateDoc(ctx, "flood")
	if err != nil {
		t.Fatalf("create doc: %v", err)
	}
	const batch = 1000
	for from := 1; from <= floodRevs; from += batch {
		es := make([]oplog.Entry, batch)
		for i := range es {
			rev := from + i
			var op ot.Op
			op.Retain(rev - 1).Insert("x")
			es[i] = oplog.Entry{Rev: rev, Op: op, Client: "prefill", Seq: rev}
		}
		if err := db.Append(ctx, d.ID, es); err != nil {
			t.Fatalf("prefill revisions %d..: %v", from, err)
		}
	}
	if err := db.SaveSnapshot(ctx, d.ID, floodRevs, strings.Repeat("x", floodRevs)); err != nil {
		t.Fatalf("prefill snapshot: %v", err)
	}
	closed = true
	if err := db.Close(); err != nil {
		t.Fatalf("close store: %v", err)
	}
	return d.EditToken
}

// smallEdit inserts or deletes 1 to 3 characters at a random character
// boundary of text.
func smallEdit(rng *rand.Rand, text string) ot.Op {
	b := boundaries(text)
	n := b[len(b)-1]
	i := rng.IntN(len(b))
	var op ot.Op
	op.Retain(b[i])
	if rng.IntN(2) == 0 && i+1 < len(b) {
		j := min(len(b)-1, i+1+rng.IntN(3))
		return *op.Delete(b[j] - b[i]).Retain(n - b[j])
	}
	return *op.Insert(randomInsert(rng)).Retain(n - b[i])
}

// floodDial opens a WebSocket to the document.
func floodDial(base, doc string) (*websocket.Conn, error) {
	u := "ws" + strings.TrimPrefix(base, "http") + "/api/docs/" + doc + "/ws"
	c, _, err := websocket.DefaultDialer.Dial(u, nil)
	return c, err
}

// presenceFlood joins once and sends presence naming revision 0 at
// floodPresencePerSec until stop. Its fields are read after run returns.
type presenceFlood struct {
	sent   int
	errors int64 // error messages received
	err    error // how the flood failed, if it did
}

func (p *presenceFlood) run(base, doc string, stop <-chan struct{}) {
	ws, err := floodDial(base, doc)
	if err != nil {
		p.err = err
		return
	}
	defer ws.Close()
	ws.SetWriteDeadline(time.Now().Add(time.Minute))
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"join","name":"flood-presence","name":"P"}`)); err != nil {
		p.err = err
		return
	}
	// The reader counts error messages and notes an unexpected end. It
	// ends when the socket closes (below, at stop).
	var errs atomic.Int64
	var readErr atomic.Value
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				readErr.Store(err)
				return
			}
			if bytes.Contains(b, []byte(`"type":"error"`)) {
				errs.Add(1)
			}
		}
	}()
	msg := []byte(`{"type":"presence","rev":0,"sel":[[0,0]]}`)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	perTick := floodPresencePerSec / 100
loop:
	for {
		select {
		case <-stop:
			break loop
		case <-readDone:
			p.err = fmt.Errorf("the server ended the socket after %d presence messages: %v", p.sent, readErr.Load())
			break loop
		case <-tick.C:
		}
		for range perTick {
			if err := ws.WriteMessage(websocket.TextMessage, msg); err != nil {
				p.err = fmt.Errorf("send presence %d: %w", p.sent+1, err)
				break loop
			}
			p.sent++
		}
	}
	ws.Close()
	<-readDone
	p.errors = errs.Load()
}

// joinFlood dials, joins from revision 0 and submits an op based on
// revision 0, again and again until stop. Every cycle must end with a
// complete catch-up, then error stale and close 4001. Its fields are read
// after run returns.
type joinFlood struct {
	joined, refused int
	err             error
}

func (j *joinFlood) run(base, doc string, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		if err := j.cycle(base, doc); err != nil {
			j.err = fmt.Errorf("cycle %d: %w", j.joined+1, err)
			return
		}
	}
}

func (j *joinFlood) cycle(base, doc string) error {
	ws, err := floodDial(base, doc)
	if err != nil {
		return err
	}
	defer ws.Close()
	// Deadlines only guard against a hang.
	ws.SetWriteDeadline(time.Now().Add(time.Minute))
	ws.SetReadDeadline(time.Now().Add(time.Minute))
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"join","name":"flood-join","name":"J","rev":0}`)); err != nil {
		return err
	}
	// The catch-up: one op message per revision, then joined. The frames
	// are only counted, not decoded: decoding 20,000 of them per cycle
	// would make the attacker slow, not the server.
	ops := 0
	for {
		_, b, err := ws.ReadMessage()
		if err != nil {
			return fmt.Errorf("catch-up after %d ops: %w", ops, err)
		}
		if bytes.HasPrefix(b, []byte(`{"type":"op"`)) {
			ops++
			continue
		}
		var m wire.Message
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("catch-up: %s: %w", b, err)
		}
		if m.Type != wire.TypeJoined {
			return fmt.Errorf("catch-up after %d ops: got %s", ops, b)
		}
		if m.Rev == nil || *m.Rev != ops {
			return fmt.Errorf("joined at %v after %d ops from revision 0", m.Rev, ops)
		}
		break
	}
	j.joined++
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"op","rev":0,"seq":1,"op":["y"]}`)); err != nil {
		return err
	}
	// Then: ops and presence of the honest editors, error stale, close 4001.
	stale := false
	for range 100000 {
		_, b, err := ws.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			if ce.Code != wire.CloseTooSlow || !stale {
				return fmt.Errorf("got close %d %q (stale error seen: %v), want error stale then close %d", ce.Code, ce.Text, stale, wire.CloseTooSlow)
			}
			j.refused++
			return nil
		}
		if err != nil {
			return fmt.Errorf("waiting for the refusal: %w", err)
		}
		if !bytes.Contains(b, []byte(`"type":"error"`)) {
			continue
		}
		var m wire.Message
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("%s: %w", b, err)
		}
		if m.Code != wire.CodeStale || m.Seq == nil || *m.Seq != 1 {
			return fmt.Errorf("got %s, want error stale for seq 1", b)
		}
		stale = true
	}
	return errors.New("no close after 100000 messages")
}
