package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/server"
	"github.com/tandem-editor/tandem/session"
	"github.com/tandem-editor/tandem/store"
)

var discard = slog.New(slog.DiscardHandler)

// testServer is a real server on a real socket, with its data directory.
type testServer struct {
	srv *server.Server
	db  *store.DB
	ts  *httptest.Server
	dir string
}

// startServer wires a store in dir (a fresh one if dir is ""), a session
// manager and a server, as main does, behind httptest.
func startServer(t *testing.T, dir string, sc session.Config) *testServer {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	sc.Logger = discard
	db, err := store.Open(context.Background(), filepath.Join(dir, "tandem.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	// Every client runs from 127.0.0.1: no limits per address.
	key, err := db.Secret(context.Background(), "identity", 32) // as main does: ids outlive restarts
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{Logger: discard, MaxSocketsPerAddr: -1, CreatePerMinute: -1, HTTPRate: -1, IdentityKey: key}
	srv, err := server.New(cfg, server.Deps{Docs: db, Health: db, Sessions: session.NewManager(db, sc)})
	if err != nil {
		db.Close()
		t.Fatalf("server.New: %v", err)
	}
	s := &testServer{srv: srv, db: db, ts: httptest.NewServer(srv.Handler()), dir: dir}
	t.Cleanup(s.stop)
	return s
}

// stop closes the server's sockets (1001), the database, then the
// listener. Later calls do nothing.
func (s *testServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.srv.Close(ctx)
	s.db.Close()
	s.ts.Close()
}

func (s *testServer) addr() string { return strings.TrimPrefix(s.ts.URL, "http://") }

func createDoc(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Post(base+"/api/docs", "application/json", strings.NewReader(`{"title":"test"}`))
	if err != nil {
		t.Fatalf("create document: %v", err)
	}
	defer resp.Body.Close()
	var d struct{ Links struct{ Edit string } }
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create document: HTTP %d, want 201", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil || !strings.HasPrefix(d.Links.Edit, "/d/") {
		t.Fatalf("create document: edit link %q, %v", d.Links.Edit, err)
	}
	return strings.TrimPrefix(d.Links.Edit, "/d/") // the key that opens it for editing
}

// testSecret makes a well-formed secret from a short name.
func testSecret(name string) string {
	return (name + "-0123456789abcdefghijklmnop")[:max(22, len(name))]
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d, want 200", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

type docState struct {
	ID   string `json:"id"`
	Rev  int    `json:"rev"`
	Text string `json:"text"`
}

func getDoc(t *testing.T, base, id string) docState {
	t.Helper()
	var d docState
	getJSON(t, base+"/api/docs/"+id, &d)
	return d
}

type logEntry struct {
	Rev    int       `json:"rev"`
	Op     ot.Op     `json:"op"`
	Client string    `json:"client"`
	Seq    int       `json:"seq"`
	Time   time.Time `json:"time"`
}

// getLog reads the whole log, 10,000 entries per request.
func getLog(t *testing.T, base, id string) []logEntry {
	t.Helper()
	var all []logEntry
	for range 1000 {
		var page []logEntry
		getJSON(t, fmt.Sprintf("%s/api/docs/%s/ops?from=%d", base, id, len(all)+1), &page)
		all = append(all, page...)
		if len(page) < 10000 {
			return all
		}
	}
	t.Fatal("the log does not end")
	return nil
}

// checkLog asserts that the log has consecutive revisions, that replaying
// it gives text, and that each client's entries have seqs 1..seq[client].
func checkLog(t *testing.T, log []logEntry, text string, seq map[string]int) {
	t.Helper()
	got := make(map[string][]int)
	doc := ""
	for i, e := range log {
		if e.Rev != i+1 {
			t.Fatalf("log entry %d has revision %d", i, e.Rev)
		}
		var err error
		if doc, err = ot.Apply(doc, e.Op); err != nil {
			t.Fatalf("replay revision %d: %v", e.Rev, err)
		}
		got[e.Client] = append(got[e.Client], e.Seq)
	}
	if doc != text {
		t.Errorf("replaying the log gives %q, want %q", doc, text)
	}
	for client, n := range seq {
		want := make([]int, n)
		for k := range want {
			want[k] = k + 1
		}
		if g := got[client]; !slices.Equal(g, want) && !(len(g) == 0 && n == 0) {
			t.Errorf("client %s: log seqs %v, want 1..%d", client, g, n)
		}
		delete(got, client)
	}
	for client, s := range got {
		t.Errorf("log has entries %v of unknown client %s", s, client)
	}
}

func dial(t *testing.T, ctx context.Context, cfg Config) *Client {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = discard
	}
	if cfg.ReconnectMax == 0 {
		cfg.ReconnectMax = 200 * time.Millisecond
	}
	c, err := Dial(ctx, cfg)
	if err != nil {
		t.Fatalf("dial %s: %v", cfg.Doc, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitConverged waits until every client is synchronized at the server's
// revision, and checks that they all have the server's text.
func waitConverged(t *testing.T, ctx context.Context, base, id string, cs ...*Client) docState {
	t.Helper()
	for _, c := range cs {
		if err := c.WaitSynced(ctx); err != nil {
			t.Fatalf("client %s: wait synced: %v", c.ID(), err)
		}
	}
	d := getDoc(t, base, id)
	for _, c := range cs {
		if err := c.WaitRev(ctx, d.Rev); err != nil {
			t.Fatalf("client %s at revision %d: wait for revision %d: %v", c.ID(), c.Rev(), d.Rev, err)
		}
		if got := c.Text(); got != d.Text {
			t.Errorf("client %s has %q; server %q", c.ID(), got, d.Text)
		}
		if got := c.Rev(); got != d.Rev {
			t.Errorf("client %s at revision %d; server %d", c.ID(), got, d.Rev)
		}
	}
	return d
}

func seqs(cs ...*Client) map[string]int {
	out := make(map[string]int)
	for _, c := range cs {
		out[c.ID()] = c.Seq()
	}
	return out
}

func TestManyClientsConvergeOverRealSockets(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	defer func() {
		if t.Failed() {
			t.Logf("failed with seed %d", seed)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// As tandem runs: a busy document waits 1 ms for company before it
	// commits (server/ws_test.go's convergence test runs without the wait).
	s := startServer(t, "", session.Config{BatchWait: time.Millisecond})
	id := createDoc(t, s.ts.URL)

	const clients, edits = 10, 200
	cs := make([]*Client, clients)
	for i := range cs {
		cs[i] = dial(t, ctx, Config{URL: s.ts.URL, Doc: id, Secret: testSecret(fmt.Sprintf("c%d", i)), Name: fmt.Sprintf("bot %d", i)})
	}
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i, c := range cs {
		wg.Add(1)
		go func() { // ends after its edits or at the deadline
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, uint64(i)))
			for k := range edits {
				if ctx.Err() != nil {
					errs <- fmt.Errorf("client %d: deadline after %d edits", i, k)
					return
				}
				if err := c.Edit(func(text string) ot.Op { return randOp(r, text) }); err != nil {
					errs <- fmt.Errorf("client %d: edit %d: %w", i, k, err)
					return
				}
				if r.IntN(10) == 0 {
					c.Edit(func(string) ot.Op { return nil }) // a no-op changes nothing
				}
				if r.IntN(5) == 0 {
					sel := randSel(r, c.Text())
					// The text may have moved meanwhile; a stale selection
					// is refused, not applied.
					c.SetSelection(sel)
				}
				if i%3 == 0 && r.IntN(40) == 0 {
					c.Disconnect()
				}
				time.Sleep(time.Duration(r.IntN(2000)) * time.Microsecond)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	d := waitConverged(t, ctx, s.ts.URL, id, cs...)
	log := getLog(t, s.ts.URL, id)
	if len(log) != d.Rev {
		t.Fatalf("log has %d entries; document at revision %d", len(log), d.Rev)
	}
	checkLog(t, log, d.Text, seqs(cs...))
	for _, c := range cs {
		if err := c.Err(); err != nil {
			t.Errorf("client %s: %v", c.ID(), err)
		}
	}
	t.Logf("%d revisions, %d units", d.Rev, ot.Len(d.Text))
}

// lostMessage drops one direction of a client's connection while it edits,
// cuts the connection once the edit's fate is sealed, and checks that the
// edit is applied exactly once after the client reconnected.
func lostMessage(t *testing.T, up bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := startServer(t, "", session.Config{})
	id := createDoc(t, s.ts.URL)
	p := newProxy(t, s.addr())
	a := dial(t, ctx, Config{URL: p.URL(), Doc: id, Secret: testSecret("a")})
	b := dial(t, ctx, Config{URL: s.ts.URL, Doc: id, Secret: testSecret("b")})
	if err := a.Submit(ot.Op{ot.Insert("hi ")}); err != nil {
		t.Fatal(err)
	}
	waitConverged(t, ctx, s.ts.URL, id, a, b)

	p.blackhole(up, !up)
	edit := ot.Op{ot.Retain(3), ot.Insert("once😀")}
	if err := a.Submit(edit); err != nil {
		t.Fatal(err)
	}
	// Wait until the op reached the server (its ack is then dropped), or
	// until the proxy swallowed it (at least as many bytes as its JSON).
	opLen := len(fmt.Sprintf(`{"type":"op","rev":1,"seq":2,"op":%s}`, edit))
	for ctx.Err() == nil {
		if up && p.droppedBytes() >= opLen {
			break
		}
		if !up && len(getLog(t, s.ts.URL, id)) == 2 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if a.Synced() {
		t.Fatal("a is synchronized although its ack was dropped")
	}
	p.cut()
	if err := b.Edit(func(text string) ot.Op { return ins(0, ot.Len(text), "b:") }); err != nil { // concurrent with the resubmission
		t.Fatal(err)
	}
	d := waitConverged(t, ctx, s.ts.URL, id, a, b)
	if want := "b:hi once😀"; d.Text != want {
		t.Fatalf("text %q, want %q", d.Text, want)
	}
	// The client carries on with the next seq.
	if err := a.Submit(ot.Op{ot.Retain(ot.Len(d.Text)), ot.Insert("!")}); err != nil {
		t.Fatal(err)
	}
	d = waitConverged(t, ctx, s.ts.URL, id, a, b)
	checkLog(t, getLog(t, s.ts.URL, id), d.Text, map[string]int{a.ID(): 3, b.ID(): 1})
}

func TestLostAckIsNotAppliedTwice(t *testing.T)      { lostMessage(t, false) }
func TestLostOpIsResubmittedWithItsSeq(t *testing.T) { lostMessage(t, true) }

func TestServerRestartKeepsTheDocumentAndClientsCarryOn(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	defer func() {
		if t.Failed() {
			t.Logf("failed with seed %d", seed)
		}
	}()
	r := rand.New(rand.NewPCG(seed, 0))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s1 := startServer(t, "", session.Config{SnapshotEvery: 7}) // snapshots and a log tail
	id := createDoc(t, s1.ts.URL)
	p := newProxy(t, s1.addr())
	a := dial(t, ctx, Config{URL: p.URL(), Doc: id, Secret: testSecret("a")})
	b := dial(t, ctx, Config{URL: p.URL(), Doc: id, Secret: testSecret("b")})
	for range 30 {
		for _, c := range []*Client{a, b} {
			if err := c.Edit(func(text string) ot.Op { return randOp(r, text) }); err != nil {
				t.Fatal(err)
			}
		}
	}
	before := waitConverged(t, ctx, s1.ts.URL, id, a, b)
	logBefore := getLog(t, s1.ts.URL, id)

	s1.stop()
	s2 := startServer(t, s1.dir, session.Config{SnapshotEvery: 7})
	p.setTarget(s2.addr())
	after := getDoc(t, s2.ts.URL, id)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Fatalf("document after a restart (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(logBefore, getLog(t, s2.ts.URL, id)); diff != "" {
		t.Fatalf("log after a restart (-before +after):\n%s", diff)
	}
	// Both clients reconnect by themselves through the same address.
	for range 10 {
		for _, c := range []*Client{a, b} {
			if err := c.Edit(func(text string) ot.Op { return randOp(r, text) }); err != nil {
				t.Fatal(err)
			}
		}
	}
	d := waitConverged(t, ctx, s2.ts.URL, id, a, b)
	checkLog(t, getLog(t, s2.ts.URL, id), d.Text, seqs(a, b))
	if d.Rev <= before.Rev {
		t.Fatalf("revision %d after more edits, was %d", d.Rev, before.Rev)
	}
}

func TestPresenceFollowsEditsAndLeaves(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := startServer(t, "", session.Config{})
	id := createDoc(t, s.ts.URL)
	a := dial(t, ctx, Config{URL: s.ts.URL, Doc: id, Secret: testSecret("a"), Name: "Ada", Color: "#d33"})
	b := dial(t, ctx, Config{URL: s.ts.URL, Doc: id, Secret: testSecret("b"), Name: "Bo", Color: "#36c"})
	if err := a.Submit(ot.Op{ot.Insert("hello 😀 world")}); err != nil {
		t.Fatal(err)
	}
	waitConverged(t, ctx, s.ts.URL, id, a, b)
	if err := b.SetSelection([]ot.Range{{Anchor: 9, Head: 14}}); err != nil { // "world"
		t.Fatal(err)
	}
	seen := func(c *Client, peer string, want []ot.Range) {
		t.Helper()
		err := c.WaitFor(ctx, func(m *Machine) bool {
			p, ok := m.Peers()[peer]
			return ok && slices.Equal(p.Sel, want)
		})
		if err != nil {
			t.Fatalf("%s: waiting to see %s at %v (sees %+v): %v", c.ID(), peer, want, c.Peers(), err)
		}
	}
	seen(a, b.ID(), []ot.Range{{Anchor: 9, Head: 14}})
	if p := a.Peers()[b.ID()]; p.Name != "Bo" || p.Color != "#36c" {
		t.Fatalf("a sees b as %+v, want name Bo colour #36c", p)
	}
	// An insertion before b's selection moves it in a's view at once
	// (through the op in flight) and after the acknowledgement.
	if err := a.Submit(ot.Op{ot.Insert(">> "), ot.Retain(14)}); err != nil {
		t.Fatal(err)
	}
	if got, want := a.Peers()[b.ID()].Sel, []ot.Range{{Anchor: 12, Head: 17}}; !slices.Equal(got, want) {
		t.Fatalf("b's selection in a's view before the ack %v, want %v", got, want)
	}
	waitConverged(t, ctx, s.ts.URL, id, a, b)
	seen(a, b.ID(), []ot.Range{{Anchor: 12, Head: 17}})
	// A newcomer sees b where the server has it.
	c := dial(t, ctx, Config{URL: s.ts.URL, Doc: id, Secret: testSecret("c")})
	seen(c, b.ID(), []ot.Range{{Anchor: 12, Head: 17}})
	seen(b, c.ID(), []ot.Range{})
	bID := b.ID()
	b.Close()
	for _, x := range []*Client{a, c} {
		err := x.WaitFor(ctx, func(m *Machine) bool { _, ok := m.Peers()[bID]; return !ok })
		if err != nil {
			t.Fatalf("%s still sees b after it left: %v", x.ID(), err)
		}
	}
}

func TestDialUnknownDocumentFails(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := startServer(t, "", session.Config{})
	_, err := Dial(ctx, Config{URL: s.ts.URL, Doc: "nope", Logger: discard})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("dial an unknown document: %v, want ErrNotFound", err)
	}
}

func TestDialForeignOriginIsForbidden(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := startServer(t, "", session.Config{})
	id := createDoc(t, s.ts.URL)
	_, err := Dial(ctx, Config{URL: s.ts.URL, Doc: id, Origin: "https://evil.example", Logger: discard})
	if !errors.Is(err, ErrForbidden) {
		t.Fatalf("dial with a foreign origin: %v, want ErrForbidden", err)
	}
}

func TestDeletedDocumentStopsTheClient(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := startServer(t, "", session.Config{})
	id := createDoc(t, s.ts.URL)
	a := dial(t, ctx, Config{URL: s.ts.URL, Doc: id})
	req, _ := http.NewRequest(http.MethodDelete, s.ts.URL+"/api/docs/"+id, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// WaitFor returns the fatal error once the client stops.
	if err := a.WaitFor(ctx, func(*Machine) bool { return false }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after the document was deleted: %v, want ErrNotFound", err)
	}
	if !errors.Is(a.Err(), ErrNotFound) {
		t.Fatalf("Err() = %v, want ErrNotFound", a.Err())
	}
	if err := a.Submit(ot.Op{ot.Insert("x")}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("edit after the document was deleted: %v, want ErrNotFound", err)
	}
}

func TestRefusedOpStopsOrResyncs(t *testing.T) {
	for _, resync := range []bool{false, true} {
		t.Run(fmt.Sprintf("resync=%v", resync), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			s := startServer(t, "", session.Config{MaxDocLen: 8})
			id := createDoc(t, s.ts.URL)
			var mu sync.Mutex
			var lost []ot.Op
			a := dial(t, ctx, Config{URL: s.ts.URL, Doc: id, ResyncOnReject: resync, OnResync: func(op ot.Op) {
				mu.Lock()
				lost = append(lost, op)
				mu.Unlock()
			}})
			if err := a.Submit(ot.Op{ot.Insert("1234")}); err != nil {
				t.Fatal(err)
			}
			waitConverged(t, ctx, s.ts.URL, id, a)
			if err := a.Submit(ot.Op{ot.Retain(4), ot.Insert("56789")}); err != nil { // over the limit: doc_too_large
				t.Fatal(err)
			}
			if !resync {
				err := a.WaitSynced(ctx)
				var se *ServerError
				if !errors.Is(err, ErrRejected) || !errors.As(err, &se) || se.Code != "doc_too_large" {
					t.Fatalf("wait after a refused op: %v, want ErrRejected with doc_too_large", err)
				}
				return
			}
			waitConverged(t, ctx, s.ts.URL, id, a)
			if a.Text() != "1234" {
				t.Fatalf("text after the resync %q, want %q", a.Text(), "1234")
			}
			mu.Lock()
			if len(lost) != 1 || lost[0].String() != `[4,"56789"]` {
				t.Fatalf("OnResync got %v, want [[4,\"56789\"]]", lost)
			}
			mu.Unlock()
			if err := a.Submit(ot.Op{ot.Retain(4), ot.Insert("5")}); err != nil {
				t.Fatal(err)
			}
			d := waitConverged(t, ctx, s.ts.URL, id, a)
			checkLog(t, getLog(t, s.ts.URL, id), d.Text, map[string]int{a.ID(): 2})
		})
	}
}

func TestRemoteHookSeesEveryRemoteOp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := startServer(t, "", session.Config{})
	id := createDoc(t, s.ts.URL)
	var mu sync.Mutex
	var mirror bytes.Buffer // a's text rebuilt from the hook alone
	mirrorText := ""
	a := dial(t, ctx, Config{URL: s.ts.URL, Doc: id, OnRemote: func(op ot.Op) {
		mu.Lock()
		defer mu.Unlock()
		text, err := ot.Apply(mirrorText, op)
		if err != nil {
			fmt.Fprintf(&mirror, "apply %v: %v\n", op, err)
			return
		}
		mirrorText = text
	}})
	b := dial(t, ctx, Config{URL: s.ts.URL, Doc: id})
	for _, s := range []string{"x", "中", "😀"} {
		if err := b.Edit(func(text string) ot.Op { return ins(0, ot.Len(text), s) }); err != nil {
			t.Fatal(err)
		}
	}
	waitConverged(t, ctx, s.ts.URL, id, a, b)
	mu.Lock()
	defer mu.Unlock()
	if mirror.Len() > 0 || mirrorText != a.Text() {
		t.Fatalf("hook mirror %q (%s), want %q", mirrorText, mirror.String(), a.Text())
	}
}

func TestSameClientIDReplacesTheOlderConnection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := startServer(t, "", session.Config{})
	id := createDoc(t, s.ts.URL)
	old := dial(t, ctx, Config{URL: s.ts.URL, Doc: id, Secret: testSecret("tab")})
	dup := dial(t, ctx, Config{URL: s.ts.URL, Doc: id, Secret: testSecret("tab")})
	if err := old.WaitFor(ctx, func(*Machine) bool { return false }); !errors.Is(err, ErrReplaced) {
		t.Fatalf("older connection: %v, want ErrReplaced", err)
	}
	if err := dup.Submit(ot.Op{ot.Insert("still here")}); err != nil {
		t.Fatal(err)
	}
	waitConverged(t, ctx, s.ts.URL, id, dup)
}

func TestDialRefusesABadConfig(t *testing.T) {
	ctx := context.Background()
	for _, cfg := range []Config{
		{URL: "http://127.0.0.1:1"},                                          // no document
		{URL: "http://127.0.0.1:1", Doc: "d", Secret: "short"},               // secret
		{URL: "http://127.0.0.1:1", Doc: "d", Color: "red"},                  // colour
		{URL: "http://127.0.0.1:1", Doc: "d", Name: strings.Repeat("😀", 33)}, // 66 units
		{URL: "ftp://127.0.0.1:1", Doc: "d"},                                 // scheme
	} {
		if c, err := Dial(ctx, cfg); err == nil {
			c.Close()
			t.Errorf("Dial(%+v) succeeded, want an error", cfg)
		}
	}
}

func TestWebSocketURL(t *testing.T) {
	for _, tc := range []struct{ base, doc, want string }{
		{"http://127.0.0.1:8080", "abc", "ws://127.0.0.1:8080/api/docs/abc/ws"},
		{"https://example.com/tandem/", "a b", "wss://example.com/tandem/api/docs/a%20b/ws"},
		{"ws://h", "x", "ws://h/api/docs/x/ws"},
		{"http://h", "a/b", "ws://h/api/docs/a%2Fb/ws"},
	} {
		got, err := wsURL(tc.base, tc.doc)
		if err != nil || got != tc.want {
			t.Errorf("wsURL(%q, %q) = %q, %v; want %q", tc.base, tc.doc, got, err, tc.want)
		}
	}
}
