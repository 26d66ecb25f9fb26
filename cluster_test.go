package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tandem-editor/tandem/client"
	"github.com/tandem-editor/tandem/internal/natstest"
	"github.com/tandem-editor/tandem/internal/pgtest"
	"github.com/tandem-editor/tandem/ot"
)

// The cluster tests run three real Tandem processes (this test binary
// re-executed as the server, as in crash_test.go) on one real PostgreSQL
// (internal/pgtest) and one real nats-server (internal/natstest), with
// Go clients that each reach a process through a TCP switch the test can
// point elsewhere.

// clusterLease is the processes' -lease: short, so that a dead owner's
// documents move within seconds.
const clusterLease = 2 * time.Second

// proc is one Tandem process.
type proc struct {
	addr string
	cmd  *exec.Cmd
	id   string // its cluster node id, from its log
	mu   sync.Mutex
	log  []string
}

func (p *proc) base() string { return "http://" + p.addr }

func (p *proc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.log, "\n")
}

// startProc starts a server process on the database and NATS, and waits
// until it is healthy. It is killed when the test ends.
func startProc(t *testing.T, pgURL, natsURL string) *proc {
	t.Helper()
	p := &proc{addr: freeAddr(t)}
	p.cmd = exec.Command(os.Args[0])
	p.cmd.Env = append(os.Environ(), childEnv+"=-addr "+p.addr+" -store "+pgURL+" -nats "+natsURL+
		" -lease "+clusterLease.String()+" -log-level info -http-rate -1 -max-sockets-per-ip -1 -rate -1")
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ids := make(chan string, 1)
	go func() { // ends when the process's stderr closes
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if _, after, ok := strings.Cut(line, " process="); ok && strings.Contains(line, "tandem serving") {
				ids <- strings.Fields(after)[0]
			}
			p.mu.Lock()
			p.log = append(p.log, line)
			p.mu.Unlock()
		}
		io.Copy(io.Discard, stderr)
	}()
	t.Cleanup(func() {
		if t.Failed() && os.Getenv("TANDEM_TEST_CLUSTER_DUMP") != "" {
			p.cmd.Process.Signal(syscall.SIGQUIT) // goroutine dump to the log
			time.Sleep(time.Second)
		}
		p.cmd.Process.Kill()
		p.cmd.Wait()
		if t.Failed() || os.Getenv("TANDEM_TEST_CLUSTER_LOGS") != "" {
			t.Logf("log of %s (%s):\n%s", p.addr, p.id, p.logs())
		}
	})
	select {
	case p.id = <-ids:
	case <-time.After(30 * time.Second):
		t.Fatalf("process on %s did not start:\n%s", p.addr, p.logs())
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		res, err := http.Get(p.base() + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("process on %s not healthy: %v", p.addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the process with SIGKILL: no graceful close, no lease
// released, sockets cut.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
}

// switcher is a TCP proxy whose target the test moves: moving it cuts the
// open connections, so that the client reconnects to the new target.
type switcher struct {
	ln     net.Listener
	mu     sync.Mutex
	target string
	conns  map[net.Conn]struct{}
}

func newSwitcher(t *testing.T, target string) *switcher {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &switcher{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go s.accept() // ends when the listener closes
	t.Cleanup(func() { ln.Close(); s.cut() })
	return s
}

func (s *switcher) url() string { return "http://" + s.ln.Addr().String() }

func (s *switcher) move(target string) {
	s.mu.Lock()
	s.target = target
	s.mu.Unlock()
	s.cut()
}

func (s *switcher) cut() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
	clear(s.conns)
}

func (s *switcher) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		target := s.target
		s.mu.Unlock()
		up, err := net.DialTimeout("tcp", target, 2*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		s.mu.Lock()
		s.conns[c], s.conns[up] = struct{}{}, struct{}{}
		s.mu.Unlock()
		// Each copier ends when either side closes.
		go func() { io.Copy(up, c); up.Close(); c.Close() }()
		go func() { io.Copy(c, up); up.Close(); c.Close() }()
	}
}

// editor is a client editing through a switcher, remembering the seqs the
// server acknowledged.
type editor struct {
	c   *client.Client
	sw  *switcher
	mu  sync.Mutex
	ack []int
}

func (e *editor) acked() []int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.ack)
}

// testCluster is a database, a nats-server and three processes, with one
// document.
type testCluster struct {
	pgURL string
	nats  *natstest.Server
	procs []*proc
	doc   doc
}

func startCluster(t *testing.T) *testCluster {
	t.Helper()
	c := &testCluster{pgURL: pgtest.Start(t), nats: natstest.Start(t)}
	for range 3 {
		c.procs = append(c.procs, startProc(t, c.pgURL, c.nats.URL()))
	}
	res, err := http.Post(c.procs[0].base()+"/api/docs", "application/json", strings.NewReader(`{"title":"cluster"}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := jsonDecode(res.Body, &c.doc); err != nil {
		t.Fatal(err)
	}
	return c
}

// owner returns the process holding the document's lease ("" if none).
func (c *testCluster) owner(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var owner string
	err = conn.QueryRow(ctx, `SELECT owner FROM leases WHERE doc = $1`, c.doc.ID).Scan(&owner)
	if err != nil && err != pgx.ErrNoRows {
		t.Fatal(err)
	}
	return owner
}

func (c *testCluster) proc(id string) *proc {
	for _, p := range c.procs {
		if p.id == id {
			return p
		}
	}
	return nil
}

// logSeqs returns the document's log as client → seqs, and the number of
// entries.
func (c *testCluster) logSeqs(t *testing.T) (map[string][]int, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT client, seq FROM ops WHERE doc = $1 ORDER BY rev`, c.doc.ID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]int{}
	n := 0
	for rows.Next() {
		var cl string
		var seq int
		if err := rows.Scan(&cl, &seq); err != nil {
			t.Fatal(err)
		}
		out[cl] = append(out[cl], seq)
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out, n
}

// dial connects a client to the document through a switcher pointed at p.
func (c *testCluster) dial(t *testing.T, ctx context.Context, p *proc, name string) *editor {
	t.Helper()
	e := &editor{sw: newSwitcher(t, p.addr)}
	var err error
	e.c, err = client.Dial(ctx, client.Config{URL: e.sw.url(), Doc: c.doc.key(), Name: name,
		Logger: slog.New(slog.DiscardHandler), MaxReconnects: 200, ReconnectMax: time.Second,
		OnAck: func(seq int) { e.mu.Lock(); e.ack = append(e.ack, seq); e.mu.Unlock() }})
	if err != nil {
		t.Fatalf("dial %s through %s: %v", name, p.addr, err)
	}
	t.Cleanup(func() { e.c.Close() })
	return e
}

// editAll has every editor make random edits (edit) until the returned
// stop is called, which waits for them and fails the test with any
// client's error.
func editAll(t *testing.T, eds []*editor, seed uint64) (stop func()) {
	t.Helper()
	done := make(chan struct{})
	errs := make(chan error, len(eds))
	var wg sync.WaitGroup
	for i, e := range eds {
		wg.Add(1)
		go func() { // ends when stop is called or the client fails
			defer wg.Done()
			if err := edit(e, seed+uint64(i), done); err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
			}
		}()
	}
	return func() {
		t.Helper()
		close(done)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
}

// edit makes random edits with random delays until stop closes; it
// reports the client's fatal error, if any.
func edit(e *editor, seed uint64, stop <-chan struct{}) error {
	rng := rand.New(rand.NewPCG(seed, 7))
	for k := 0; ; k++ {
		select {
		case <-stop:
			return nil
		case <-time.After(time.Duration(rng.IntN(25)) * time.Millisecond):
		}
		word := fmt.Sprintf("<%d>", k)
		err := e.c.Edit(func(text string) ot.Op {
			n := ot.Len(text)
			var op ot.Op
			if n > 30 && rng.IntN(4) == 0 {
				at, del := rng.IntN(n-3), 1+rng.IntN(3)
				return *op.Retain(at).Delete(del).Retain(n - at - del)
			}
			at := rng.IntN(n + 1)
			return *op.Retain(at).Insert(word).Retain(n - at)
		})
		if err != nil {
			return err
		}
	}
}

// settle waits until every client is synchronised at one revision, then
// checks that their texts and the server's agree and that the log holds
// exactly one entry per (client, seq): each client's seqs 1..Seq(), every
// acknowledged one among them.
func (c *testCluster) settle(t *testing.T, ctx context.Context, eds []*editor, via *proc) {
	t.Helper()
	for i, e := range eds {
		if err := e.c.WaitSynced(ctx); err != nil {
			t.Fatalf("client %d not synchronised: %v (err %v)", i, err, e.c.Err())
		}
	}
	top := 0
	for _, e := range eds {
		top = max(top, e.c.Rev())
	}
	for i, e := range eds {
		if err := e.c.WaitRev(ctx, top); err != nil {
			t.Fatalf("client %d stuck at revision %d, want %d: %v", i, e.c.Rev(), top, err)
		}
	}
	var server doc
	get(t, via.base()+"/api/docs/"+c.doc.key(), &server)
	for i, e := range eds {
		if got := e.c.Text(); got != server.Text {
			t.Fatalf("client %d text differs from the server's at revision %d:\n got %q\nwant %q", i, server.Rev, got, server.Text)
		}
	}
	if server.Rev != top {
		t.Fatalf("server at revision %d, clients at %d", server.Rev, top)
	}
	logged, n := c.logSeqs(t)
	if n != server.Rev {
		t.Fatalf("log has %d entries, the document is at revision %d", n, server.Rev)
	}
	acked := 0
	for i, e := range eds {
		got := slices.Sorted(slices.Values(logged[e.c.ID()]))
		want := make([]int, e.c.Seq())
		for k := range want {
			want[k] = k + 1
		}
		if !slices.Equal(got, want) {
			t.Fatalf("client %d (%s): log holds seqs %v, want each of 1..%d once", i, e.c.ID(), got, e.c.Seq())
		}
		for _, s := range e.acked() {
			if s < 1 || s > e.c.Seq() {
				t.Fatalf("client %d: seq %d was acknowledged but is not in the log", i, s)
			}
		}
		acked += len(e.acked())
		delete(logged, e.c.ID())
	}
	if len(logged) != 0 {
		t.Fatalf("log holds entries of unknown clients: %v", logged)
	}
	t.Logf("converged at revision %d: %d entries, %d acknowledgements", server.Rev, n, acked)
}

// TestClusterEditsConvergeAcrossProcessKill: nine clients spread over
// three processes edit one document with random delays; three move to
// another process midway; then the owner process is killed with SIGKILL
// under load and its clients move to the others. Everything converges,
// the log holds exactly one entry per (client, seq) with every
// acknowledged seq, and the lease moved to a live process.
func TestClusterEditsConvergeAcrossProcessKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, NATS and three servers")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()

	var eds []*editor
	for i := range 9 {
		eds = append(eds, c.dial(t, ctx, c.procs[i%3], fmt.Sprint("e", i)))
	}
	stop := editAll(t, eds, seed)
	time.Sleep(1500 * time.Millisecond)
	// Three clients reconnect to another process.
	for i := range 3 {
		eds[i].sw.move(c.procs[(i+1)%3].addr)
	}
	time.Sleep(1500 * time.Millisecond)

	owner := c.owner(t)
	victim := c.proc(owner)
	if victim == nil {
		t.Fatalf("the lease names %q, none of the processes", owner)
	}
	var live []*proc
	for _, p := range c.procs {
		if p != victim {
			live = append(live, p)
		}
	}
	ackedBefore := make([][]int, len(eds))
	for i, e := range eds {
		if e.sw.target == victim.addr {
			e.sw.move(live[i%2].addr) // its next connection goes elsewhere
		}
		ackedBefore[i] = e.acked()
	}
	victim.kill(t)
	t.Logf("killed the owner %s (%s) under load", victim.addr, victim.id)
	time.Sleep(clusterLease*2 + 2*time.Second)
	stop()
	c.settle(t, ctx, eds, live[0])
	for i, e := range eds {
		if len(e.acked()) <= len(ackedBefore[i]) {
			t.Errorf("client %d: no edit acknowledged after the kill", i)
		}
	}
	if now := c.owner(t); now == owner || c.proc(now) == nil {
		t.Fatalf("lease owner after the kill: %q; want one of the live processes (not %q)", now, owner)
	}
}

// TestClusterPresenceCrossesProcesses: a cursor set on one process is
// seen by a client on another, both ways (owner to relay, relay to
// owner).
func TestClusterPresenceCrossesProcesses(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := c.dial(t, ctx, c.procs[0], "ann")
	if err := a.c.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	b := c.dial(t, ctx, c.procs[1], "bob")
	if err := b.c.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	if o := c.owner(t); o != c.procs[0].id {
		t.Fatalf("owner %q, want the first process %q (where the first join was)", o, c.procs[0].id)
	}
	if err := a.c.Edit(func(string) ot.Op { var op ot.Op; return *op.Insert("hello world") }); err != nil {
		t.Fatal(err)
	}
	if err := b.c.WaitFor(ctx, func(m *client.Machine) bool { return m.Text() == "hello world" }); err != nil {
		t.Fatalf("bob never saw ann's edit: %v (text %q)", err, b.c.Text())
	}
	sees := func(who *editor, name string, want []ot.Range) {
		t.Helper()
		err := who.c.WaitFor(ctx, func(m *client.Machine) bool {
			for _, p := range m.Peers() {
				if p.Name == name && slices.Equal(p.Sel, want) {
					return true
				}
			}
			return false
		})
		if err != nil {
			t.Fatalf("%s never saw %s's selection %v; peers %+v", who.c.ID(), name, want, who.c.Peers())
		}
	}
	if err := a.c.SetSelection([]ot.Range{{Anchor: 2, Head: 5}}); err != nil {
		t.Fatal(err)
	}
	sees(b, "ann", []ot.Range{{Anchor: 2, Head: 5}})
	if err := b.c.SetSelection([]ot.Range{{Anchor: 7, Head: 7}}); err != nil {
		t.Fatal(err)
	}
	sees(a, "bob", []ot.Range{{Anchor: 7, Head: 7}})
}

// TestClusterNATSRestartLosesNothing: nats-server is stopped and started
// again while six clients on three processes edit; afterwards everything
// converges and nothing acknowledged is missing from the log.
func TestClusterNATSRestartLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, NATS and three servers")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	var eds []*editor
	for i := range 6 {
		eds = append(eds, c.dial(t, ctx, c.procs[i%3], fmt.Sprint("n", i)))
	}
	stop := editAll(t, eds, seed)
	time.Sleep(1500 * time.Millisecond)
	// Down for longer than a lease period: relays and owners give each
	// other up (silence), and NATS drops whatever was in flight.
	c.nats.Stop()
	time.Sleep(clusterLease + 500*time.Millisecond)
	c.nats.Restart()
	t.Log("restarted nats-server under load")
	time.Sleep(clusterLease*2 + time.Second)
	stop()
	c.settle(t, ctx, eds, c.procs[2])
}

// TestClusterDocumentEventsCrossProcesses: a rename made through one
// process reaches another process's live document list, and a link
// reissued through one process closes the sockets that came with the old
// link on every process.
func TestClusterDocumentEventsCrossProcesses(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := c.dial(t, ctx, c.procs[0], "ann") // the owner's process
	if err := a.c.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	b := c.dial(t, ctx, c.procs[1], "bob") // relayed
	if err := b.c.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}

	// A live list on the third process.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.procs[2].base()+"/api/events?keys="+c.doc.key(), nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	lines := make(chan string, 64)
	go func() { // ends when the stream does (the test's context)
		defer close(lines)
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	// The stream's first event, with the title as it was.
	first := ""
	for !strings.HasPrefix(first, "data:") {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the event stream ended")
			}
			first = l
		case <-ctx.Done():
			t.Fatal("no first event")
		}
		if strings.HasPrefix(first, "data:") && !strings.Contains(first, `"title":"cluster"`) {
			t.Fatalf("first event %s; want the title cluster", first)
		}
	}
	// The third process has nobody in the document, yet its list counts
	// the two people the owner has (one of them relayed by the second).
	// (The first event may have counted them already: a stream sends a
	// document again only when something about it changed.)
	deadline := time.After(5 * time.Second)
	for seen := strings.Contains(first, `"editors":2`); !seen; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the event stream ended")
			}
			seen = strings.HasPrefix(l, "data:") && strings.Contains(l, `"editors":2`)
		case <-deadline:
			t.Fatal("the third process's live list never counted the two people editing through the others")
		}
	}
	patch, _ := http.NewRequest(http.MethodPatch, c.procs[0].base()+"/api/docs/"+c.doc.key(), strings.NewReader(`{"title":"renamed elsewhere"}`))
	patch.Header.Set("Content-Type", "application/json")
	pres, err := http.DefaultClient.Do(patch)
	if err != nil {
		t.Fatal(err)
	}
	pres.Body.Close()
	if pres.StatusCode != http.StatusOK {
		t.Fatalf("rename: %s", pres.Status)
	}
	deadline = time.After(5 * time.Second)
	for seen := false; !seen; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the event stream ended")
			}
			seen = strings.HasPrefix(l, "data:") && strings.Contains(l, "renamed elsewhere")
		case <-deadline:
			t.Fatal("the third process's live list did not show the rename made on the first within 5 s")
		}
	}

	// Reissue the edit link through the first process: bob, relayed by the
	// second, came with the old one.
	rres, err := http.Post(c.procs[0].base()+"/api/docs/"+c.doc.key()+"/links", "application/json", strings.NewReader(`{"reissue":"edit"}`))
	if err != nil {
		t.Fatal(err)
	}
	rres.Body.Close()
	if rres.StatusCode != http.StatusOK {
		t.Fatalf("reissue: %s", rres.Status)
	}
	for b.c.Err() == nil {
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("bob's socket on another process stayed open on the revoked link")
		}
	}
	if err := b.c.Err(); !strings.Contains(err.Error(), "4003") && !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("bob stopped with %v; want the link revoked (4003)", err)
	}
	if a.c.Err() == nil {
		// ann came with the old link too, on the process that reissued it.
		for a.c.Err() == nil && ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if a.c.Err() == nil {
		t.Fatal("ann's socket stayed open on the revoked link")
	}
}
