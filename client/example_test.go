package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tandem-editor/tandem/client"
	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/server"
	"github.com/tandem-editor/tandem/session"
	"github.com/tandem-editor/tandem/store"
)

// A bot joins a document and edits it; a second client sees the edits.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	quiet := slog.New(slog.DiscardHandler)

	// A server on a local port, with its database in a temporary directory.
	dir, err := os.MkdirTemp("", "tandem-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	db, err := store.Open(ctx, filepath.Join(dir, "tandem.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close() // last: after the server and its sessions
	sessions := session.NewManager(db, session.Config{Logger: quiet})
	srv, err := server.New(server.Config{Logger: quiet}, server.Deps{Docs: db, Health: db, Sessions: sessions})
	if err != nil {
		panic(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	defer srv.Close(ctx)

	resp, err := http.Post(ts.URL+"/api/docs", "application/json", strings.NewReader(`{"title":"notes"}`))
	if err != nil {
		panic(err)
	}
	// The answer holds the document's links; the last path segment of the
	// edit link is the key that opens it for editing.
	var doc struct{ Links struct{ Edit string } }
	json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	key := strings.TrimPrefix(doc.Links.Edit, "/d/")

	bot, err := client.Dial(ctx, client.Config{URL: ts.URL, Doc: key, Name: "bot", Logger: quiet})
	if err != nil {
		panic(err)
	}
	defer bot.Close()
	reader, err := client.Dial(ctx, client.Config{URL: ts.URL, Doc: key, Name: "reader", Logger: quiet})
	if err != nil {
		panic(err)
	}
	defer reader.Close()

	// Append a line at the end of whatever the text is now. Positions
	// count UTF-16 units: "😀" is two.
	appendLine := func(line string) error {
		return bot.Edit(func(text string) ot.Op {
			var op ot.Op
			op.Retain(ot.Len(text)).Insert(line + "\n")
			return op
		})
	}
	for _, line := range []string{"Hello, 世界", "😀 from a bot"} {
		if err := appendLine(line); err != nil {
			panic(err)
		}
	}
	if err := bot.WaitSynced(ctx); err != nil {
		panic(err)
	}
	if err := reader.WaitRev(ctx, bot.Rev()); err != nil {
		panic(err)
	}
	fmt.Print(reader.Text())
	fmt.Println("revision", reader.Rev(), "length", ot.Len(reader.Text()))
	// Output:
	// Hello, 世界
	// 😀 from a bot
	// revision 2 length 24
}
