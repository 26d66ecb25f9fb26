package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
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

// startMain runs the real program on a free port over dir.
func startMain(t *testing.T, dir string) *Main {
	t.Helper()
	m := newMain(t, dir)
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return m
}

// newMain is a quiet Main for a free port over dir, not yet running.
func newMain(t *testing.T, dir string) *Main {
	t.Helper()
	m := NewMain()
	if err := m.ParseFlags([]string{"-addr", "127.0.0.1:0", "-data", dir}, func(string) string { return "" }, io.Discard); err != nil {
		t.Fatal(err)
	}
	m.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return m
}

// One data folder, one process: a second Main on the folder refuses to
// start, saying why, and opens nothing; once the first has closed, a Main
// starts there again.
func TestSecondMainOnOneFolderRefused(t *testing.T) {
	dir := t.TempDir()
	first := startMain(t, dir)
	defer first.Close()

	second := newMain(t, dir)
	err := second.Run(context.Background())
	lockPath := filepath.Join(dir, "tandem.lock")
	want := `data folder "` + dir + `" is in use by another tandem process (lock file ` + lockPath + ` held); stop it or choose another -data`
	if err == nil || err.Error() != want {
		second.Close()
		t.Fatalf("second Run on one folder:\ngot  %v\nwant %s", err, want)
	}
	var le *store.LockedError
	if !errors.As(err, &le) {
		t.Errorf("second Run: %v is not a *store.LockedError", err)
	}
	if second.URL() != "" {
		t.Errorf("the refused Main listens on %s", second.URL())
	}
	// The first is undisturbed.
	var health map[string]string
	get(t, first.URL()+"/healthz", &health)

	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	third := startMain(t, dir)
	if err := third.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func get(t *testing.T, url string, v any) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, res.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

type doc struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Rev   int    `json:"rev"`
	Text  string `json:"text"`
	Links struct {
		Edit string `json:"edit"`
	} `json:"links"`
}

// key is the token of the edit link, which opens the document for editing
// where a URL takes {id}.
func (d doc) key() string { return strings.TrimPrefix(d.Links.Edit, "/d/") }

type entry struct {
	Rev    int             `json:"rev"`
	Op     json.RawMessage `json:"op"`
	Client string          `json:"client"`
	Seq    int             `json:"seq"`
	Time   time.Time       `json:"time"`
}

func TestRestartKeepsDocuments(t *testing.T) {
	dir := t.TempDir()
	m := startMain(t, dir)

	res, err := http.Post(m.URL()+"/api/docs", "application/json", strings.NewReader(`{"title":"Plan"}`))
	if err != nil {
		t.Fatal(err)
	}
	var d doc
	json.NewDecoder(res.Body).Decode(&d)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated || d.ID == "" {
		t.Fatalf("create: got %d %+v", res.StatusCode, d)
	}

	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(m.URL(), "http")+"/api/docs/"+d.key()+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	read := func() wire.Message {
		t.Helper()
		ws.SetReadDeadline(time.Now().Add(15 * time.Second))
		var msg wire.Message
		if err := ws.ReadJSON(&msg); err != nil {
			t.Fatalf("read: %v", err)
		}
		return msg
	}
	ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"join","name":"Ada"}`))
	var joined wire.Message
	for joined.Type != wire.TypeJoined {
		joined = read()
	}
	ops := []string{`["hello"]`, `[5," world"]`, `["H",-1,10]`, `[11,"! 😀"]`}
	for i, op := range ops {
		ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"op","rev":`+itoa(i)+`,"seq":`+itoa(i+1)+`,"op":`+op+`}`))
		if a := read(); a.Type != wire.TypeAck || *a.Rev != i+1 {
			t.Fatalf("op %d: got %+v, want ack rev %d", i+1, a, i+1)
		}
	}
	var before doc
	get(t, m.URL()+"/api/docs/"+d.key(), &before)
	var logBefore []entry
	get(t, m.URL()+"/api/docs/"+d.key()+"/ops", &logBefore)
	if before.Text != "Hello world! 😀" || before.Rev != 4 || len(logBefore) != 4 {
		t.Fatalf("before restart: got %+v and %d log entries", before, len(logBefore))
	}

	// Close: the socket is told the server is going away. The client
	// reads (and answers the close frame) while Close waits for it.
	closed := make(chan error, 1)
	go func() { closed <- m.Close() }() // ends when the server has shut down
	ws.SetReadDeadline(time.Now().Add(15 * time.Second))
	_, _, err = ws.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != wire.CloseGoingAway {
		t.Fatalf("socket after Close: got %v, want close 1001", err)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}

	m2 := startMain(t, dir)
	defer m2.Close()
	var after doc
	get(t, m2.URL()+"/api/docs/"+d.key(), &after)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Fatalf("document after restart (-before +after):\n%s", diff)
	}
	var logAfter []entry
	get(t, m2.URL()+"/api/docs/"+d.key()+"/ops", &logAfter)
	if diff := cmp.Diff(logBefore, logAfter); diff != "" {
		t.Fatalf("log after restart (-before +after):\n%s", diff)
	}
	for i, e := range logAfter {
		if !bytes.Equal(e.Op, []byte(ops[i])) || e.Client != joined.Client || e.Seq != i+1 {
			t.Errorf("entry %d: got %+v, want op %s", i, e, ops[i])
		}
	}

	// The browser app is served too.
	res, err = http.Get(m2.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: got %d %s, want the app's page", res.StatusCode, res.Header.Get("Content-Type"))
	}
}

func TestFlagsAndEnv(t *testing.T) {
	env := map[string]string{"TANDEM_ADDR": ":9000", "TANDEM_RATE": "-1", "TANDEM_DATA": "/env/data", "TANDEM_ALLOWED_ORIGINS": "https://a.example, b.example",
		"TANDEM_READ_TIMEOUT": "7s", "TANDEM_WRITE_TIMEOUT": "8s"}
	m := NewMain()
	err := m.ParseFlags([]string{"-data", "/flag/data", "-max-doc", "100", "-pong-wait", "3s", "-write-timeout", "9s"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if m.Addr != ":9000" || m.Config.RateLimit != -1 || m.DataDir != "/flag/data" || m.Session.MaxDocLen != 100 || m.Config.PongWait != 3*time.Second ||
		m.Config.ReadTimeout != 7*time.Second || m.Config.WriteTimeout != 9*time.Second {
		t.Fatalf("got %+v", m)
	}
	if d := NewMain(); d.Config.ReadTimeout != 30*time.Second || d.Config.WriteTimeout != 60*time.Second {
		t.Fatalf("default timeouts: got read %v, write %v; want 30s, 60s", d.Config.ReadTimeout, d.Config.WriteTimeout)
	}
	if diff := cmp.Diff([]string{"https://a.example", "b.example"}, m.Config.AllowedOrigins); diff != "" {
		t.Fatalf("allowed origins (-want +got):\n%s", diff)
	}

	if err := NewMain().ParseFlags(nil, func(k string) string {
		if k == "TANDEM_BURST" {
			return "many"
		}
		return ""
	}, io.Discard); err == nil || !strings.Contains(err.Error(), "TANDEM_BURST") {
		t.Fatalf("bad env value: got %v, want an error naming TANDEM_BURST", err)
	}
	if err := NewMain().ParseFlags([]string{"-log-level", "loud"}, func(string) string { return "" }, io.Discard); err == nil {
		t.Fatalf("bad log level: got no error")
	}
	var help bytes.Buffer
	if err := NewMain().ParseFlags([]string{"-h"}, func(string) string { return "" }, &help); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: got %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"-addr", "TANDEM_ADDR", "-data", "TANDEM_DATA", "-rate", "-snapshot-every", "TANDEM_MAX_MESSAGE",
		"-read-timeout", "TANDEM_READ_TIMEOUT", "-write-timeout", "TANDEM_WRITE_TIMEOUT"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("-h output lacks %s:\n%s", want, help.String())
		}
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
