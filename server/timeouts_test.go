package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/websocket"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/store"
	"github.com/tandem-editor/tandem/wire"
)

// newTestServerDB is newTestServer that also hands over the store, for
// tests that write large logs faster than a socket could.
func newTestServerDB(t *testing.T, mod func(*testConfig)) (*store.DB, *httptest.Server) {
	t.Helper()
	_, db, ts := startTestServer(t, t.TempDir(), mod)
	return db, ts
}

// appendText appends ops inserting each text at the end of the document.
func appendText(t *testing.T, db *store.DB, id string, texts ...string) {
	t.Helper()
	n := 0
	var es []oplog.Entry
	for i, s := range texts {
		var op ot.Op
		op.Retain(n).Insert(s)
		es = append(es, oplog.Entry{Rev: i + 1, Op: op, Client: "c", Seq: i + 1})
		n += ot.Len(s)
	}
	if err := db.Append(context.Background(), id, es); err != nil {
		t.Fatalf("Append: %v", err)
	}
}

func rawConn(t *testing.T, ts *httptest.Server) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// A body that trickles in, one byte every 200 ms, is cut off by the read
// timeout instead of holding the connection for the 20 s it would take.
func TestSlowBodyIsCutOff(t *testing.T) {
	const readTimeout = 500 * time.Millisecond
	_, ts := newTestServer(t, func(c *testConfig) { c.ReadTimeout = readTimeout })
	conn := rawConn(t, ts)
	body := `{"title":"` + strings.Repeat("x", 88) + `"}` // 100 bytes
	start := time.Now()
	fmt.Fprintf(conn, "POST /api/docs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))

	type result struct {
		res  *http.Response
		body []byte
		err  error
	}
	answer := make(chan result, 1)
	go func() { // ends when the server answers or closes the connection
		conn.SetReadDeadline(time.Now().Add(15 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			answer <- result{err: err}
			return
		}
		b, err := io.ReadAll(res.Body)
		answer <- result{res: res, body: b, err: err}
	}()
	sent := 0
	var got result
trickle:
	for sent < len(body) {
		select {
		case got = <-answer:
			break trickle
		case <-time.After(200 * time.Millisecond):
		}
		if _, err := conn.Write([]byte{body[sent]}); err != nil {
			got = <-answer
			break
		}
		sent++
	}
	if sent == len(body) {
		got = <-answer
	}
	took := time.Since(start)
	if sent == len(body) || took > 5*time.Second {
		t.Fatalf("the whole body went through in %v (answer %+v); want the request cut off after about %v", took, got, readTimeout)
	}
	if got.err != nil {
		t.Fatalf("after %d bytes in %v: %v; want a 408 answer", sent, took, got.err)
	}
	if got.res.StatusCode != http.StatusRequestTimeout || errorCode(t, got.body) != codeRequestTimeout {
		t.Fatalf("after %d bytes in %v: got %d %s, want 408 %s", sent, took, got.res.StatusCode, got.body, codeRequestTimeout)
	}
	// The connection is closed: the rest of the body is not read.
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := conn.Read(make([]byte, 1)); err == nil || errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		t.Fatalf("after the 408 the connection is still open (read %d bytes, %v)", n, err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// A client that asks for a large document and never reads the answer is
// cut off by the write timeout.
func TestSlowReaderIsCutOff(t *testing.T) {
	const writeTimeout = 500 * time.Millisecond
	db, ts := newTestServerDB(t, func(c *testConfig) { c.WriteTimeout = writeTimeout })
	d, err := db.CreateDoc(context.Background(), "big")
	if err != nil {
		t.Fatal(err)
	}
	const chunk = 8 << 20
	appendText(t, db, d.ID, strings.Repeat("a", chunk), strings.Repeat("b", chunk))

	conn := rawConn(t, ts)
	// A small receive buffer, so that the kernels cannot hold the answer.
	if err := conn.(*net.TCPConn).SetReadBuffer(16 << 10); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET /api/docs/%s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", d.EditToken)
	time.Sleep(4 * writeTimeout) // not reading

	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		// Under the race detector, building the answer can outlast the
		// deadline: the first write fails and not even the head goes out.
		if isTimeout(err) {
			t.Fatalf("reading the answer's head: %v; want the answer or the connection's end", err)
		}
		return
	}
	n, err := io.Copy(io.Discard, res.Body)
	if err == nil || isTimeout(err) {
		t.Fatalf("read %d bytes in %v, then %v; want the connection cut off before the end of the %d-byte text", n, time.Since(start), err, 2*chunk)
	}
	if n >= 2*chunk {
		t.Fatalf("read %d bytes: the whole text came through", n)
	}
}

// A WebSocket lives past both HTTP timeouts, even on a connection that
// served a request (and got its deadlines) before the upgrade.
func TestWebSocketOutlivesHTTPTimeouts(t *testing.T) {
	const timeout = 300 * time.Millisecond
	_, ts := newTestServer(t, func(c *testConfig) { c.ReadTimeout, c.WriteTimeout = timeout, timeout })
	id := createDoc(t, ts)

	conn := rawConn(t, ts)
	fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Close {
		t.Fatalf("healthz on the connection: got %d (close %v), want 200 keep-alive", res.StatusCode, res.Close)
	}
	conn.SetReadDeadline(time.Time{})

	// The same connection, upgraded.
	dialer := websocket.Dialer{NetDialContext: func(context.Context, string, string) (net.Conn, error) { return conn, nil }}
	ws, _, err := dialer.Dial(wsURL(ts, id), nil)
	if err != nil {
		t.Fatalf("upgrade on a used connection: %v", err)
	}
	reused := &wsClient{t: t, c: ws}
	fresh := dial(t, ts, id)
	reused.join("a", nil)
	fresh.join("b", nil)

	time.Sleep(4 * timeout)
	if rev := reused.submit(0, 1, `["x"]`); rev != 1 {
		t.Fatalf("ack rev %d, want 1", rev)
	}
	if m := fresh.next(wire.TypeOp); m.Rev == nil || *m.Rev != 1 {
		t.Fatalf("the other socket got %+v, want op rev 1", m)
	}
	time.Sleep(4 * timeout)
	if rev := fresh.submit(1, 1, `[1,"y"]`); rev != 2 {
		t.Fatalf("ack rev %d, want 2", rev)
	}
	if m := reused.next(wire.TypeOp); m.Rev == nil || *m.Rev != 2 {
		t.Fatalf("the reused socket got %+v, want op rev 2", m)
	}
}

// /ops pages are bounded in bytes: five 1 MiB ops come in two pages (three
// fit in 4 MiB, four do not), and following the pages from the last rev + 1
// gives the whole log.
func TestOpsPagesBoundedInBytes(t *testing.T) {
	db, ts := newTestServerDB(t, nil)
	d, err := db.CreateDoc(context.Background(), "big ops")
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for i := range 5 {
		texts = append(texts, strings.Repeat(string(rune('a'+i)), 1<<20))
	}
	appendText(t, db, d.ID, texts...)

	type entry struct {
		Rev int   `json:"rev"`
		Op  ot.Op `json:"op"`
	}
	var pages [][]int
	var all []entry
	from := 1
	for range 10 { // a bound: two pages are expected
		code, body := do(t, "GET", fmt.Sprintf("%s/api/docs/%s/ops?from=%d", ts.URL, d.EditToken, from), "")
		if code != http.StatusOK {
			t.Fatalf("ops from %d: %d %.200s", from, code, body)
		}
		var page []entry
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		var revs []int
		for _, e := range page {
			revs = append(revs, e.Rev)
		}
		pages = append(pages, revs)
		all = append(all, page...)
		from = page[len(page)-1].Rev + 1
	}
	if diff := cmp.Diff([][]int{{1, 2, 3}, {4, 5}}, pages); diff != "" {
		t.Errorf("pages of revisions (-want +got):\n%s", diff)
	}
	n := 0
	for i, e := range all {
		var want ot.Op
		want.Retain(n).Insert(texts[i])
		n += len(texts[i])
		if !cmp.Equal(want, e.Op) {
			t.Errorf("rev %d: op differs from the one appended", e.Rev)
		}
	}
}
