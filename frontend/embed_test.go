package frontend

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, path string, header map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return b
}

func TestIndexServedForPages(t *testing.T) {
	for _, path := range []string{"/", "/d/some-id", "/d/some-id/"} {
		res := get(t, path, nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: got status %d, want 200", path, res.StatusCode)
		}
		if got := res.Header.Get("Content-Type"); !strings.HasPrefix(got, "text/html") {
			t.Errorf("GET %s: got Content-Type %q, want text/html", path, got)
		}
		csp := res.Header.Get("Content-Security-Policy")
		for _, want := range []string{"script-src 'self'", "connect-src 'self'", "object-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "script-src 'self' 'unsafe-inline'") {
			t.Errorf("GET %s: CSP allows inline scripts: %q", path, csp)
		}
		b := body(t, res)
		if !bytes.Contains(b, []byte(`<div id="app">`)) {
			t.Errorf("GET %s: body is not the app's index.html", path)
		}
		if bytes.Contains(b, []byte("<script>")) {
			t.Errorf("GET %s: index.html has an inline script, which the CSP forbids", path)
		}
	}
}

func TestIndexReferencesAssetsByHash(t *testing.T) {
	html := string(body(t, get(t, "/", nil)))
	for _, name := range []string{"app.js", "app.css"} {
		m := regexp.MustCompile(`/assets/` + regexp.QuoteMeta(name) + `\?v=([0-9a-f]{16})`).FindStringSubmatch(html)
		if m == nil {
			t.Fatalf("index.html does not reference /assets/%s?v=<hash>", name)
		}
		res := get(t, "/assets/"+name+"?v="+m[1], nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: got status %d, want 200", name, res.StatusCode)
		}
		if got := res.Header.Get("Cache-Control"); !strings.Contains(got, "immutable") {
			t.Errorf("GET %s with its hash: got Cache-Control %q, want immutable", name, got)
		}
		stale := get(t, "/assets/"+name+"?v=0000000000000000", nil)
		if got := stale.Header.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("GET %s with another hash: got Cache-Control %q, want no-cache", name, got)
		}
	}
}

func TestAppJS(t *testing.T) {
	res := get(t, "/assets/app.js", nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("got status %d, want 200", res.StatusCode)
	}
	if got := res.Header.Get("Content-Type"); !strings.HasPrefix(got, "text/javascript") {
		t.Errorf("got Content-Type %q, want text/javascript", got)
	}
	if got := res.Header.Get("Content-Encoding"); got != "" {
		t.Errorf("got Content-Encoding %q without Accept-Encoding, want none", got)
	}
	b := body(t, res)
	if len(b) < 10_000 {
		t.Errorf("got %d bytes of JavaScript, want the whole bundle", len(b))
	}
	etag := res.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	again := get(t, "/assets/app.js", map[string]string{"If-None-Match": etag})
	if again.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match with the ETag: got status %d, want 304", again.StatusCode)
	}
}

func TestGzip(t *testing.T) {
	plain := body(t, get(t, "/assets/app.js", nil))
	for _, accept := range []string{"gzip", "gzip, deflate, br", "br;q=1.0, gzip;q=0.8"} {
		res := get(t, "/assets/app.js", map[string]string{"Accept-Encoding": accept})
		if got := res.Header.Get("Content-Encoding"); got != "gzip" {
			t.Fatalf("Accept-Encoding %q: got Content-Encoding %q, want gzip", accept, got)
		}
		if !strings.Contains(res.Header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("Accept-Encoding %q: Vary lacks Accept-Encoding", accept)
		}
		zr, err := gzip.NewReader(res.Body)
		if err != nil {
			t.Fatalf("Accept-Encoding %q: gzip reader: %v", accept, err)
		}
		unzipped, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("Accept-Encoding %q: gunzip: %v", accept, err)
		}
		if !bytes.Equal(unzipped, plain) {
			t.Errorf("Accept-Encoding %q: gunzipped body differs from the plain one", accept)
		}
	}
	res := get(t, "/assets/app.js", map[string]string{"Accept-Encoding": "gzip;q=0, br"})
	if got := res.Header.Get("Content-Encoding"); got != "" {
		t.Errorf("gzip;q=0: got Content-Encoding %q, want none", got)
	}
}

func TestNotFound(t *testing.T) {
	for _, path := range []string{"/assets/nope.js", "/assets/", "/assets/index.html", "/d/", "/d/a/b", "/favicon.ico", "/other"} {
		if got := get(t, path, nil).StatusCode; got != http.StatusNotFound {
			t.Errorf("GET %s: got status %d, want 404", path, got)
		}
	}
}

func TestMethodNotAllowed(t *testing.T) {
	req := httptest.NewRequest(http.MethodPost, "/assets/app.js", nil)
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: got status %d, want 405", rec.Code)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"":                   false,
		"gzip":               true,
		"GZIP":               true,
		"deflate, br":        false,
		"*":                  true,
		"gzip;q=0":           false,
		"gzip; q=0.5":        true,
		"identity, gzip;q=0": false,
	} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("acceptsGzip(%q): got %v, want %v", header, got, want)
		}
	}
}
