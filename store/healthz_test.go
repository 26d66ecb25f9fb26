package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/server"
	"github.com/tandem-editor/tandem/session"
	"github.com/tandem-editor/tandem/store"
)

// /healthz tells the truth about the store: on a (simulated) full disk,
// once an edit could not be committed, it answers 503 with the reason;
// when the disk has room again, 200. The test lives here because only the
// store's tests can reach its writer connection.
func TestHealthzOnAFullDisk(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "tandem.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	quiet := slog.New(slog.DiscardHandler)
	mgr := session.NewManager(db, session.Config{Logger: quiet})
	srv, err := server.New(server.Config{Logger: quiet}, server.Deps{Docs: db, Health: db, Sessions: mgr})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	defer srv.Close(ctx)

	healthz := func() (int, string, string) {
		t.Helper()
		res, err := http.Get(ts.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var e struct {
			Error struct{ Code, Message string }
		}
		json.Unmarshal(b, &e)
		return res.StatusCode, e.Error.Code, e.Error.Message
	}
	if code, _, msg := healthz(); code != http.StatusOK {
		t.Fatalf("healthz: got %d %s, want 200", code, msg)
	}

	d, err := db.CreateDoc(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	pages, err := store.WriterPragma(db, "page_count")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.WriterPragma(db, fmt.Sprintf("max_page_count = %d", pages)); err != nil {
		t.Fatal(err)
	}
	var op ot.Op
	op.Insert(strings.Repeat("x", 512<<10))
	if err := db.Append(ctx, d.ID, []oplog.Entry{{Rev: 1, Op: op, Client: "c", Seq: 1, Time: time.Now()}}); err == nil {
		t.Fatal("Append of 512 KiB on a full disk succeeded")
	}
	code, errCode, msg := healthz()
	if code != http.StatusServiceUnavailable || errCode != "unavailable" || !strings.Contains(msg, "database or disk is full") {
		t.Fatalf("healthz on a full disk: got %d %s %q, want 503 unavailable with the reason", code, errCode, msg)
	}

	if _, err := store.WriterPragma(db, "max_page_count = 1073741823"); err != nil {
		t.Fatal(err)
	}
	if code, _, msg := healthz(); code != http.StatusOK {
		t.Fatalf("healthz once the disk has room: got %d %s, want 200", code, msg)
	}
}
