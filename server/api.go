package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/session"
	"github.com/tandem-editor/tandem/store"
)

// API error codes. Each maps to one HTTP status in statusOf, the only place
// where errors become statuses.
const (
	codeBadRequest       = "bad_request"
	codeNotFound         = "not_found"
	codeMethodNotAllowed = "method_not_allowed"
	codeUnauthorized     = "unauthorized"
	codeForbidden        = "forbidden"
	codeRateLimited      = "rate_limited"
	codeConflict         = "conflict"
	codeDeleted          = "deleted"
	codeUnsupportedMedia = "unsupported_media_type"
	codeTooLarge         = "too_large"
	codeRequestTimeout   = "request_timeout"
	codeUnavailable      = "unavailable"
	codeInternal         = "internal"
)

// apiError is a refused HTTP request: a machine code and a message for
// people.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Purge: when a document in the trash goes for good (code deleted).
	Purge *time.Time `json:"purge,omitempty"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func apiErrorf(code, format string, args ...any) *apiError {
	return &apiError{Code: code, Message: fmt.Sprintf(format, args...)}
}

func statusOf(code string) int {
	switch code {
	case codeBadRequest:
		return http.StatusBadRequest
	case codeNotFound:
		return http.StatusNotFound
	case codeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case codeUnauthorized:
		return http.StatusUnauthorized
	case codeForbidden:
		return http.StatusForbidden
	case codeRateLimited:
		return http.StatusTooManyRequests
	case codeConflict:
		return http.StatusConflict
	case codeDeleted:
		return http.StatusGone
	case codeUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case codeTooLarge:
		return http.StatusRequestEntityTooLarge
	case codeRequestTimeout:
		return http.StatusRequestTimeout
	case codeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func codeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return codeBadRequest
	case http.StatusNotFound:
		return codeNotFound
	case http.StatusMethodNotAllowed:
		return codeMethodNotAllowed
	case http.StatusUnauthorized:
		return codeUnauthorized
	case http.StatusForbidden:
		return codeForbidden
	case http.StatusTooManyRequests:
		return codeRateLimited
	case http.StatusUnsupportedMediaType:
		return codeUnsupportedMedia
	case http.StatusRequestEntityTooLarge:
		return codeTooLarge
	case http.StatusRequestTimeout:
		return codeRequestTimeout
	case http.StatusServiceUnavailable:
		return codeUnavailable
	}
	if status >= 400 && status < 500 {
		return codeBadRequest
	}
	return codeInternal
}

// writeError writes the error body {"error":{"code","message"}}.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeErrorBody(w, status, &apiError{Code: code, Message: msg})
}

func writeErrorBody(w http.ResponseWriter, status int, e *apiError) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]*apiError{"error": e})
}

// handleError is Echo's error handler: it turns any error into the API's
// error body.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var (
		ae    *apiError
		he    *echo.HTTPError
		maxer *http.MaxBytesError
	)
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, oplog.ErrNotFound):
		ae = &apiError{Code: codeNotFound, Message: "no such document"}
	case errors.As(err, &maxer):
		ae = apiErrorf(codeTooLarge, "the request body is over %d bytes", maxer.Limit)
	case errors.As(err, &he):
		ae = &apiError{Code: codeForStatus(he.Code), Message: strings.ToLower(fmt.Sprint(he.Message))}
	default:
		ae = &apiError{Code: codeInternal, Message: "internal error"}
	}
	status := statusOf(ae.Code)
	if status >= 500 {
		s.log.Error("http request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	}
	writeErrorBody(c.Response(), status, ae)
}

// routes builds the Echo instance.
func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Use(s.logRequests, s.recover, s.checkHost, s.limitRequests, s.deadlines)

	api := e.Group("/api")
	api.POST("/docs", s.createDoc, s.mutating)
	api.GET("/docs", s.listDocs)
	api.GET("/docs/:id", s.getDoc)
	api.PATCH("/docs/:id", s.renameDoc, s.mutating)
	api.DELETE("/docs/:id", s.deleteDoc, s.mutating)
	api.GET("/docs/:id/ops", s.getOps)
	api.POST("/docs/:id/links", s.reissueLink, s.mutating)
	api.POST(strings.TrimPrefix(importRoute, "/api"), s.importDoc, s.mutating)
	api.POST("/docs/:id/restore", s.restoreDoc, s.mutating)
	api.POST("/docs/:id/edit", s.editDoc, s.mutating)
	api.POST("/docs/:id/undelete", s.undeleteDoc, s.mutating)
	api.GET("/docs/:id/export", s.exportDoc)
	api.GET("/docs/:id/authors", s.getAuthors)
	api.GET("/docs/:id/authorship", s.getAuthorship)
	api.GET("/docs/:id/versions", s.getVersions)
	api.POST("/docs/:id/versions", s.nameVersion, s.mutating)
	api.DELETE("/docs/:id/versions/:rev", s.unnameVersion, s.mutating)
	api.GET("/trash", s.listTrash)
	api.GET(strings.TrimPrefix(eventsRoute, "/api"), s.events)
	api.GET(strings.TrimPrefix(wsRoute, "/api"), s.handleWS)
	// Everything else under /api is answered here, in JSON, rather than by
	// the browser app.
	api.Any("/*", func(c echo.Context) error {
		r := c.Request()
		if apiPath.MatchString(r.URL.Path) {
			return apiErrorf(codeMethodNotAllowed, "%s is not allowed on %s", r.Method, r.URL.Path)
		}
		return apiErrorf(codeNotFound, "no API endpoint %s %s", r.Method, r.URL.Path)
	})

	e.GET("/healthz", s.healthz)
	if !s.cfg.MetricsSeparate {
		e.GET("/metrics", func(c echo.Context) error {
			if err := s.requireAdmin(c.Request()); err != nil {
				return err
			}
			return s.metrics(c)
		})
	}
	if s.cfg.App != nil {
		e.Any("/*", echo.WrapHandler(s.cfg.App))
	}
	return e
}

// importRoute takes bodies up to maxImport rather than Config.MaxBody.
const importRoute = "/api/docs/import"

// wsRoute is the WebSocket endpoint's route, which deadlines leaves alone.
const wsRoute = "/api/docs/:id/ws"

// apiPath matches the paths of the API's endpoints.
var apiPath = regexp.MustCompile(`^/api/(trash|events|docs(/[^/]+(/ops|/ws|/links|/restore|/edit|/undelete|/export|/authors|/authorship|/versions(/[^/]+)?)?)?)$`)

// recover turns a panic in a handler into a 500 and a log line.
func (s *Server) recover(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if v := recover(); v != nil {
				err = fmt.Errorf("server: panic in %s %s: %v", c.Request().Method, c.Request().URL.Path, v)
			}
		}()
		return next(c)
	}
}

// logRequests logs every request at debug level and counts it for
// /metrics.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err) // writes the response, so the status below is final
		}
		req, res := c.Request(), c.Response()
		s.countRequest(req.Method, res.Status)
		s.log.Debug("http request", "method", req.Method, "path", req.URL.Path, "status", res.Status,
			"bytes", res.Size, "duration", time.Since(start), "remote", req.RemoteAddr)
		return nil
	}
}

// deadlines bounds every request but a WebSocket's: its body must arrive
// within Config.ReadTimeout and its answer be written within
// Config.WriteTimeout, so that a client that sends or reads slowly, or
// stops, cannot hold a connection and a goroutine for ever. A body read
// past the deadline fails (408); a write past it fails and the connection
// closes.
//
// A request without a body gets no read deadline: there is nothing left to
// read, and net/http's background read on the connection would hit the
// deadline and cancel the request's context while the handler still works.
//
// The WebSocket route gets no deadlines, and any left on the connection by
// an earlier request on it (keep-alive) are cleared: the connection is
// about to be hijacked and live for hours, and melody sets a deadline for
// each read and write itself (PongWait, WriteWait).
func (s *Server) deadlines(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		var read, write time.Time                           // zero: none
		if c.Path() != wsRoute && c.Path() != eventsRoute { // long-lived: bounded per write instead
			now := time.Now()
			write = now.Add(s.cfg.WriteTimeout)
			if r.ContentLength != 0 { // -1: unknown length, chunked
				read = now.Add(s.cfg.ReadTimeout)
			}
		}
		rc := http.NewResponseController(c.Response())
		if err := errors.Join(rc.SetReadDeadline(read), rc.SetWriteDeadline(write)); err != nil {
			// Only a ResponseWriter that is not a connection (a test
			// recorder) cannot; the request goes on unbounded.
			s.log.Debug("http deadlines not set", "path", r.URL.Path, "err", err)
		}
		return next(c)
	}
}

// mutating guards requests that change something: no foreign Origin (no
// cross-site form posts) and, for a request with a body, a JSON content
// type. The body is limited to Config.MaxBody.
func (s *Server) mutating(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if !s.originAllowed(r) {
			return apiErrorf(codeForbidden, "origin %q is not allowed", r.Header.Get("Origin"))
		}
		ct := r.Header.Get("Content-Type")
		// DELETE carries no body; it may omit the content type (a
		// cross-site page cannot send a DELETE without CORS approval).
		if !(r.Method == http.MethodDelete && ct == "") {
			mt, _, err := mime.ParseMediaType(ct)
			if err != nil || mt != "application/json" {
				return apiErrorf(codeUnsupportedMedia, "Content-Type must be application/json, not %q", ct)
			}
		}
		limit := s.cfg.MaxBody
		if c.Path() == importRoute {
			limit = maxImport // a whole history
		}
		r.Body = http.MaxBytesReader(c.Response(), r.Body, limit)
		return next(c)
	}
}

// decodeBody decodes a JSON body into v; an empty body leaves v as it is.
func decodeBody(c echo.Context, v any) error {
	data, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var maxer *http.MaxBytesError
		if errors.As(err, &maxer) {
			return err
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return apiErrorf(codeRequestTimeout, "the request body did not arrive in time")
		}
		return apiErrorf(codeBadRequest, "reading the body: %v", err)
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return apiErrorf(codeBadRequest, "the body is not the expected JSON: %v", err)
	}
	return nil
}

// maxTitle is the longest title in UTF-16 units.
const maxTitle = 200

// cleanTitle removes control characters and surrounding space; an empty
// title becomes "Untitled".
func cleanTitle(t string) (string, error) {
	t = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, t))
	if n := len(utf16.Encode([]rune(t))); n > maxTitle {
		return "", apiErrorf(codeBadRequest, "the title is %d characters long; at most %d", n, maxTitle)
	}
	if t == "" {
		t = "Untitled"
	}
	return t, nil
}

// docJSON is a document in API answers. Text and Editors appear only where
// the protocol lists them.
type docJSON struct {
	ID      string     `json:"id"`
	Title   string     `json:"title"`
	Rev     int        `json:"rev"`
	Size    int        `json:"size"`
	Text    *string    `json:"text,omitempty"`
	Updated time.Time  `json:"updated"`
	Editors *int       `json:"editors,omitempty"`
	Role    string     `json:"role,omitempty"`
	Links   *linksJSON `json:"links,omitempty"`
	// In the trash only.
	Deleted *time.Time `json:"deleted,omitempty"`
	Purge   *time.Time `json:"purge,omitempty"`
}

func toJSON(d store.Doc) docJSON {
	out := docJSON{ID: d.ID, Title: d.Title, Rev: d.Rev, Size: d.Size, Updated: d.Updated.UTC()}
	if d.InTrash() {
		del, purge := d.Deleted.UTC(), d.Purge.UTC()
		out.Deleted, out.Purge = &del, &purge
	}
	return out
}

type titleBody struct {
	Title *string `json:"title"`
	// POST only: the new document's text (revision 1).
	Text *string `json:"text"`
}

// withAccess is a document as the holder of a link sees it: with the role
// and the links that role may see.
func withAccess(a access) docJSON {
	d := toJSON(a.doc)
	d.Role, d.Links = a.role.String(), linksFor(a)
	return d
}

// POST /api/docs {"title"?} -> 201 document with its links
func (s *Server) createDoc(c echo.Context) error {
	r := c.Request()
	who, err := s.mayCreate(r)
	if err != nil {
		return err
	}
	if ok, wait := s.limits.allow(s.clientAddr(r), true); !ok {
		return tooMany(c, wait, "too many documents created from your address")
	}
	var body titleBody
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	title := ""
	if body.Title != nil {
		title = *body.Title
	}
	title, err = cleanTitle(title)
	if err != nil {
		return err
	}
	var d store.Doc
	if body.Text != nil && *body.Text != "" {
		// A document with text is an import of one op, made by the server.
		if n := ot.Len(*body.Text); n > s.maxDocLen() {
			return apiErrorf(codeTooLarge, "the text is %d units long; the limit is %d", n, s.maxDocLen())
		}
		if !utf8.ValidString(*body.Text) {
			return apiErrorf(codeBadRequest, "the text is not valid UTF-8")
		}
		e := oplog.Entry{Rev: 1, Op: ot.Op{ot.Insert(*body.Text)}, Client: session.ServerClient, Seq: 1}
		d, err = s.docs.ImportDoc(r.Context(), title, []oplog.Entry{e}, nil, nil)
	} else {
		d, err = s.docs.CreateDoc(r.Context(), title)
	}
	if err != nil {
		return err
	}
	s.log.Info("document created", "doc", d.ID, "title", d.Title, "by", who, "remote", s.clientAddr(r))
	return c.JSON(http.StatusCreated, withAccess(access{doc: d, role: roleEdit}))
}

// GET /api/docs -> documents, most recently edited first (administrator)
func (s *Server) listDocs(c echo.Context) error {
	if err := s.requireAdmin(c.Request()); err != nil {
		return err
	}
	docs, err := s.docs.ListDocs(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]docJSON, len(docs))
	for i, d := range docs {
		out[i] = withAccess(access{doc: d, role: roleAdmin})
		n := s.sessions.Editors(d.ID)
		out[i].Editors = &n
	}
	return c.JSON(http.StatusOK, out)
}

// GET /api/docs/{key}[?rev=N] -> document with its text
func (s *Server) getDoc(c echo.Context) error {
	ctx := c.Request().Context()
	a, err := s.resolveLive(c)
	if err != nil {
		return err
	}
	d := a.doc
	rev := d.Rev
	if q := c.QueryParam("rev"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 0 {
			return apiErrorf(codeBadRequest, "rev must be a non-negative integer, not %q", q)
		}
		if n > d.Rev {
			return apiErrorf(codeNotFound, "revision %d is past the current revision %d", n, d.Rev)
		}
		rev = n
	}
	text, err := s.docs.TextAt(ctx, d.ID, rev)
	if err != nil {
		return err
	}
	out := withAccess(a)
	out.Rev, out.Text = rev, &text
	if rev != d.Rev {
		out.Size = ot.Len(text)
	}
	n := s.sessions.Editors(d.ID)
	out.Editors = &n
	return c.JSON(http.StatusOK, out)
}

// PATCH /api/docs/{key} {"title"} -> document
func (s *Server) renameDoc(c echo.Context) error {
	a, err := s.resolveEdit(c)
	if err != nil {
		return err
	}
	var body titleBody
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	if body.Title == nil {
		return apiErrorf(codeBadRequest, "the body must hold a title")
	}
	title, err := cleanTitle(*body.Title)
	if err != nil {
		return err
	}
	d, err := s.docs.RenameDoc(c.Request().Context(), a.doc.ID, title)
	if err != nil {
		return err
	}
	a.doc = d
	s.docChanged(d.ID, "")
	return c.JSON(http.StatusOK, withAccess(a))
}

// DELETE /api/docs/{key}[?purge=true] -> 204: to the trash (connected
// sockets get not_found and 4004), or, with purge, gone for good
func (s *Server) deleteDoc(c echo.Context) error {
	a, err := s.resolveParam(c)
	if err != nil {
		return err
	}
	if err := needEdit(a); err != nil {
		return err
	}
	ctx, id := c.Request().Context(), a.doc.ID
	switch purge := c.QueryParam("purge"); {
	case purge == "true" || purge == "1":
		if err := s.docs.DeleteDoc(ctx, id); err != nil {
			return err
		}
		s.log.Info("document purged", "doc", id)
	case a.doc.InTrash():
		return live(a)
	default:
		if _, err := s.docs.TrashDoc(ctx, id, time.Now().Add(s.cfg.TrashFor)); err != nil {
			return err
		}
		s.log.Info("document moved to the trash", "doc", id)
	}
	s.sessions.Deleted(id)
	s.docChanged(id, "")
	return c.NoContent(http.StatusNoContent)
}

// An /ops answer holds at most maxOps entries and, beyond its first entry,
// at most maxOpsBytes of ops: a few large ops (a pasted book) must not make
// one answer of gigabytes. A client reads on from the last rev + 1.
const (
	maxOps      = 10000
	maxOpsBytes = 4 << 20
)

type entryJSON struct {
	Rev    int             `json:"rev"`
	Op     json.RawMessage `json:"op"` // as the log holds it: canonical ot.js JSON
	Client string          `json:"client"`
	Seq    int             `json:"seq"`
	Time   time.Time       `json:"time"`
	Author string          `json:"author"`
}

// GET /api/docs/{id}/ops?from=N&to=M -> log entries with from <= rev <= to,
// possibly fewer (a page)
func (s *Server) getOps(c echo.Context) error {
	ctx := c.Request().Context()
	a, err := s.resolveLive(c)
	if err != nil {
		return err
	}
	d := a.doc
	from, err := intParam(c, "from", 1)
	if err != nil {
		return err
	}
	to, err := intParam(c, "to", d.Rev)
	if err != nil {
		return err
	}
	from = max(from, 1)
	to = min(to, d.Rev, from+maxOps-1)
	out := []entryJSON{}
	if from <= to {
		es, err := s.docs.RawPage(ctx, d.ID, from, to, maxOpsBytes)
		if err != nil {
			return err
		}
		for _, e := range es {
			out = append(out, entryJSON{Rev: e.Rev, Op: e.Op, Client: e.Client, Seq: e.Seq, Time: e.Time.UTC(), Author: e.Author})
		}
	}
	return c.JSON(http.StatusOK, out)
}

// POST /api/docs/{key}/links {"reissue": "edit"|"view"} -> {"links"}: the
// named link gets a new token; the old one stops working, and sockets
// joined through it are closed (link_revoked).
func (s *Server) reissueLink(c echo.Context) error {
	a, err := s.resolveEdit(c)
	if err != nil {
		return err
	}
	var body struct {
		Reissue string `json:"reissue"`
	}
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	which := store.Link(body.Reissue)
	old := ""
	switch which {
	case store.EditLink:
		old = a.doc.EditToken
	case store.ViewLink:
		old = a.doc.ViewToken
	default:
		return apiErrorf(codeBadRequest, `reissue must be "edit" or "view", not %q`, clipReason(body.Reissue))
	}
	d, err := s.docs.ReissueLink(c.Request().Context(), a.doc.ID, which)
	if err != nil {
		return err
	}
	s.docChanged(d.ID, old)
	s.log.Info("link reissued", "doc", d.ID, "link", which)
	a.doc = d
	return c.JSON(http.StatusOK, map[string]*linksJSON{"links": linksFor(a)})
}

func intParam(c echo.Context, name string, def int) (int, error) {
	q := c.QueryParam(name)
	if q == "" {
		return def, nil
	}
	n, err := strconv.Atoi(q)
	if err != nil || n < 0 {
		return 0, apiErrorf(codeBadRequest, "%s must be a non-negative integer, not %q", name, q)
	}
	return n, nil
}

// GET /healthz -> 200 while the store can commit, else 503 with the reason
func (s *Server) healthz(c echo.Context) error {
	if err := s.health.Health(c.Request().Context()); err != nil {
		return apiErrorf(codeUnavailable, "the database cannot commit: %v", err)
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}
