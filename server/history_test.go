package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/wire"
)

// export as JSON, import it: the same text and revisions, byte for byte,
// with emoji and CJK; txt and md are the text exactly.
func TestExportImportRoundTrip(t *testing.T) {
	_, ts := newTestServer(t, func(c *testConfig) { c.MaxBody = 32 << 20 })
	key := createDoc(t, ts)
	a := dial(t, ts, key)
	a.sendRaw(`{"type":"join","name":"Ada","color":"#d33","author":"ada-author"}`)
	a.next(wire.TypeSnapshot)
	a.next(wire.TypeJoined)
	a.submit(0, 1, `["héllo 😀 中文\n"]`)
	a.submit(1, 2, `[12,"second line"]`)
	a.submit(2, 3, `[-1,"H",22]`)
	if code, body := do(t, "POST", ts.URL+"/api/docs/"+key+"/versions", `{"rev":2,"name":"draft"}`, "Content-Type", jsonCT); code != http.StatusCreated {
		t.Fatalf("name a version: %d %s", code, body)
	}
	text, rev := docText(t, ts, key)

	for _, tc := range []struct{ format, ctype, ext string }{{"txt", "text/plain; charset=utf-8", "txt"}, {"md", "text/markdown; charset=utf-8", "md"}} {
		code, body, hdr := doFull(t, "GET", ts.URL+"/api/docs/"+key+"/export?format="+tc.format, "")
		if code != 200 || string(body) != text || hdr.Get("Content-Type") != tc.ctype ||
			hdr.Get("Content-Disposition") != `attachment; filename=test.`+tc.ext {
			t.Fatalf("export %s: %d %q %v", tc.format, code, body, hdr)
		}
	}
	code, body, hdr := doFull(t, "GET", ts.URL+"/api/docs/"+key+"/export?format=json", "")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export json: %d %v", code, hdr)
	}
	var f historyFile
	if err := json.Unmarshal(body, &f); err != nil || len(f.Ops) != rev || f.Ops[0].Author != "ada-author" || len(f.Versions) != 1 ||
		len(f.Authors) != 1 || f.Authors[0].Name != "Ada" {
		t.Fatalf("the history file: %v %+v", err, f)
	}
	code, body = do(t, "POST", ts.URL+"/api/docs/import", string(body), "Content-Type", jsonCT)
	if code != http.StatusCreated {
		t.Fatalf("import: %d %s", code, body)
	}
	var d docJSON
	json.Unmarshal(body, &d)
	newKey := strings.TrimPrefix(d.Links.Edit, "/d/")
	if t2, r2 := docText(t, ts, newKey); t2 != text || r2 != rev {
		t.Fatalf("imported: %q at %d, want %q at %d", t2, r2, text, rev)
	}
	_, b1 := do(t, "GET", ts.URL+"/api/docs/"+key+"/ops", "")
	_, b2 := do(t, "GET", ts.URL+"/api/docs/"+newKey+"/ops", "")
	if !bytes.Equal(b1, b2) {
		t.Fatalf("logs differ:\n%s\n%s", b1, b2)
	}
	// The imported document is open to edits like any.
	b := dial(t, ts, newKey)
	b.join("b", wire.IntPtr(rev))
	b.submit(rev, 1, fmt.Sprintf(`[%d,"!"]`, ot.Len(text)))
}

func TestImportLarge(t *testing.T) {
	_, ts := newTestServer(t, nil)
	big := strings.Repeat("中文 😀 text ", 10<<20/20) // about 10 MiB of UTF-16 units... bounded below
	big = big[:len(big)/2]
	for !json.Valid([]byte(`"` + big + `"`)) {
		big = big[:len(big)-1]
	}
	body, _ := json.Marshal(map[string]string{"title": "big", "text": big})
	code, out := do(t, "POST", ts.URL+"/api/docs", string(body), "Content-Type", jsonCT)
	if code != http.StatusRequestEntityTooLarge {
		t.Logf("POST %d bytes: %d", len(body), code) // over the 1 MiB body limit
	}
	_ = out
	// Through import, whose body may be 64 MiB.
	f := historyFile{Format: historyFormat, Version: 1, Title: "big", Ops: []historyOp{{Rev: 1, Op: nil, Client: "x", Seq: 1}}}
	f.Ops[0].Op = ot.Op{ot.Insert(big)}
	b, _ := json.Marshal(f)
	code, out = do(t, "POST", ts.URL+"/api/docs/import", string(b), "Content-Type", jsonCT)
	if code != http.StatusCreated {
		t.Fatalf("import of %d bytes: %d %.200s", len(b), code, out)
	}
	var d docJSON
	json.Unmarshal(out, &d)
	key := strings.TrimPrefix(d.Links.Edit, "/d/")
	code, got, _ := doFull(t, "GET", ts.URL+"/api/docs/"+key+"/export?format=txt", "")
	if code != 200 || string(got) != big {
		t.Fatalf("export after import: %d, %d bytes, want %d", code, len(got), len(big))
	}
}

func TestCreateWithTextAndRefusals(t *testing.T) {
	_, ts := newTestServer(t, nil)
	code, body := do(t, "POST", ts.URL+"/api/docs", `{"title":"notes.md","text":"# Hi 😀\n"}`, "Content-Type", jsonCT)
	var d docJSON
	json.Unmarshal(body, &d)
	if code != http.StatusCreated || d.Rev != 1 {
		t.Fatalf("create with text: %d %s", code, body)
	}
	if text, rev := docText(t, ts, strings.TrimPrefix(d.Links.Edit, "/d/")); text != "# Hi 😀\n" || rev != 1 {
		t.Fatalf("text %q at %d", text, rev)
	}
	for _, bad := range []string{`{"format":"other","version":1}`, `{"format":"tandem-history","version":1,"ops":[{"rev":2,"op":["x"],"client":"c","seq":1}]}`,
		`{"format":"tandem-history","version":1,"ops":[{"rev":1,"op":[3],"client":"c","seq":1}]}`,
		`{"format":"tandem-history","version":1,"ops":[{"rev":1,"op":["a"],"client":"c","seq":1},{"rev":2,"op":[1,"b"],"client":"c","seq":1}]}`} {
		if code, body := do(t, "POST", ts.URL+"/api/docs/import", bad, "Content-Type", jsonCT); code != http.StatusBadRequest {
			t.Errorf("import %s: %d %s, want 400", bad, code, body)
		}
	}
}

// Attribution through concurrent edits by two authors over sockets.
func TestAuthorship(t *testing.T) {
	_, ts := newTestServer(t, nil)
	key := createDoc(t, ts)
	join := func(author string) *wsClient {
		c := dial(t, ts, key)
		c.sendRaw(`{"type":"join","name":"N ` + author + `","color":"#123","author":"` + author + `"}`)
		c.next(wire.TypeSnapshot)
		c.next(wire.TypeJoined)
		return c
	}
	a, b := join("ada"), join("bo")
	// submit sends an op and reads to its ack, past the others' ops.
	submit := func(c *wsClient, rev, seq int, op string) {
		t.Helper()
		c.sendRaw(`{"type":"op","rev":` + itoa(rev) + `,"seq":` + itoa(seq) + `,"op":` + op + `}`)
		for range 100 {
			m, err := c.read()
			if err != nil {
				t.Fatal(err)
			}
			if m.Type == wire.TypeAck {
				return
			}
		}
		t.Fatal("no ack")
	}
	submit(a, 0, 1, `["aaaa"]`)
	submit(b, 0, 1, `["bb"]`)    // concurrent, at revision 0: "bbaaaa" or "aaaabb"
	submit(a, 1, 2, `[2,"A",2]`) // at revision 1: inside a's own text
	submit(b, 2, 2, `[-1,5]`)    // deletes the first character, whoever wrote it
	text, rev := docText(t, ts, key)
	code, body := do(t, "GET", ts.URL+"/api/docs/"+key+"/authorship", "")
	var got struct {
		Rev     int
		Spans   []spanJSON
		Authors []authorJSON
	}
	json.Unmarshal(body, &got)
	total := 0
	for _, sp := range got.Spans {
		total += sp.Len
	}
	if code != 200 || got.Rev != rev || total != len(text) || len(got.Authors) != 2 {
		t.Fatalf("authorship: %d %s (text %q)", code, body, text)
	}
	// Rebuild who wrote what from the spans and compare with the text: a's
	// letters are a's or A, b's are b.
	pos := 0
	for _, sp := range got.Spans {
		for _, ch := range text[pos : pos+sp.Len] {
			if want := map[rune]string{'a': "ada", 'A': "ada", 'b': "bo"}[ch]; sp.Author != want {
				t.Fatalf("%q in %q attributed to %q, want %q (spans %v)", ch, text, sp.Author, want, got.Spans)
			}
		}
		pos += sp.Len
	}
}

func TestNamedVersions(t *testing.T) {
	_, ts := newTestServer(t, nil)
	k := createDocLinks(t, ts)
	a := dial(t, ts, k.Edit)
	a.join("a", nil)
	a.submit(0, 1, `["x"]`)
	if code, _ := do(t, "POST", ts.URL+"/api/docs/"+k.View+"/versions", `{"rev":1,"name":"v"}`, "Content-Type", jsonCT); code != http.StatusForbidden {
		t.Fatalf("a viewer names a version: %d", code)
	}
	for _, tc := range []struct {
		body string
		want int
	}{{`{"rev":1,"name":"sent to the client"}`, 201}, {`{"rev":0,"name":"empty"}`, 201}, {`{"rev":5,"name":"future"}`, 404}, {`{"name":"no rev"}`, 400}} {
		if code, body := do(t, "POST", ts.URL+"/api/docs/"+k.Edit+"/versions", tc.body, "Content-Type", jsonCT); code != tc.want {
			t.Errorf("POST versions %s: %d %s, want %d", tc.body, code, body, tc.want)
		}
	}
	_, body := do(t, "GET", ts.URL+"/api/docs/"+k.View+"/versions", "")
	var vs []versionJSON
	json.Unmarshal(body, &vs)
	if len(vs) != 2 || vs[0].Rev != 1 || vs[0].Name != "sent to the client" || vs[1].Rev != 0 {
		t.Fatalf("versions %s", body)
	}
	if code, _ := do(t, "DELETE", ts.URL+"/api/docs/"+k.Edit+"/versions/0", ""); code != http.StatusNoContent {
		t.Fatalf("unname: %d", code)
	}
	if code, _ := do(t, "DELETE", ts.URL+"/api/docs/"+k.Edit+"/versions/0", ""); code != http.StatusNotFound {
		t.Fatalf("unname twice: %d", code)
	}
}

// A document in the trash cannot be joined; undeleted, it can.
func TestTrashClosesAndRefusesSockets(t *testing.T) {
	_, ts := newTestServer(t, func(c *testConfig) { c.AdminToken = testAdmin })
	key := createDoc(t, ts)
	a := dial(t, ts, key)
	a.join("a", nil)
	a.submit(0, 1, `["kept"]`)
	if code, _ := do(t, "DELETE", ts.URL+"/api/docs/"+key, ""); code != http.StatusNoContent {
		t.Fatal(code)
	}
	a.expectError(wire.CodeNotFound)
	a.expectClose(wire.CloseNotFound)
	b := dial(t, ts, key)
	b.sendRaw(`{"type":"join"}`)
	b.expectError(wire.CodeNotFound)
	_, body := do(t, "GET", ts.URL+"/api/trash", "", "Authorization", "Bearer "+testAdmin)
	var trash []docJSON
	json.Unmarshal(body, &trash)
	if len(trash) != 1 || trash[0].Purge == nil || trash[0].Deleted == nil {
		t.Fatalf("trash: %s", body)
	}
	if code, _ := do(t, "GET", ts.URL+"/api/trash", ""); code != http.StatusUnauthorized {
		t.Fatalf("trash without the admin token: %d", code)
	}
	if code, _ := do(t, "GET", ts.URL+"/api/docs", "", "Authorization", "Bearer "+testAdmin); code != 200 {
		t.Fatal(code)
	}
	do(t, "POST", ts.URL+"/api/docs/"+key+"/undelete", "", "Content-Type", jsonCT)
	c := dial(t, ts, key)
	before, _ := c.join("c", nil)
	if *before[0].Text != "kept" {
		t.Fatalf("after undelete: %+v", before)
	}
}

// An edit over HTTP made at an old revision, on a document whose hub has
// just opened, is brought forward from the log.
func TestHTTPEditAtAnOldRevision(t *testing.T) {
	_, ts := newTestServer(t, nil)
	key := createDoc(t, ts)
	for _, body := range []string{`{"append":"abc"}`, `{"append":"def"}`, `{"insert":{"at":2,"text":"-"},"rev":1}`, `{"replace":{"from":0,"to":1,"text":"A"},"rev":1}`} {
		if code, out := do(t, "POST", ts.URL+"/api/docs/"+key+"/edit", body, "Content-Type", jsonCT); code != http.StatusOK {
			t.Fatalf("edit %s: %d %s", body, code, out)
		}
	}
	if code, out := do(t, "POST", ts.URL+"/api/docs/"+key+"/edit", `{"replace":{"from":0,"to":1,"text":"A"},"rev":0}`, "Content-Type", jsonCT); code != http.StatusBadRequest {
		t.Fatalf("a range outside revision 0's empty text: %d %s", code, out)
	}
	if text, rev := docText(t, ts, key); text != "Ab-cdef" || rev != 4 {
		t.Fatalf("text %q at %d", text, rev)
	}
}

// The event stream tells a watcher of renames, edits, people and deletions
// as they happen.
func TestEventsStream(t *testing.T) {
	_, ts := newTestServer(t, nil)
	k := createDocLinks(t, ts)
	gone := "AAAAAAAAAAAAAAAAAAAAAA"
	res, err := http.Get(ts.URL + "/api/events?keys=" + k.View + "," + gone)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %v", res.StatusCode, res.Header)
	}
	sc := bufio.NewScanner(res.Body)
	next := func() docEvent {
		t.Helper()
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var ev docEvent
				if err := json.Unmarshal([]byte(data), &ev); err != nil {
					t.Fatal(err)
				}
				return ev
			}
		}
		t.Fatalf("the stream ended: %v", sc.Err())
		return docEvent{}
	}
	got := map[string]docEvent{}
	for range 2 {
		ev := next()
		got[ev.Key] = ev
	}
	if got[k.View].State != "ok" || got[k.View].Role != "view" || got[gone].State != "gone" {
		t.Fatalf("first events: %+v", got)
	}
	do(t, "PATCH", ts.URL+"/api/docs/"+k.Edit, `{"title":"Renamed"}`, "Content-Type", jsonCT)
	if ev := next(); ev.Title != "Renamed" {
		t.Fatalf("after a rename: %+v", ev)
	}
	a := dial(t, ts, k.Edit)
	a.join("a", nil)
	if ev := next(); ev.Editors != 1 {
		t.Fatalf("after a join: %+v", ev)
	}
	a.submit(0, 1, `["x"]`)
	if ev := next(); ev.Rev != 1 {
		t.Fatalf("after an edit: %+v", ev)
	}
	do(t, "DELETE", ts.URL+"/api/docs/"+k.Edit, "")
	for ev := next(); ev.State != "deleted"; ev = next() {
		if ev.State != "ok" {
			t.Fatalf("before the deletion shows: %+v", ev)
		}
	}
}

// Text a restore puts back keeps the authors who wrote it.
func TestRestoreKeepsAuthorship(t *testing.T) {
	_, ts := newTestServer(t, nil)
	key := createDoc(t, ts)
	join := func(author string) *wsClient {
		c := dial(t, ts, key)
		c.sendRaw(`{"type":"join","name":"N ` + author + `","color":"#123","author":"` + author + `"}`)
		c.next(wire.TypeSnapshot)
		c.next(wire.TypeJoined)
		return c
	}
	ada := join("ada")
	ada.submit(0, 1, `["hello world"]`)
	ada.c.Close()
	bo := join("bo")
	bo.submit(1, 1, `[6,-5,"there"]`) // "hello there"
	if code, body := do(t, "POST", ts.URL+"/api/docs/"+key+"/restore", `{"rev":1,"author":"cy"}`, "Content-Type", jsonCT); code != 200 {
		t.Fatalf("restore: %d %s", code, body)
	}
	bo.next(wire.TypeOp)
	_, body := do(t, "GET", ts.URL+"/api/docs/"+key+"/authorship", "")
	var got struct{ Spans []spanJSON }
	json.Unmarshal(body, &got)
	if fmt.Sprint(got.Spans) != fmt.Sprint([]spanJSON{{11, "ada"}}) {
		t.Fatalf("after restoring ada's text: %s", body)
	}
}
