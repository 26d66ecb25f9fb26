package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const testAdmin = "admin-token-for-tests"

func TestCreateListGetRename(t *testing.T) {
	_, ts := newTestServer(t, func(c *testConfig) { c.AdminToken = testAdmin })

	code, body := do(t, "POST", ts.URL+"/api/docs", "", "Content-Type", jsonCT)
	if code != http.StatusCreated {
		t.Fatalf("POST without body: got %d (%s), want 201", code, body)
	}
	var a docJSON
	json.Unmarshal(body, &a)
	if a.ID == "" || a.Title != "Untitled" || a.Rev != 0 {
		t.Fatalf("POST without body: got %+v, want a new Untitled document at rev 0", a)
	}

	code, body = do(t, "POST", ts.URL+"/api/docs", `{"title":"  Notes\u0007 on\ttea  "}`, "Content-Type", "application/json; charset=utf-8")
	if code != http.StatusCreated {
		t.Fatalf("POST: got %d (%s), want 201", code, body)
	}
	var b docJSON
	json.Unmarshal(body, &b)
	if b.Title != "Notes ontea" {
		t.Fatalf("title: got %q, want control characters removed and space trimmed: %q", b.Title, "Notes ontea")
	}

	if b.Role != "edit" || b.Links == nil || b.Links.Edit == b.Links.View {
		t.Fatalf("POST: role %q, links %+v; want edit and two links", b.Role, b.Links)
	}
	key := strings.TrimPrefix(b.Links.Edit, "/d/")

	// Edit b so that it is the most recently updated.
	c := dial(t, ts, key)
	c.join("c1", nil)
	c.submit(0, 1, `["hello"]`)

	code, body = do(t, "GET", ts.URL+"/api/docs", "", "Authorization", "Bearer "+testAdmin)
	if code != http.StatusOK {
		t.Fatalf("GET /api/docs: got %d (%s)", code, body)
	}
	var list []docJSON
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	one := 1
	zero := 0
	want := []docJSON{
		{ID: b.ID, Title: "Notes ontea", Rev: 1, Size: 5, Editors: &one},
		{ID: a.ID, Title: "Untitled", Rev: 0, Size: 0, Editors: &zero},
	}
	if diff := cmp.Diff(want, list, cmpopts.IgnoreFields(docJSON{}, "Updated", "Role", "Links")); diff != "" {
		t.Fatalf("list (-want +got):\n%s", diff)
	}
	if list[0].Updated.Before(list[1].Updated) {
		t.Fatalf("list not most recently edited first: %v before %v", list[0].Updated, list[1].Updated)
	}

	if list[0].Role != "admin" || list[0].Links.Edit != b.Links.Edit {
		t.Fatalf("the administrator's list: role %q, links %+v", list[0].Role, list[0].Links)
	}

	text, rev := docText(t, ts, key)
	if text != "hello" || rev != 1 {
		t.Fatalf("GET doc: got %q at %d, want \"hello\" at 1", text, rev)
	}
	code, body = do(t, "GET", ts.URL+"/api/docs/"+key+"?rev=0", "")
	var d0 docJSON
	json.Unmarshal(body, &d0)
	if code != http.StatusOK || d0.Text == nil || *d0.Text != "" || d0.Rev != 0 {
		t.Fatalf("GET ?rev=0: got %d %s, want the empty text at rev 0", code, body)
	}

	code, body = do(t, "PATCH", ts.URL+"/api/docs/"+key, `{"title":"Renamed"}`, "Content-Type", jsonCT)
	var r docJSON
	json.Unmarshal(body, &r)
	if code != http.StatusOK || r.Title != "Renamed" || r.Rev != 1 {
		t.Fatalf("PATCH: got %d %s, want 200 with the new title", code, body)
	}
	code, body = do(t, "GET", ts.URL+"/api/docs/"+key, "")
	json.Unmarshal(body, &r)
	if code != http.StatusOK || r.Title != "Renamed" {
		t.Fatalf("GET after PATCH: got %d %s", code, body)
	}
}

func TestHTTPErrors(t *testing.T) {
	_, ts := newTestServer(t, func(c *testConfig) {
		c.AllowedOrigins = []string{"https://editor.example"}
	})
	id := createDoc(t, ts)
	long := strings.Repeat("é", 201)
	tests := []struct {
		name         string
		method, path string
		body         string
		hdr          []string
		status       int
		code         string
	}{
		{"unknown doc", "GET", "/api/docs/nope", "", nil, 404, "not_found"},
		{"rev past current", "GET", "/api/docs/" + id + "?rev=1", "", nil, 404, "not_found"},
		{"rev not a number", "GET", "/api/docs/" + id + "?rev=x", "", nil, 400, "bad_request"},
		{"negative rev", "GET", "/api/docs/" + id + "?rev=-1", "", nil, 400, "bad_request"},
		{"ops of unknown doc", "GET", "/api/docs/nope/ops", "", nil, 404, "not_found"},
		{"ops bad from", "GET", "/api/docs/" + id + "/ops?from=a", "", nil, 400, "bad_request"},
		{"websocket without upgrade", "GET", "/api/docs/" + id + "/ws", "", nil, 400, "bad_request"},
		{"wrong method", "PUT", "/api/docs/" + id, `{}`, []string{"Content-Type", jsonCT}, 405, "method_not_allowed"},
		{"wrong method on list", "DELETE", "/api/docs", ``, nil, 405, "method_not_allowed"},
		{"unknown endpoint", "GET", "/api/nothing", "", nil, 404, "not_found"},
		{"no app", "GET", "/", "", nil, 404, "not_found"},
		{"POST without content type", "POST", "/api/docs", `{"title":"x"}`, nil, 415, "unsupported_media_type"},
		{"POST as a form", "POST", "/api/docs", `title=x`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"},
		{"PATCH as text", "PATCH", "/api/docs/" + id, `{"title":"x"}`, []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type"},
		{"DELETE as a form", "DELETE", "/api/docs/" + id, "", []string{"Content-Type", "multipart/form-data"}, 415, "unsupported_media_type"},
		{"POST foreign origin", "POST", "/api/docs", `{}`, []string{"Content-Type", jsonCT, "Origin", "https://evil.example"}, 403, "forbidden"},
		{"PATCH foreign origin", "PATCH", "/api/docs/" + id, `{"title":"x"}`, []string{"Content-Type", jsonCT, "Origin", "https://evil.example"}, 403, "forbidden"},
		{"DELETE foreign origin", "DELETE", "/api/docs/" + id, "", []string{"Origin", "https://evil.example"}, 403, "forbidden"},
		{"DELETE null origin", "DELETE", "/api/docs/" + id, "", []string{"Origin", "null"}, 403, "forbidden"},
		{"PATCH without title", "PATCH", "/api/docs/" + id, `{}`, []string{"Content-Type", jsonCT}, 400, "bad_request"},
		{"PATCH bad JSON", "PATCH", "/api/docs/" + id, `{"title":`, []string{"Content-Type", jsonCT}, 400, "bad_request"},
		{"title too long", "POST", "/api/docs", `{"title":"` + long + `"}`, []string{"Content-Type", jsonCT}, 400, "bad_request"},
		{"body too large", "POST", "/api/docs", `{"title":"` + strings.Repeat("x", 2<<20) + `"}`, []string{"Content-Type", jsonCT}, 413, "too_large"},
		{"PATCH unknown doc", "PATCH", "/api/docs/nope", `{"title":"x"}`, []string{"Content-Type", jsonCT}, 404, "not_found"},
		{"DELETE unknown doc", "DELETE", "/api/docs/nope", "", []string{"Content-Type", jsonCT}, 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := do(t, tt.method, ts.URL+tt.path, tt.body, tt.hdr...)
			if code != tt.status {
				t.Fatalf("got status %d (%s), want %d", code, body, tt.status)
			}
			if got := errorCode(t, body); got != tt.code {
				t.Fatalf("got code %q, want %q", got, tt.code)
			}
		})
	}

	// The document survived every refused change.
	code, body := do(t, "GET", ts.URL+"/api/docs/"+id, "")
	var d docJSON
	json.Unmarshal(body, &d)
	if code != 200 || d.Title != "test" {
		t.Fatalf("after refused changes: got %d %s, want the document unchanged", code, body)
	}

	// Allowed origins: the request's own host, and the configured one.
	host := strings.TrimPrefix(ts.URL, "http://")
	for _, origin := range []string{"http://" + host, "https://editor.example"} {
		code, body := do(t, "POST", ts.URL+"/api/docs", `{}`, "Content-Type", jsonCT, "Origin", origin)
		if code != http.StatusCreated {
			t.Errorf("POST from %s: got %d (%s), want 201", origin, code, body)
		}
	}
}

func TestDeleteDoc(t *testing.T) {
	_, ts := newTestServer(t, nil)
	id := createDoc(t, ts)
	// DELETE needs no content type: it carries no body. It moves the
	// document to the trash.
	if code, body := do(t, "DELETE", ts.URL+"/api/docs/"+id, ""); code != http.StatusNoContent {
		t.Fatalf("DELETE: got %d (%s), want 204", code, body)
	}
	code, body := do(t, "GET", ts.URL+"/api/docs/"+id, "")
	var e struct{ Error apiError }
	json.Unmarshal(body, &e)
	if code != http.StatusGone || e.Error.Code != codeDeleted || e.Error.Purge == nil || e.Error.Purge.Before(time.Now().Add(29*24*time.Hour)) {
		t.Fatalf("GET after DELETE: got %d %s, want 410 deleted with a purge time 30 days on", code, body)
	}
	for _, path := range []string{"/ops", "/export", "/authorship"} {
		if code, _ := do(t, "GET", ts.URL+"/api/docs/"+id+path, ""); code != http.StatusGone {
			t.Errorf("GET %s of a document in the trash: %d, want 410", path, code)
		}
	}
	if code, _ := do(t, "DELETE", ts.URL+"/api/docs/"+id, "", "Content-Type", jsonCT); code != http.StatusGone {
		t.Fatalf("second DELETE: got %d, want 410", code)
	}
	// Out of the trash, then gone for good.
	if code, body := do(t, "POST", ts.URL+"/api/docs/"+id+"/undelete", "", "Content-Type", jsonCT); code != http.StatusOK {
		t.Fatalf("undelete: %d %s", code, body)
	}
	if text, rev := docText(t, ts, id); text != "" || rev != 0 {
		t.Fatalf("after undelete: %q at %d", text, rev)
	}
	if code, _ := do(t, "DELETE", ts.URL+"/api/docs/"+id+"?purge=true", ""); code != http.StatusNoContent {
		t.Fatalf("purge: %d", code)
	}
	if code, _ := do(t, "GET", ts.URL+"/api/docs/"+id, ""); code != http.StatusNotFound {
		t.Fatalf("GET after purge: %d, want 404", code)
	}
}

func TestOps(t *testing.T) {
	_, ts := newTestServer(t, nil)
	id := createDoc(t, ts)
	c := dial(t, ts, id)
	_, joined := c.join("c1", nil)
	me := joined.Client
	ops := []string{`["a"]`, `[1,"b"]`, `[2,"c"]`, `[-1,2]`}
	for i, op := range ops {
		c.submit(i, i+1, op)
	}
	get := func(query string) []entryJSON {
		t.Helper()
		code, body := do(t, "GET", ts.URL+"/api/docs/"+id+"/ops"+query, "")
		if code != http.StatusOK {
			t.Fatalf("ops%s: got %d (%s)", query, code, body)
		}
		var es []entryJSON
		if err := json.Unmarshal(body, &es); err != nil {
			t.Fatalf("ops%s: %v", query, err)
		}
		return es
	}
	all := get("")
	if len(all) != len(ops) {
		t.Fatalf("all ops: got %d entries, want %d", len(all), len(ops))
	}
	for i, e := range all {
		b, _ := json.Marshal(e.Op)
		if e.Rev != i+1 || e.Seq != i+1 || e.Client != me || string(b) != ops[i] || e.Time.IsZero() {
			t.Errorf("entry %d: got %+v (op %s), want rev %d seq %d client %s op %s", i, e, b, i+1, i+1, me, ops[i])
		}
	}
	revs := func(es []entryJSON) []int {
		out := []int{}
		for _, e := range es {
			out = append(out, e.Rev)
		}
		return out
	}
	for _, tt := range []struct {
		query string
		want  []int
	}{
		{"?from=2&to=3", []int{2, 3}},
		{"?from=3", []int{3, 4}},
		{"?to=1", []int{1}},
		{"?from=0&to=99", []int{1, 2, 3, 4}},
		{"?from=4&to=2", []int{}},
		{"?from=9", []int{}},
	} {
		if diff := cmp.Diff(tt.want, revs(get(tt.query))); diff != "" {
			t.Errorf("ops%s (-want +got):\n%s", tt.query, diff)
		}
	}
	if text, _ := docText(t, ts, id); text != "bc" {
		t.Fatalf("text: got %q, want %q", text, "bc")
	}
}

func TestHealthzMetrics(t *testing.T) {
	_, ts := newTestServer(t, func(c *testConfig) { c.AdminToken = testAdmin })
	if code, body := do(t, "GET", ts.URL+"/healthz", ""); code != http.StatusOK {
		t.Fatalf("healthz: got %d (%s)", code, body)
	}
	id := createDoc(t, ts)
	c := dial(t, ts, id)
	c.join("c1", nil)
	c.submit(0, 1, `["x"]`)
	c.submit(1, 2, `[1,"y"]`)

	if code, _ := do(t, "GET", ts.URL+"/metrics", ""); code != http.StatusUnauthorized {
		t.Fatalf("metrics without the admin token: got %d, want 401", code)
	}
	code, body := do(t, "GET", ts.URL+"/metrics", "", "Authorization", "Bearer "+testAdmin)
	if code != http.StatusOK {
		t.Fatalf("metrics: got %d", code)
	}
	got := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("metrics: malformed line %q", line)
		}
		if _, err := strconv.ParseFloat(value, 64); err != nil {
			t.Fatalf("metrics: line %q: %v", line, err)
		}
		got[name] = value
	}
	for name, want := range map[string]string{
		"tandem_ops_applied_total":                             "2",
		"tandem_joins_total":                                   "1",
		"tandem_open_documents":                                "1",
		"tandem_connected_peers":                               "1",
		"tandem_slow_peers_total":                              "0",
		"tandem_store_errors_total":                            "0",
		`tandem_http_requests_total{code="201",method="POST"}`: "1",
		"tandem_op_answer_seconds_count":                       "2",
		"tandem_fanout_messages_total":                         "4", // snapshot, joined, two acks
	} {
		if got[name] != want {
			t.Errorf("metric %s: got %q, want %q", name, got[name], want)
		}
	}
	for _, name := range []string{"tandem_commits_total", "tandem_commit_ops_count", "tandem_commit_seconds_count",
		"tandem_peer_queue_messages_count", "go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := got[name]; !ok {
			t.Errorf("metric %s missing", name)
		}
	}
}

func TestApp(t *testing.T) {
	_, ts := newTestServer(t, func(c *testConfig) {
		c.App = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("app " + r.URL.Path))
		})
	})
	for _, p := range []string{"/", "/d/abc", "/assets/app.js"} {
		code, body := do(t, "GET", ts.URL+p, "")
		if code != 200 || string(body) != "app "+p {
			t.Errorf("GET %s: got %d %q, want the app", p, code, body)
		}
	}
	code, body := do(t, "GET", ts.URL+"/api/nothing", "")
	if code != 404 || errorCode(t, body) != "not_found" {
		t.Errorf("GET /api/nothing: got %d %s, want a JSON 404", code, body)
	}
}
