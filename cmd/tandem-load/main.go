// Command tandem-load is a load generator for a Tandem server: it creates
// documents, connects simulated editors to each (package client), has every
// editor type in a closed loop (edit, wait for the acknowledgement, pause)
// and reports throughput and acknowledgement latency. At the end it checks
// that every editor of a document holds the server's text.
//
// It only targets loopback addresses. Run the server with a rate limit
// high enough for the load, e.g.:
//
//	go run . -data /tmp/tandem-load -rate -1 &
//	go run ./cmd/tandem-load -docs 20 -editors 5 -duration 20s
//
// Attack mode measures what a hostile client naming old revisions costs
// the honest editors. -prefill gives every document a long history first
// (ops pipelined through one connection); -flood-presence has one attacker
// per document send presence at revision 0; -flood-joins has attackers
// join from revision 0 (a catch-up of the whole history) and submit an op
// based on revision 0, which the server refuses as stale (close 4001).
// Compare the ack latency of the same run with and without the floods:
//
//	go run ./cmd/tandem-load -docs 1 -editors 5 -prefill 20000 -pause 50ms
//	go run ./cmd/tandem-load -docs 1 -editors 5 -prefill 20000 -pause 50ms -flood-presence 2000 -flood-joins 20
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tandem-editor/tandem/client"
	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/wire"
)

func main() {
	var (
		base     = flag.String("url", "http://127.0.0.1:8080", "server base URL (loopback only); several, comma-separated, spread the editors over them in turn (processes of one cluster)")
		docs     = flag.Int("docs", 10, "documents to create")
		editors  = flag.Int("editors", 5, "editors per document")
		duration = flag.Duration("duration", 10*time.Second, "how long to type (at most 5m)")
		pause    = flag.Duration("pause", 0, "pause between an acknowledgement and the next edit (0: closed loop at full speed)")
		rate     = flag.Float64("rate", 0, "keystrokes per second per editor, typed on a schedule whether or not acknowledged (open loop; keystrokes typed while an op is in flight are composed into the next, as editors do); 0: closed loop")
		metricsU = flag.String("metrics", "", "after the run, read the server's /metrics at this URL and print its histograms (with -admin-token if it asks for one)")
		admin    = flag.String("admin-token", "", "administrator's token for -metrics")
		seed     = flag.Uint64("seed", uint64(time.Now().UnixNano()), "random seed")
		atk      attack
	)
	flag.IntVar(&atk.prefill, "prefill", 0, "give each document this many revisions before the run (at most 1,000,000)")
	flag.Float64Var(&atk.presence, "flood-presence", 0, "per document, one attacker sends this many presence messages/s naming revision 0 (at most 100,000)")
	flag.Float64Var(&atk.joins, "flood-joins", 0, "per document, this many joins/s from revision 0, each followed by an op based on revision 0 (at most 1,000)")
	flag.Parse()
	if *rate < 0 || *rate > 100000 {
		fmt.Fprintln(os.Stderr, "tandem-load: -rate must be between 0 and 100,000")
		os.Exit(2)
	}
	err := run(*base, *docs, *editors, *duration, *pause, *rate, *seed, atk)
	if *metricsU != "" {
		if merr := printMetrics(*metricsU, *admin); merr != nil {
			fmt.Fprintln(os.Stderr, "tandem-load: metrics:", merr)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tandem-load:", err)
		os.Exit(1)
	}
}

// run drives docs × editors: in a closed loop (pause between an
// acknowledgement and the next edit), or, with rate > 0, typing rate
// keystrokes/s each on a schedule.
func run(urls string, docs, editors int, duration, pause time.Duration, rate float64, seed uint64, atk attack) error {
	bases := strings.Split(urls, ",")
	for _, b := range bases {
		u, err := url.Parse(b)
		if err != nil {
			return err
		}
		if ip := net.ParseIP(u.Hostname()); (ip == nil || !ip.IsLoopback()) && u.Hostname() != "localhost" {
			return fmt.Errorf("refusing to load %s: only loopback addresses may be targeted", u.Host)
		}
	}
	// Documents are created, attacked and read back through the first;
	// editor k of the run connects to bases[k % len(bases)].
	base := bases[0]
	var err error
	if docs < 1 || editors < 1 || docs*editors > 10000 {
		return errors.New("need 1 <= docs*editors <= 10000")
	}
	if err := atk.check(); err != nil {
		return err
	}
	duration = min(duration, 5*time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), duration+time.Minute)
	defer cancel()
	quiet := slog.New(slog.DiscardHandler)

	ids := make([]string, docs)
	for i := range ids {
		if ids[i], err = createDoc(base, fmt.Sprintf("load %d", i)); err != nil {
			return err
		}
	}
	if atk.prefill > 0 {
		t0 := time.Now()
		for _, id := range ids {
			if err := prefill(ctx, base, id, atk.prefill); err != nil {
				return fmt.Errorf("prefill %s: %w", id, err)
			}
		}
		fmt.Printf("prefilled %d documents with %d revisions each in %v\n", docs, atk.prefill, time.Since(t0).Round(time.Millisecond))
	}
	var clients [][]*client.Client
	var typists [][]*typist
	for _, id := range ids {
		var cs []*client.Client
		var ts []*typist
		for j := range editors {
			ty := &typist{}
			ts = append(ts, ty)
			at := bases[(len(clients)*editors+j)%len(bases)]
			c, err := client.Dial(ctx, client.Config{URL: at, Doc: id, Name: fmt.Sprintf("load %d", j), Logger: quiet, OnAck: ty.acked})
			if err != nil {
				return fmt.Errorf("connect editor %d of %s: %w", j, id, err)
			}
			defer c.Close()
			cs = append(cs, c)
		}
		clients = append(clients, cs)
		typists = append(typists, ts)
	}
	fmt.Printf("%d documents × %d editors connected; typing for %v\n", docs, editors, duration)

	var (
		mu        sync.Mutex
		latencies []time.Duration
		failures  int
	)
	start := time.Now()
	deadline := start.Add(duration)
	var wg sync.WaitGroup
	// The attackers, if any: waited for after the editors, so that the
	// throughput is counted over the typing alone.
	var floods floodStats
	var fwg sync.WaitGroup
	defer fwg.Wait()
	for _, id := range ids {
		if atk.presence > 0 {
			fwg.Add(1)
			go func() { // ends at the deadline or when its socket fails
				defer fwg.Done()
				floodPresence(base, id, atk.presence, deadline, &floods)
			}()
		}
		if atk.joins > 0 {
			fwg.Add(1)
			go func() { // ends at the deadline, once its cycles have ended
				defer fwg.Done()
				floodJoins(base, id, atk.joins, deadline, &floods)
			}()
		}
	}
	for d, cs := range clients {
		for j, c := range cs {
			rng := rand.New(rand.NewPCG(seed, uint64(d*editors+j)))
			wg.Add(1)
			if rate > 0 {
				ty := typists[d][j]
				go func() { // ends at the deadline or on the first failure
					defer wg.Done()
					if !ty.typeOn(c, rng, rate, start, deadline) {
						mu.Lock()
						failures++
						mu.Unlock()
					}
				}()
				continue
			}
			go func() { // ends at the deadline or on the first failure
				defer wg.Done()
				var mine []time.Duration
				defer func() {
					mu.Lock()
					latencies = append(latencies, mine...)
					mu.Unlock()
				}()
				for time.Now().Before(deadline) {
					t0 := time.Now()
					if err := c.Edit(func(text string) ot.Op { return randomEdit(rng, text) }); err != nil {
						mu.Lock()
						failures++
						mu.Unlock()
						return
					}
					if err := c.WaitSynced(ctx); err != nil {
						mu.Lock()
						failures++
						mu.Unlock()
						return
					}
					mine = append(mine, time.Since(t0))
					if pause > 0 {
						time.Sleep(pause)
					}
				}
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	fwg.Wait()

	// Open loop: the last keystrokes may still be on their way.
	for _, cs := range clients {
		for _, c := range cs {
			if err := c.WaitSynced(ctx); err != nil {
				return fmt.Errorf("waiting for the last acknowledgements: %w", err)
			}
		}
	}
	// Convergence: every editor holds the server's text.
	diverged := 0
	for d, cs := range clients {
		var server struct {
			Rev  int    `json:"rev"`
			Text string `json:"text"`
		}
		if err := getJSON(base+"/api/docs/"+ids[d], &server); err != nil {
			return err
		}
		for _, c := range cs {
			if err := c.WaitRev(ctx, server.Rev); err != nil {
				return err
			}
			if c.Text() != server.Text {
				diverged++
			}
		}
	}

	what := "edits"
	if rate > 0 {
		// Every editor's text matched the server's above, so each op was
		// acknowledged; the keystrokes' latencies are in the typists.
		what = "keystrokes"
		typed, ops := 0, 0
		for d, ts := range typists {
			for j, ty := range ts {
				ty.mu.Lock()
				latencies = append(latencies, ty.latencies...)
				typed += ty.typed
				ty.mu.Unlock()
				ops += clients[d][j].Seq()
			}
		}
		fmt.Printf("typed %d keystrokes (%.0f/s offered), sent as %d ops (%.1f keystrokes per op)\n",
			typed, rate*float64(docs*editors), ops, float64(typed)/float64(max(ops, 1)))
	}
	slices.Sort(latencies)
	n := len(latencies)
	if n == 0 {
		return errors.New("no edit was acknowledged")
	}
	pct := func(p float64) time.Duration { return latencies[min(n-1, int(p*float64(n)))] }
	fmt.Printf("acknowledged %s: %d in %v = %.0f %s/s\n", what, n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), what)
	fmt.Printf("ack latency: p50 %v  p90 %v  p99 %v  max %v\n", pct(0.50).Round(time.Microsecond), pct(0.90).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), latencies[n-1].Round(time.Microsecond))
	fmt.Printf("failed editors: %d; editors whose text differs from the server's: %d\n", failures, diverged)
	if atk.presence > 0 {
		fmt.Printf("presence flood: %d messages naming revision 0 sent, %d error answers, %d attacker sockets ended early\n",
			floods.presenceSent.Load(), floods.presenceErrors.Load(), floods.presenceEnded.Load())
	}
	if atk.joins > 0 {
		fmt.Printf("join flood: %d joins from revision 0 caught up (%d ops received), %d ops refused stale with close 4001, %d other outcomes, %d ticks skipped (all attackers busy)\n",
			floods.joined.Load(), floods.catchUpOps.Load(), floods.refused.Load(), floods.otherOutcome.Load(), floods.skipped.Load())
	}
	if failures > 0 || diverged > 0 {
		return errors.New("load run had failures or divergence")
	}
	return nil
}

// randomEdit types a character, deletes one, or inserts a short word, at a
// random character boundary.
func randomEdit(rng *rand.Rand, text string) ot.Op {
	units := ot.Len(text)
	// Positions at character boundaries, in UTF-16 units.
	var bounds []int
	u := 0
	for _, r := range text {
		bounds = append(bounds, u)
		if r >= 0x10000 {
			u += 2
		} else {
			u++
		}
	}
	bounds = append(bounds, u)
	i := rng.IntN(len(bounds))
	pos := bounds[i]
	var op ot.Op
	op.Retain(pos)
	if rng.IntN(4) == 0 && i+1 < len(bounds) {
		op.Delete(bounds[i+1] - pos).Retain(units - bounds[i+1])
		return op
	}
	words := []string{"a", "e", " ", "the ", "中", "文", "😀", "é", "\n"}
	return *op.Insert(words[rng.IntN(len(words))]).Retain(units - pos)
}

func createDoc(base, title string) (string, error) {
	body, _ := json.Marshal(map[string]string{"title": title})
	res, err := http.Post(base+"/api/docs", "application/json", strings.NewReader(string(body)))
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("create document: %s", res.Status)
	}
	var d struct{ Links struct{ Edit string } }
	if err := json.NewDecoder(res.Body).Decode(&d); err != nil {
		return "", err
	}
	// The edit link's token opens the document for editing.
	return strings.TrimPrefix(d.Links.Edit, "/d/"), nil
}

func getJSON(u string, v any) error {
	res, err := http.Get(u)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, res.Status)
	}
	return json.NewDecoder(res.Body).Decode(v)
}

// typist is one editor of the open-loop mode (-rate): it types on a
// schedule and measures each keystroke from the moment it was typed to
// the acknowledgement of the op that carried it.
type typist struct {
	mu        sync.Mutex
	waiting   []stroke // typed, not yet acknowledged, oldest first
	latencies []time.Duration
	typed     int
}

type stroke struct {
	seq int // the op that carries it
	at  time.Time
}

// acked is the client's OnAck: every keystroke carried by seq or an
// earlier op is now applied.
func (t *typist) acked(seq int) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	i := 0
	for ; i < len(t.waiting) && t.waiting[i].seq <= seq; i++ {
		t.latencies = append(t.latencies, now.Sub(t.waiting[i].at))
	}
	t.waiting = t.waiting[i:]
}

// typeOn types at rate keystrokes/s from start until deadline: one letter
// at a random position, or one in eight a backspace. The text is ASCII, so
// every position is a character boundary. It reports false on a failure.
func (t *typist) typeOn(c *client.Client, rng *rand.Rand, rate float64, start, deadline time.Time) bool {
	const letters = "etaoinshrdlu "
	for {
		now := time.Now()
		if !now.Before(deadline) {
			return true
		}
		due := int(now.Sub(start).Seconds()*rate) - t.typed
		for range due {
			at := time.Now()
			seq, err := c.Type(func(n int) ot.Op {
				var op ot.Op
				pos := rng.IntN(n + 1)
				if n > 0 && pos > 0 && rng.IntN(8) == 0 {
					return *op.Retain(pos - 1).Delete(1).Retain(n - pos)
				}
				return *op.Retain(pos).Insert(letters[rng.IntN(len(letters)):][:1]).Retain(n - pos)
			})
			if err != nil {
				return false
			}
			t.mu.Lock()
			t.typed++
			if seq != 0 {
				t.waiting = append(t.waiting, stroke{seq, at})
			}
			t.mu.Unlock()
		}
		// Until the next keystroke is due (at least 1 ms: fast typists
		// type several per wake-up); a slow typist must not poll.
		next := start.Add(time.Duration(float64(t.typed+1) / rate * float64(time.Second)))
		time.Sleep(max(time.Millisecond, time.Until(next)))
	}
}

// printMetrics reads the server's /metrics and prints the quantiles of its
// histograms (estimated from the buckets, as Prometheus does) and counters.
func printMetrics(u, token string) error {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, res.Status)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return err
	}
	type bucket struct{ le, n float64 }
	hists := map[string][]bucket{}
	values := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		name, v, ok := strings.Cut(line, " ")
		f, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil {
			continue
		}
		if base, le, ok := strings.Cut(name, `_bucket{le="`); ok {
			l, err := strconv.ParseFloat(strings.TrimSuffix(le, `"}`), 64)
			if err == nil {
				hists[base] = append(hists[base], bucket{l, f})
			}
			continue
		}
		values[name] = f
	}
	quantile := func(bs []bucket, q float64) float64 {
		total := bs[len(bs)-1].n
		prevLe, prevN := 0.0, 0.0
		for _, b := range bs {
			if b.n >= q*total {
				if math.IsInf(b.le, 1) {
					return prevLe
				}
				if b.n == prevN {
					return b.le
				}
				return prevLe + (b.le-prevLe)*(q*total-prevN)/(b.n-prevN)
			}
			prevLe, prevN = b.le, b.n
		}
		return prevLe
	}
	fmt.Printf("server metrics (%s):\n", u)
	for _, name := range []string{"tandem_op_answer_seconds", "tandem_commit_seconds", "tandem_commit_ops", "tandem_peer_queue_messages"} {
		bs := hists[name]
		if len(bs) == 0 || bs[len(bs)-1].n == 0 {
			continue
		}
		count := values[name+"_count"]
		fmt.Printf("  %s: count %.0f, mean %.4g, p50 %.4g, p99 %.4g\n", name, count, values[name+"_sum"]/count, quantile(bs, 0.5), quantile(bs, 0.99))
	}
	for _, name := range []string{"tandem_ops_applied_total", "tandem_commits_total", "tandem_fanout_messages_total", "tandem_fanout_bytes_total", "process_resident_memory_bytes", "go_goroutines"} {
		if v, ok := values[name]; ok {
			fmt.Printf("  %s: %.0f\n", name, v)
		}
	}
	return nil
}

// attack holds the attack mode's flags; zero values turn it off.
type attack struct {
	prefill         int
	presence, joins float64 // per document, per second
}

func (a attack) check() error {
	switch {
	case a.prefill < 0 || a.prefill > 1_000_000:
		return errors.New("need 0 <= prefill <= 1000000")
	case a.presence < 0 || a.presence > 100_000:
		return errors.New("need 0 <= flood-presence <= 100000")
	case a.joins < 0 || a.joins > 1000:
		return errors.New("need 0 <= flood-joins <= 1000")
	}
	return nil
}

// floodStats counts what the attackers did and what they were answered.
type floodStats struct {
	presenceSent, presenceErrors, presenceEnded        atomic.Int64
	joined, catchUpOps, refused, otherOutcome, skipped atomic.Int64
}

// ioWait bounds every read and write of the raw sockets below: a guard
// against a hang, never reached by a working server.
const ioWait = 30 * time.Second

// dialRaw opens a WebSocket to a document, for the prefill and the
// attackers (which speak the protocol by hand).
func dialRaw(ctx context.Context, base, doc string) (*websocket.Conn, error) {
	u := "ws" + strings.TrimPrefix(base, "http") + "/api/docs/" + url.PathEscape(doc) + "/ws"
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, u, nil)
	return ws, err
}

func writeMsg(ws *websocket.Conn, m *wire.Message) error {
	ws.SetWriteDeadline(time.Now().Add(ioWait))
	return ws.WriteMessage(websocket.TextMessage, wire.Encode(m))
}

// joinMsg is a join from revision rev (-1: none, a snapshot), as a new
// client (the server issues its identity).
func joinMsg(name string, rev int) *wire.Message {
	m := &wire.Message{Type: wire.TypeJoin, Name: "load " + name}
	if rev >= 0 {
		m.Rev = wire.IntPtr(rev)
	}
	return m
}

// isOp reports whether a raw server message is an op, without decoding
// it: a catch-up is thousands of them.
func isOp(b []byte) bool { return bytes.HasPrefix(b, []byte(`{"type":"op"`)) }

// prefill gives a fresh document n revisions: one connection types n
// characters at the end, one op per revision, with up to 256 ops in
// flight. Each op is based on the revision its predecessor makes, which is
// the document's current revision when the server applies it: nobody else
// writes during the prefill.
func prefill(ctx context.Context, base, doc string, n int) error {
	const inFlight = 256
	ws, err := dialRaw(ctx, base, doc)
	if err != nil {
		return err
	}
	defer ws.Close()
	if err := writeMsg(ws, joinMsg("load-prefill", -1)); err != nil {
		return err
	}
	start := -1 // the revision joined at
	for reads := 0; start < 0; reads++ {
		if reads > 1000 {
			return errors.New("join: no joined after 1000 messages")
		}
		ws.SetReadDeadline(time.Now().Add(ioWait))
		_, b, err := ws.ReadMessage()
		if err != nil {
			return fmt.Errorf("join: %w", err)
		}
		var m wire.Message
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("join: %s: %w", b, err)
		}
		switch {
		case m.Type == wire.TypeJoined && m.Rev != nil:
			start = *m.Rev
		case m.Type == wire.TypeError:
			return fmt.Errorf("join: %s: %s", m.Code, m.Message)
		}
	}
	if start != 0 {
		return fmt.Errorf("the document is at revision %d, not new", start)
	}
	sent, acked := 0, 0
	for reads := 0; acked < n; reads++ {
		if reads > 4*n+1000 {
			return fmt.Errorf("no end after %d messages (%d acks)", reads, acked)
		}
		for sent < n && sent-acked < inFlight {
			sent++
			var op ot.Op
			op.Retain(sent - 1).Insert("x")
			if err := writeMsg(ws, &wire.Message{Type: wire.TypeOp, Seq: wire.IntPtr(sent), Rev: wire.IntPtr(sent - 1), Op: op}); err != nil {
				return fmt.Errorf("send op %d: %w", sent, err)
			}
		}
		ws.SetReadDeadline(time.Now().Add(ioWait))
		_, b, err := ws.ReadMessage()
		if err != nil {
			return fmt.Errorf("after %d acks: %w", acked, err)
		}
		var m wire.Message
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("%s: %w", b, err)
		}
		switch m.Type {
		case wire.TypeAck:
			acked++
			if m.Seq == nil || *m.Seq != acked || m.Rev == nil || *m.Rev != acked {
				return fmt.Errorf("got ack %s, want seq and rev %d", b, acked)
			}
		case wire.TypeError:
			return fmt.Errorf("op refused after %d acks: %s: %s", acked, m.Code, m.Message)
		}
	}
	ws.SetWriteDeadline(time.Now().Add(ioWait))
	ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "prefilled"))
	return nil
}

// floodPresence joins doc and sends presence naming revision 0 at rate
// messages/s until the deadline. A reader discards what the server sends
// (so that the attacker is never closed as too slow) and counts errors.
func floodPresence(base, doc string, rate float64, deadline time.Time, st *floodStats) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	ws, err := dialRaw(ctx, base, doc)
	if err != nil {
		st.presenceEnded.Add(1)
		return
	}
	defer ws.Close()
	if err := writeMsg(ws, joinMsg(fmt.Sprintf("flood-presence-%d", rand.Uint32()), -1)); err != nil {
		st.presenceEnded.Add(1)
		return
	}
	readDone := make(chan struct{})
	go func() { // ends when the socket closes (at the deadline, below)
		defer close(readDone)
		for range maxFrames {
			ws.SetReadDeadline(time.Now().Add(ioWait))
			_, b, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if bytes.HasPrefix(b, []byte(`{"type":"error"`)) {
				st.presenceErrors.Add(1)
			}
		}
	}()
	msg := &wire.Message{Type: wire.TypePresence, Rev: wire.IntPtr(0), Sel: []wire.Range{{0, 0}}}
	const every = 10 * time.Millisecond
	tick := time.NewTicker(every)
	defer tick.Stop()
	owed := 0.0 // messages due and not yet sent
loop:
	for time.Now().Before(deadline) {
		select {
		case <-readDone:
			st.presenceEnded.Add(1)
			break loop
		case <-tick.C:
		}
		for owed += rate * every.Seconds(); owed >= 1; owed-- {
			if err := writeMsg(ws, msg); err != nil {
				st.presenceEnded.Add(1)
				break loop
			}
			st.presenceSent.Add(1)
		}
	}
	ws.Close()
	<-readDone
}

// floodJoins starts rate join cycles per second on doc until the deadline,
// at most maxCycles at a time (a tick finding them all busy is skipped),
// and waits for the cycles to end.
func floodJoins(base, doc string, rate float64, deadline time.Time, st *floodStats) {
	const maxCycles = 8
	busy := make(chan struct{}, maxCycles)
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	end := time.NewTimer(time.Until(deadline))
	defer end.Stop()
	ticks := int(rate*time.Until(deadline).Seconds()) + 1
	for n := range ticks {
		select {
		case <-tick.C:
		case <-end.C:
			return
		}
		select {
		case busy <- struct{}{}:
		default:
			st.skipped.Add(1)
			continue
		}
		wg.Add(1)
		go func() { // ends when the server has closed the socket, or at ioWait
			defer wg.Done()
			defer func() { <-busy }()
			if !joinCycle(base, doc, fmt.Sprintf("flood-join-%d", n), st) {
				st.otherOutcome.Add(1)
			}
		}()
	}
}

// maxFrames bounds the messages one join cycle reads: a catch-up of the
// longest prefill and what the editors type meanwhile.
const maxFrames = 2_000_000

// joinCycle joins doc from revision 0, reads the whole catch-up, submits
// an op based on revision 0 and expects error stale then close 4001. It
// reports whether that is what happened.
func joinCycle(base, doc, clientID string, st *floodStats) bool {
	ctx, cancel := context.WithTimeout(context.Background(), ioWait)
	defer cancel()
	ws, err := dialRaw(ctx, base, doc)
	if err != nil {
		return false
	}
	defer ws.Close()
	ws.SetReadDeadline(time.Now().Add(ioWait))
	if err := writeMsg(ws, joinMsg(clientID, 0)); err != nil {
		return false
	}
	for frames := 0; ; frames++ {
		if frames == maxFrames {
			return false
		}
		_, b, err := ws.ReadMessage()
		if err != nil {
			return false
		}
		if isOp(b) {
			st.catchUpOps.Add(1)
			continue
		}
		if bytes.HasPrefix(b, []byte(`{"type":"joined"`)) {
			break
		}
		if !bytes.HasPrefix(b, []byte(`{"type":"presence"`)) && !bytes.HasPrefix(b, []byte(`{"type":"leave"`)) {
			return false
		}
	}
	st.joined.Add(1)
	if err := writeMsg(ws, &wire.Message{Type: wire.TypeOp, Seq: wire.IntPtr(1), Rev: wire.IntPtr(0), Op: ot.Op{ot.Insert("y")}}); err != nil {
		return false
	}
	stale := false
	for range maxFrames {
		_, b, err := ws.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			if ce.Code == wire.CloseTooSlow && stale {
				st.refused.Add(1)
				return true
			}
			return false
		}
		if err != nil {
			return false
		}
		if bytes.HasPrefix(b, []byte(`{"type":"error"`)) {
			var m wire.Message
			if json.Unmarshal(b, &m) != nil || m.Code != wire.CodeStale {
				return false
			}
			stale = true
		}
	}
	return false
}
