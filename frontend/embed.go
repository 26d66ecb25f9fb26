package frontend

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The exact file names, so that a missing build fails to compile.
//
//go:embed dist/index.html dist/app.js dist/app.css
var dist embed.FS

// contentSecurityPolicy allows only our own scripts and connections (the
// WebSocket to the same origin is covered by 'self'). Styles need
// 'unsafe-inline': CodeMirror injects <style> elements and sets style
// attributes for its layout and for the remote carets' colours. Images allow
// data: for the inline favicon.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// asset is one file, held in memory with its gzip form.
type asset struct {
	name        string
	contentType string
	body        []byte
	gz          []byte
	hash        string // the first 16 hex digits of the SHA-256, as in index.html's asset URLs
}

type assets struct {
	index *asset
	files map[string]*asset // by name under /assets/
}

var load = sync.OnceValues(func() (*assets, error) {
	a := &assets{files: map[string]*asset{}}
	for _, f := range []struct{ name, contentType string }{
		{"index.html", "text/html; charset=utf-8"},
		{"app.js", "text/javascript; charset=utf-8"},
		{"app.css", "text/css; charset=utf-8"},
	} {
		body, err := dist.ReadFile("dist/" + f.name)
		if err != nil {
			return nil, fmt.Errorf("read embedded %s: %w", f.name, err)
		}
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if err != nil {
			return nil, fmt.Errorf("gzip %s: %w", f.name, err)
		}
		if _, err := zw.Write(body); err != nil {
			return nil, fmt.Errorf("gzip %s: %w", f.name, err)
		}
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("gzip %s: %w", f.name, err)
		}
		sum := sha256.Sum256(body)
		as := &asset{name: f.name, contentType: f.contentType, body: body, gz: buf.Bytes(), hash: hex.EncodeToString(sum[:])[:16]}
		if f.name == "index.html" {
			a.index = as
		} else {
			a.files[f.name] = as
		}
	}
	return a, nil
})

// Handler serves the browser app: index.html for "/" and "/d/{id}" (the page
// reads the path), the assets under /assets/ (e.g. /assets/app.js) with
// caching headers (ETag or a content hash in the query string) and gzip when
// the client accepts it, and a Content-Security-Policy header on the HTML.
// Any other path is 404.
func Handler() http.Handler {
	a, err := load()
	if err != nil {
		// The files are embedded at compile time, so this cannot happen in
		// a built binary; answer loudly rather than panic.
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "browser app unavailable: "+err.Error(), http.StatusInternalServerError)
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path
		var f *asset
		switch {
		case path == "/" || isDocPath(path):
			f = a.index
		case strings.HasPrefix(path, "/assets/"):
			f = a.files[strings.TrimPrefix(path, "/assets/")]
		}
		if f == nil {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		if f == a.index {
			h.Set("Content-Security-Policy", contentSecurityPolicy)
			h.Set("Referrer-Policy", "same-origin")
			h.Set("Cache-Control", "no-cache")
		} else if r.URL.Query().Get("v") == f.hash {
			// The URL names this exact content: it never changes.
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		serve(w, r, f)
	})
}

// isDocPath reports whether path is /d/{id} with a non-empty id and nothing
// after it (a trailing slash is allowed, as the page accepts it).
func isDocPath(path string) bool {
	id, ok := strings.CutPrefix(path, "/d/")
	if !ok {
		return false
	}
	id = strings.TrimSuffix(id, "/")
	return id != "" && !strings.Contains(id, "/")
}

func serve(w http.ResponseWriter, r *http.Request, f *asset) {
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Add("Vary", "Accept-Encoding")
	body, etag := f.body, `"`+f.hash+`"`
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body, etag = f.gz, `"`+f.hash+`-gz"`
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	// ServeContent answers HEAD, If-None-Match (304) and ranges.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip (or *)
// with a non-zero quality.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "x-gzip" && coding != "*" {
			continue
		}
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		if q > 0 {
			return true
		}
	}
	return false
}
