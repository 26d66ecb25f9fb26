package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tandem-editor/tandem/metrics"
	"github.com/tandem-editor/tandem/session"
	"github.com/tandem-editor/tandem/store"
	"github.com/tandem-editor/tandem/wire"
)

// testLogger discards logs unless TANDEM_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("TANDEM_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// testConfig is a test server's settings: the server's own and its
// session manager's.
type testConfig struct {
	Config
	Session session.Config
}

// wireServer opens a store in dir and builds the session manager and the
// server over it, as main does. The caller closes the server, then the
// store.
func wireServer(ctx context.Context, dir string, mod func(*testConfig)) (*Server, *store.DB, error) {
	// Every test runs from 127.0.0.1: the limits per address are off
	// unless a test sets them.
	tc := testConfig{Config: Config{Logger: testLogger(), MaxSocketsPerAddr: -1, CreatePerMinute: -1, HTTPRate: -1}}
	if mod != nil {
		mod(&tc)
	}
	tc.Session.Logger = tc.Logger
	db, err := store.Open(ctx, filepath.Join(dir, "tandem.db"))
	if err != nil {
		return nil, nil, err
	}
	if tc.IdentityKey == nil { // as main does: ids outlive restarts
		if tc.IdentityKey, err = db.Secret(ctx, "identity", 32); err != nil {
			db.Close()
			return nil, nil, err
		}
	}
	reg := metrics.New()
	tc.Session.Observer = reg
	srv, err := New(tc.Config, Deps{Docs: db, Health: db, Sessions: session.NewManager(db, tc.Session), Metrics: reg})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return srv, db, nil
}

// newTestServer starts a Server on a fresh database behind httptest.
func newTestServer(t *testing.T, mod func(*testConfig)) (*Server, *httptest.Server) {
	t.Helper()
	return newTestServerIn(t, t.TempDir(), mod)
}

// newTestServerIn starts a Server on the database in dir behind httptest.
func newTestServerIn(t *testing.T, dir string, mod func(*testConfig)) (*Server, *httptest.Server) {
	t.Helper()
	srv, _, ts := startTestServer(t, dir, mod)
	return srv, ts
}

// startTestServer wires a Server on the database in dir, serves it with
// httptest, and closes all three when the test ends.
func startTestServer(t *testing.T, dir string, mod func(*testConfig)) (*Server, *store.DB, *httptest.Server) {
	t.Helper()
	srv, db, err := wireServer(context.Background(), dir, mod)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := db.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
		ts.Close()
	})
	return srv, db, ts
}

// do sends an HTTP request; hdr holds extra headers as name, value pairs.
func do(t *testing.T, method, url, body string, hdr ...string) (int, []byte) {
	t.Helper()
	code, b, _ := doReq(t, method, url, body, nil, hdr...)
	return code, b
}

// doWith is do with a hook that adjusts the request (its Host, say).
func doWith(t *testing.T, method, url, body string, mod func(*http.Request), hdr ...string) (int, []byte) {
	t.Helper()
	code, b, _ := doReq(t, method, url, body, mod, hdr...)
	return code, b
}

// doFull is do that also returns the answer's headers.
func doFull(t *testing.T, method, url, body string, hdr ...string) (int, []byte, http.Header) {
	t.Helper()
	return doReq(t, method, url, body, nil, hdr...)
}

func doReq(t *testing.T, method, url, body string, mod func(*http.Request), hdr ...string) (int, []byte, http.Header) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if mod != nil {
		mod(req)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return res.StatusCode, b, res.Header
}

const jsonCT = "application/json"

// createDoc creates a document and returns its edit token, which opens it
// with every right where a URL takes {id}.
func createDoc(t *testing.T, ts *httptest.Server) string {
	t.Helper()
	return createDocLinks(t, ts).Edit
}

// createDocLinks creates a document and returns its id and tokens (not
// paths).
func createDocLinks(t *testing.T, ts *httptest.Server) docKeys {
	t.Helper()
	code, body := do(t, "POST", ts.URL+"/api/docs", `{"title":"test"}`, "Content-Type", jsonCT)
	if code != http.StatusCreated {
		t.Fatalf("create doc: got status %d (%s), want 201", code, body)
	}
	var d docJSON
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatalf("create doc: %v", err)
	}
	if d.Links == nil || !strings.HasPrefix(d.Links.Edit, "/d/") || !strings.HasPrefix(d.Links.View, "/d/") {
		t.Fatalf("create doc: links %+v", d.Links)
	}
	return docKeys{ID: d.ID, Edit: strings.TrimPrefix(d.Links.Edit, "/d/"), View: strings.TrimPrefix(d.Links.View, "/d/")}
}

// docKeys are a document's id and the tokens of its links.
type docKeys struct{ ID, Edit, View string }

// errorCode decodes an error body and returns its code.
func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		Error apiError `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == "" {
		t.Fatalf("not an error body: %s", body)
	}
	return e.Error.Code
}

// wsClient is a test WebSocket client.
type wsClient struct {
	t *testing.T
	c *websocket.Conn
}

func wsURL(ts *httptest.Server, doc string) string {
	return "ws" + strings.TrimPrefix(ts.URL, "http") + "/api/docs/" + doc + "/ws"
}

func dial(t *testing.T, ts *httptest.Server, doc string) *wsClient {
	t.Helper()
	c, res, err := websocket.DefaultDialer.Dial(wsURL(ts, doc), nil)
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		t.Fatalf("dial: %v (status %d)", err, status)
	}
	t.Cleanup(func() { c.Close() })
	return &wsClient{t: t, c: c}
}

// sendRaw sends a text frame.
func (w *wsClient) sendRaw(s string) {
	w.t.Helper()
	w.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := w.c.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		w.t.Fatalf("send %.80s: %v", s, err)
	}
}

// read returns the next message, or the error that ended the socket. The
// deadline only guards against a hang.
func (w *wsClient) read() (wire.Message, error) {
	w.c.SetReadDeadline(time.Now().Add(15 * time.Second))
	_, b, err := w.c.ReadMessage()
	if err != nil {
		return wire.Message{}, err
	}
	var m wire.Message
	if err := json.Unmarshal(b, &m); err != nil {
		w.t.Fatalf("server sent a message that does not decode: %s: %v", b, err)
	}
	return m, nil
}

// next returns the next message of type typ, skipping presence and leave
// messages when typ is neither. Any other message fails the test.
func (w *wsClient) next(typ string) wire.Message {
	w.t.Helper()
	for range 1000 {
		m, err := w.read()
		if err != nil {
			w.t.Fatalf("waiting for %s: %v", typ, err)
		}
		if m.Type == typ {
			return m
		}
		if m.Type == wire.TypePresence || m.Type == wire.TypeLeave {
			continue
		}
		w.t.Fatalf("waiting for %s: got %+v", typ, m)
	}
	w.t.Fatalf("waiting for %s: too many other messages", typ)
	return wire.Message{}
}

// expectError reads the next non-presence message and checks it is an error
// with the given code.
func (w *wsClient) expectError(code string) wire.Message {
	w.t.Helper()
	m := w.next(wire.TypeError)
	if m.Code != code {
		w.t.Fatalf("got error %q (%s), want %q", m.Code, m.Message, code)
	}
	return m
}

// expectClose reads until the socket ends and checks the close code. It
// returns the messages read before the close.
func (w *wsClient) expectClose(code int) []wire.Message {
	w.t.Helper()
	var msgs []wire.Message
	for range 100000 {
		m, err := w.read()
		if err == nil {
			msgs = append(msgs, m)
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			var last []string
			for _, m := range msgs[max(0, len(msgs)-4):] {
				last = append(last, fmt.Sprintf("%s(rev %v, code %q)", m.Type, ptrInt(m.Rev), m.Code))
			}
			w.t.Fatalf("got %v, want close %d (after %d messages, the last %v)", err, code, len(msgs), last)
		}
		if ce.Code != code {
			w.t.Fatalf("got close %d %q, want %d", ce.Code, ce.Text, code)
		}
		return msgs
	}
	w.t.Fatalf("no close after 100000 messages")
	return nil
}

// secretOf makes a well-formed client secret from a short name, so that
// a test can rejoin as the same client.
func secretOf(name string) string {
	s := "s-" + name + strings.Repeat("0", 22)
	return s[:max(22, len(name)+2)]
}

// join sends a join as the client holding secretOf(client) and reads up to
// joined; it returns the messages before joined (snapshot or catch-up ops)
// and joined itself. joined.Client is the client's public id.
func (w *wsClient) join(client string, rev *int) ([]wire.Message, wire.Message) {
	w.t.Helper()
	m := map[string]any{"type": "join", "secret": secretOf(client), "name": "N " + client, "color": "#123"}
	if rev != nil {
		m["rev"] = *rev
	}
	b, _ := json.Marshal(m)
	w.sendRaw(string(b))
	var before []wire.Message
	for range 100000 {
		m, err := w.read()
		if err != nil {
			w.t.Fatalf("join: %v", err)
		}
		switch m.Type {
		case wire.TypeJoined:
			return before, m
		case wire.TypeSnapshot, wire.TypeOp:
			before = append(before, m)
		case wire.TypePresence, wire.TypeLeave:
		default:
			w.t.Fatalf("join: got %+v", m)
		}
	}
	w.t.Fatalf("join: no joined")
	return nil, wire.Message{}
}

// submit sends an op and waits for its ack, returning the ack's revision.
func (w *wsClient) submit(rev, seq int, op string) int {
	w.t.Helper()
	w.sendRaw(`{"type":"op","rev":` + itoa(rev) + `,"seq":` + itoa(seq) + `,"op":` + op + `}`)
	a := w.next(wire.TypeAck)
	if a.Seq == nil || *a.Seq != seq || a.Rev == nil {
		w.t.Fatalf("got ack %+v, want seq %d", a, seq)
	}
	return *a.Rev
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// docText returns the text and revision from GET /api/docs/{id}.
func docText(t *testing.T, ts *httptest.Server, id string) (string, int) {
	t.Helper()
	code, body := do(t, "GET", ts.URL+"/api/docs/"+id, "")
	if code != http.StatusOK {
		t.Fatalf("get doc: status %d: %s", code, body)
	}
	var d docJSON
	if err := json.Unmarshal(body, &d); err != nil || d.Text == nil {
		t.Fatalf("get doc: %s: %v", body, err)
	}
	return *d.Text, d.Rev
}

// waitFor polls cond until it holds, failing after a generous bound (a
// guard against hangs, not a timing assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 2000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("gave up waiting for %s", what)
}

// docID returns the id of the document key opens.
func docID(t *testing.T, ts *httptest.Server, key string) string {
	t.Helper()
	code, body := do(t, "GET", ts.URL+"/api/docs/"+key, "")
	if code != http.StatusOK {
		t.Fatalf("GET doc: %d %s", code, body)
	}
	var d docJSON
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	return d.ID
}

func ptrInt(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}
