package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/session"
	"github.com/tandem-editor/tandem/store"
	"github.com/tandem-editor/tandem/wire"
)

// History, files, edits over HTTP and the trash. Every edit the server
// makes (a restore, an edit over HTTP) goes through the document's core as
// an op of client session.ServerClient, ordered with everyone's: the op is
// built here, off the document's loop (a diff of a large text takes time),
// against the latest stored revision, and the core transforms it past
// whatever came since.

// diffTimeout bounds the refinement of one diff (the op stays correct).
const diffTimeout = 2 * time.Second

// live refuses a document in the trash with 410 deleted.
func live(a access) error {
	if a.doc.InTrash() {
		return &apiError{Code: codeDeleted, Message: "the document is in the trash", Purge: &a.doc.Purge}
	}
	return nil
}

// resolveLive resolves {key} to a document not in the trash.
func (s *Server) resolveLive(c echo.Context) (access, error) {
	a, err := s.resolveParam(c)
	if err != nil {
		return access{}, err
	}
	return a, live(a)
}

// resolveEdit resolves {key} to a live document the key may change.
func (s *Server) resolveEdit(c echo.Context) (access, error) {
	a, err := s.resolveLive(c)
	if err != nil {
		return access{}, err
	}
	return a, needEdit(a)
}

// serverEdit makes build's op at the latest stored revision and hands it to
// the document's core; an op refused as stale (too much came since) is
// rebuilt and tried again.
func (s *Server) serverEdit(ctx context.Context, doc string, author string, build func(rev int, text string) (ot.Op, []oplog.Span, error)) (int, error) {
	var err error
	for range 3 {
		var d store.Doc
		if d, err = s.docs.GetDoc(ctx, doc); err != nil {
			return 0, err
		}
		var text string
		if text, err = s.docs.TextAt(ctx, doc, d.Rev); err != nil {
			return 0, err
		}
		var op ot.Op
		var inserts []oplog.Span
		if op, inserts, err = build(d.Rev, text); err != nil {
			return 0, err
		}
		var rev int
		rev, err = s.sessions.Edit(ctx, doc, session.Edit{Op: op, Rev: d.Rev, Author: author, Inserts: inserts})
		var serr *session.Error
		if errors.As(err, &serr) && serr.Code == wire.CodeStale {
			continue
		}
		return rev, editError(err)
	}
	return 0, apiErrorf(codeConflict, "the document is changing too fast to edit it over HTTP; try again")
}

// editError turns a refused server edit into an HTTP error.
func editError(err error) error {
	var serr *session.Error
	if !errors.As(err, &serr) {
		return err
	}
	switch serr.Code {
	case wire.CodeDocTooLarge:
		return apiErrorf(codeTooLarge, "%s", serr.Message)
	case wire.CodeNotFound:
		return apiErrorf(codeNotFound, "%s", serr.Message)
	}
	return apiErrorf(codeBadRequest, "%s", serr.Message)
}

// restoredAuthors says who wrote the text a restore's op inserts: op turns
// the current text into the old one, so its retains and inserts walk the
// old text, whose authors oldSpans gives.
func restoredAuthors(op ot.Op, oldSpans []oplog.Span) []oplog.Span {
	out := []oplog.Span{}
	q := 0 // position in the old text
	for _, c := range op {
		switch {
		case c.IsRetain():
			q += c.N
		case c.IsInsert():
			n := ot.Len(c.S)
			for _, sp := range oplog.Slice(oldSpans, q, q+n) {
				if k := len(out) - 1; k >= 0 && out[k].Author == sp.Author {
					out[k].Len += sp.Len
				} else {
					out = append(out, sp)
				}
			}
			q += n
		}
	}
	return out
}

type restoreBody struct {
	Rev    *int   `json:"rev"`
	Author string `json:"author"`
}

// POST /api/docs/{key}/restore {"rev": N} -> {"rev": new}: one op from the
// current text to the text at N.
func (s *Server) restoreDoc(c echo.Context) error {
	a, err := s.resolveEdit(c)
	if err != nil {
		return err
	}
	var body restoreBody
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	if body.Rev == nil || *body.Rev < 0 {
		return apiErrorf(codeBadRequest, "the body must hold the revision to restore, {\"rev\": N}")
	}
	if err := checkAuthor(body.Author); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if *body.Rev > a.doc.Rev {
		return apiErrorf(codeNotFound, "revision %d is past the current revision %d", *body.Rev, a.doc.Rev)
	}
	old, err := s.docs.TextAt(ctx, a.doc.ID, *body.Rev)
	if err != nil {
		return err
	}
	// Who wrote the old text: the text the restore puts back keeps its
	// authors.
	oldSpans, err := s.docs.Authorship(ctx, a.doc.ID, *body.Rev)
	if err != nil {
		return err
	}
	rev, err := s.serverEdit(ctx, a.doc.ID, body.Author, func(_ int, text string) (ot.Op, []oplog.Span, error) {
		op := ot.Diff(text, old, diffTimeout)
		return op, restoredAuthors(op, oldSpans), nil
	})
	if err != nil {
		return err
	}
	s.log.Info("document restored", "doc", a.doc.ID, "to", *body.Rev, "rev", rev)
	return c.JSON(http.StatusOK, map[string]int{"rev": rev})
}

type editBody struct {
	Append *string `json:"append"`
	Insert *struct {
		At   int    `json:"at"`
		Text string `json:"text"`
	} `json:"insert"`
	Replace *struct {
		From int    `json:"from"`
		To   int    `json:"to"`
		Text string `json:"text"`
	} `json:"replace"`
	Text   *string `json:"text"`
	Rev    *int    `json:"rev"`
	Author string  `json:"author"`
}

// POST /api/docs/{key}/edit -> {"rev": new}: append, insert, replace a
// range (positions at rev, by default the latest), or set the whole text.
func (s *Server) editDoc(c echo.Context) error {
	a, err := s.resolveEdit(c)
	if err != nil {
		return err
	}
	var b editBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	if err := checkAuthor(b.Author); err != nil {
		return err
	}
	n := 0
	for _, set := range []bool{b.Append != nil, b.Insert != nil, b.Replace != nil, b.Text != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return apiErrorf(codeBadRequest, "give exactly one of append, insert, replace and text")
	}
	ctx := c.Request().Context()
	var rev int
	switch {
	case b.Append != nil:
		rev, err = s.serverEdit(ctx, a.doc.ID, b.Author, func(_ int, text string) (ot.Op, []oplog.Span, error) {
			var op ot.Op
			return *op.Retain(ot.Len(text)).Insert(*b.Append), nil, nil
		})
	case b.Text != nil:
		rev, err = s.serverEdit(ctx, a.doc.ID, b.Author, func(_ int, text string) (ot.Op, []oplog.Span, error) {
			return ot.Diff(text, *b.Text, diffTimeout), nil, nil
		})
	default:
		from, to, ins := 0, 0, ""
		if b.Insert != nil {
			from, to, ins = b.Insert.At, b.Insert.At, b.Insert.Text
		} else {
			from, to, ins = b.Replace.From, b.Replace.To, b.Replace.Text
		}
		rev, err = s.rangeEdit(ctx, a.doc, b.Rev, from, to, ins, b.Author)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]int{"rev": rev})
}

// rangeEdit replaces [from, to) with text, positions at revision at (nil:
// the latest), as an op made at that revision.
func (s *Server) rangeEdit(ctx context.Context, d store.Doc, at *int, from, to int, text, author string) (int, error) {
	base := d.Rev
	if at != nil {
		base = *at
	}
	if base < 0 || base > d.Rev {
		return 0, apiErrorf(codeBadRequest, "rev must be between 0 and %d", d.Rev)
	}
	old, err := s.docs.TextAt(ctx, d.ID, base)
	if err != nil {
		return 0, err
	}
	n := ot.Len(old)
	if from < 0 || to < from || to > n {
		return 0, apiErrorf(codeBadRequest, "the range [%d, %d) is not within the text's %d units at revision %d", from, to, n, base)
	}
	var op ot.Op
	op.Retain(from).Delete(to - from).Insert(text).Retain(n - to)
	// Brought to the latest stored revision here, from the log: the
	// document's core keeps only recent ops (and none when it has just
	// opened), and transforms it past whatever came after.
	if base < d.Rev {
		if d.Rev-base > maxOps {
			return 0, apiErrorf(codeBadRequest, "revision %d is more than %d revisions behind; use a later one", base, maxOps)
		}
		for from := base + 1; from <= d.Rev; {
			es, err := s.docs.RawPage(ctx, d.ID, from, d.Rev, maxOpsBytes)
			if err != nil {
				return 0, err
			}
			if len(es) == 0 {
				break
			}
			for _, e := range es {
				var applied ot.Op
				if err := applied.UnmarshalJSON(e.Op); err != nil {
					return 0, fmt.Errorf("edit doc %s: rev %d: %w", d.ID, e.Rev, err)
				}
				if op, err = ot.Rebase(op, applied); err != nil {
					return 0, apiErrorf(codeBadRequest, "the edit does not fit revision %d: %v", base, err)
				}
			}
			from = es[len(es)-1].Rev + 1
		}
	}
	rev, err := s.sessions.Edit(ctx, d.ID, session.Edit{Op: op, Rev: d.Rev, Author: author})
	return rev, editError(err)
}

func checkAuthor(a string) error {
	if a != "" && !wire.ValidAuthor(a) {
		return apiErrorf(codeBadRequest, "author must match [A-Za-z0-9_-]{1,64}")
	}
	return nil
}

type authorJSON struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Color string `json:"color"`
}

func authorsJSON(as []store.Author) []authorJSON {
	out := make([]authorJSON, len(as))
	for i, a := range as {
		out[i] = authorJSON{a.ID, a.Name, a.Color}
	}
	return out
}

// GET /api/docs/{key}/authors -> [{"id","name","color"}]
func (s *Server) getAuthors(c echo.Context) error {
	a, err := s.resolveLive(c)
	if err != nil {
		return err
	}
	as, err := s.docs.Authors(c.Request().Context(), a.doc.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, authorsJSON(as))
}

type spanJSON struct {
	Len    int    `json:"len"`
	Author string `json:"author"`
}

// GET /api/docs/{key}/authorship[?rev=N] -> who wrote each part of the text
func (s *Server) getAuthorship(c echo.Context) error {
	a, err := s.resolveLive(c)
	if err != nil {
		return err
	}
	rev, err := intParam(c, "rev", a.doc.Rev)
	if err != nil {
		return err
	}
	if rev > a.doc.Rev {
		return apiErrorf(codeNotFound, "revision %d is past the current revision %d", rev, a.doc.Rev)
	}
	ctx := c.Request().Context()
	spans, err := s.docs.Authorship(ctx, a.doc.ID, rev)
	if err != nil {
		return err
	}
	as, err := s.docs.Authors(ctx, a.doc.ID)
	if err != nil {
		return err
	}
	out := make([]spanJSON, len(spans))
	for i, sp := range spans {
		out[i] = spanJSON{sp.Len, sp.Author}
	}
	return c.JSON(http.StatusOK, map[string]any{"rev": rev, "spans": out, "authors": authorsJSON(as)})
}

type versionJSON struct {
	Rev    int       `json:"rev"`
	Name   string    `json:"name"`
	Author string    `json:"author"`
	Time   time.Time `json:"time"`
}

func toVersionJSON(v store.Version) versionJSON {
	return versionJSON{Rev: v.Rev, Name: v.Name, Author: v.Author, Time: v.Time.UTC()}
}

// GET /api/docs/{key}/versions -> named versions, newest first
func (s *Server) getVersions(c echo.Context) error {
	a, err := s.resolveLive(c)
	if err != nil {
		return err
	}
	vs, err := s.docs.Versions(c.Request().Context(), a.doc.ID)
	if err != nil {
		return err
	}
	out := make([]versionJSON, len(vs))
	for i, v := range vs {
		out[i] = toVersionJSON(v)
	}
	return c.JSON(http.StatusOK, out)
}

// POST /api/docs/{key}/versions {"rev","name"} -> 201 the version
func (s *Server) nameVersion(c echo.Context) error {
	a, err := s.resolveEdit(c)
	if err != nil {
		return err
	}
	var body struct {
		Rev    *int   `json:"rev"`
		Name   string `json:"name"`
		Author string `json:"author"`
	}
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	if body.Rev == nil || *body.Rev < 0 {
		return apiErrorf(codeBadRequest, "the body must hold a revision, {\"rev\": N, \"name\": \"…\"}")
	}
	if err := checkAuthor(body.Author); err != nil {
		return err
	}
	name, err := cleanTitle(body.Name)
	if err != nil {
		return err
	}
	v, err := s.docs.NameVersion(c.Request().Context(), a.doc.ID, store.Version{Rev: *body.Rev, Name: name, Author: body.Author})
	if errors.Is(err, oplog.ErrNotFound) {
		return apiErrorf(codeNotFound, "revision %d is past the current revision", *body.Rev)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toVersionJSON(v))
}

// DELETE /api/docs/{key}/versions/{rev} -> 204
func (s *Server) unnameVersion(c echo.Context) error {
	a, err := s.resolveEdit(c)
	if err != nil {
		return err
	}
	rev, err := strconv.Atoi(c.Param("rev"))
	if err != nil || rev < 0 {
		return apiErrorf(codeBadRequest, "the revision must be a non-negative integer")
	}
	if err := s.docs.UnnameVersion(c.Request().Context(), a.doc.ID, rev); err != nil {
		if errors.Is(err, oplog.ErrNotFound) {
			return apiErrorf(codeNotFound, "revision %d has no name", rev)
		}
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// historyFile is the JSON export: everything needed to rebuild the
// document with the same text and revisions.
type historyFile struct {
	Format   string          `json:"format"`
	Version  int             `json:"version"`
	Title    string          `json:"title"`
	Created  time.Time       `json:"created"`
	Rev      int             `json:"rev"`
	Text     string          `json:"text"`
	Ops      []historyOp     `json:"ops"`
	Authors  []authorJSON    `json:"authors"`
	Versions []versionJSON   `json:"versions"`
	Extra    json.RawMessage `json:"-"`
}

type historyOp struct {
	Rev    int       `json:"rev"`
	Op     ot.Op     `json:"op"`
	Client string    `json:"client"`
	Seq    int       `json:"seq"`
	Time   time.Time `json:"time"`
	Author string    `json:"author"`
	// Inserts: who wrote the inserted text, when not author (a restore).
	Inserts []spanJSON `json:"inserts,omitempty"`
}

const historyFormat = "tandem-history"

// GET /api/docs/{key}/export?format=txt|md|json -> a file to download
func (s *Server) exportDoc(c echo.Context) error {
	a, err := s.resolveLive(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	format := c.QueryParam("format")
	var ctype, ext string
	switch format {
	case "", "txt":
		ctype, ext = "text/plain; charset=utf-8", "txt"
	case "md":
		ctype, ext = "text/markdown; charset=utf-8", "md"
	case "json":
		ctype, ext = "application/json; charset=utf-8", "json"
	default:
		return apiErrorf(codeBadRequest, "format must be txt, md or json, not %q", clipReason(format))
	}
	text, err := s.docs.TextAt(ctx, a.doc.ID, a.doc.Rev)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": fileName(a.doc.Title, ext)}))
	h.Set("X-Content-Type-Options", "nosniff")
	if ext != "json" {
		return c.Blob(http.StatusOK, ctype, []byte(text))
	}
	f := historyFile{Format: historyFormat, Version: 1, Title: a.doc.Title, Created: a.doc.Created.UTC(), Rev: a.doc.Rev, Text: text,
		Ops: make([]historyOp, 0, a.doc.Rev)}
	for from := 1; from <= a.doc.Rev; {
		es, err := s.docs.RawPage(ctx, a.doc.ID, from, a.doc.Rev, maxOpsBytes)
		if err != nil {
			return err
		}
		if len(es) == 0 {
			break
		}
		for _, e := range es {
			var op ot.Op
			if err := op.UnmarshalJSON(e.Op); err != nil {
				return fmt.Errorf("export doc %s: rev %d: %w", a.doc.ID, e.Rev, err)
			}
			h := historyOp{Rev: e.Rev, Op: op, Client: e.Client, Seq: e.Seq, Time: e.Time.UTC(), Author: e.Author}
			for _, sp := range e.Inserts {
				h.Inserts = append(h.Inserts, spanJSON{sp.Len, sp.Author})
			}
			f.Ops = append(f.Ops, h)
		}
		from = es[len(es)-1].Rev + 1
	}
	as, err := s.docs.Authors(ctx, a.doc.ID)
	if err != nil {
		return err
	}
	f.Authors = authorsJSON(as)
	vs, err := s.docs.Versions(ctx, a.doc.ID)
	if err != nil {
		return err
	}
	f.Versions = make([]versionJSON, len(vs))
	for i, v := range vs {
		f.Versions[i] = toVersionJSON(v)
	}
	return c.JSON(http.StatusOK, f)
}

// fileName makes a download's file name from a title: no path separators
// or control characters, at most 100 characters before the extension.
func fileName(title, ext string) string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r < 0x20 || r == 0x7f, strings.ContainsRune(`/\:*?"<>|`, r):
			return '_'
		}
		return r
	}, strings.TrimSpace(title))
	if r := []rune(name); len(r) > 100 {
		name = string(r[:100])
	}
	if name == "" || strings.Trim(name, ".") == "" {
		name = "document"
	}
	return name + "." + ext
}

// maxImport bounds an import's body.
const maxImport = 64 << 20

// POST /api/docs/import (a JSON export) -> 201 like POST /api/docs
func (s *Server) importDoc(c echo.Context) error {
	r := c.Request()
	who, err := s.mayCreate(r)
	if err != nil {
		return err
	}
	if ok, wait := s.limits.allow(s.clientAddr(r), true); !ok {
		return tooMany(c, wait, "too many documents created from your address")
	}
	var f historyFile
	if err := decodeBody(c, &f); err != nil {
		return err
	}
	if f.Format != historyFormat || f.Version != 1 {
		return apiErrorf(codeBadRequest, "not a Tandem history file (format %q version %d)", clipReason(f.Format), f.Version)
	}
	title, err := cleanTitle(f.Title)
	if err != nil {
		return err
	}
	entries := make([]oplog.Entry, len(f.Ops))
	size := 0
	for i, o := range f.Ops {
		if o.Author != "" && !wire.ValidAuthor(o.Author) {
			return apiErrorf(codeBadRequest, "revision %d: author must match [A-Za-z0-9_-]{1,64}", o.Rev)
		}
		if o.Client == "" || len(o.Client) > 64 || o.Seq < 1 {
			return apiErrorf(codeBadRequest, "revision %d: needs a client (at most 64 bytes) and a seq of at least 1", o.Rev)
		}
		if n := o.Op.TargetLen(); n > s.maxDocLen() {
			return apiErrorf(codeTooLarge, "revision %d makes the document %d units long; the limit is %d", o.Rev, n, s.maxDocLen())
		}
		size = o.Op.TargetLen()
		entries[i] = oplog.Entry{Rev: o.Rev, Op: o.Op, Client: o.Client, Seq: o.Seq, Time: o.Time, Author: o.Author}
		for _, sp := range o.Inserts {
			if sp.Len < 1 || (sp.Author != "" && !wire.ValidAuthor(sp.Author)) {
				return apiErrorf(codeBadRequest, "revision %d: malformed inserts", o.Rev)
			}
			entries[i].Inserts = append(entries[i].Inserts, oplog.Span{Len: sp.Len, Author: sp.Author})
		}
	}
	_ = size
	authors := make([]store.Author, 0, len(f.Authors))
	for _, a := range f.Authors {
		if !wire.ValidAuthor(a.ID) || !wire.ValidColor(a.Color) || ot.Len(a.Name) > wire.MaxNameLen {
			return apiErrorf(codeBadRequest, "author %q is malformed", clipReason(a.ID))
		}
		authors = append(authors, store.Author{ID: a.ID, Name: a.Name, Color: a.Color})
	}
	versions := make([]store.Version, 0, len(f.Versions))
	for _, v := range f.Versions {
		name, err := cleanTitle(v.Name)
		if err != nil {
			return err
		}
		versions = append(versions, store.Version{Rev: v.Rev, Name: name, Author: v.Author, Time: v.Time})
	}
	d, err := s.docs.ImportDoc(r.Context(), title, entries, authors, versions)
	if err != nil {
		if errors.Is(err, oplog.ErrNotFound) || errors.Is(err, oplog.ErrConflict) {
			return err
		}
		if strings.HasPrefix(err.Error(), "store: import:") && !strings.Contains(err.Error(), "commit") {
			return apiErrorf(codeBadRequest, "%s", strings.TrimPrefix(err.Error(), "store: import: "))
		}
		return err
	}
	if d.Size != ot.Len(f.Text) && f.Text != "" {
		s.log.Warn("imported history does not end with its text", "doc", d.ID)
	}
	s.log.Info("document imported", "doc", d.ID, "rev", d.Rev, "by", who, "remote", s.clientAddr(r))
	return c.JSON(http.StatusCreated, withAccess(access{doc: d, role: roleEdit}))
}

// maxDocLen is the session manager's document length limit, as the server
// knows it.
func (s *Server) maxDocLen() int {
	if s.cfg.MaxDocLen > 0 {
		return s.cfg.MaxDocLen
	}
	return DefaultMaxDocLen
}

// POST /api/docs/{key}/undelete -> 200 the document, out of the trash
func (s *Server) undeleteDoc(c echo.Context) error {
	a, err := s.resolveParam(c)
	if err != nil {
		return err
	}
	if err := needEdit(a); err != nil {
		return err
	}
	if !a.doc.InTrash() {
		return apiErrorf(codeConflict, "the document is not in the trash")
	}
	d, err := s.docs.UndeleteDoc(c.Request().Context(), a.doc.ID)
	if err != nil {
		return err
	}
	s.log.Info("document undeleted", "doc", d.ID)
	s.docChanged(d.ID, "")
	a.doc = d
	return c.JSON(http.StatusOK, withAccess(a))
}

// GET /api/trash -> documents in the trash (administrator)
func (s *Server) listTrash(c echo.Context) error {
	if err := s.requireAdmin(c.Request()); err != nil {
		return err
	}
	docs, err := s.docs.Trash(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]docJSON, len(docs))
	for i, d := range docs {
		out[i] = withAccess(access{doc: d, role: roleAdmin})
	}
	return c.JSON(http.StatusOK, out)
}

// noteAuthor records an author's name and colour in a document, off the
// socket's reader, unless this process already recorded the same. The
// cache is bounded; forgetting it only costs a repeated write.
func (s *Server) noteAuthor(doc string, a store.Author) {
	key := doc + "\x00" + a.ID
	s.authorsMu.Lock()
	if s.authorsSeen[key] == a.Name+"\x00"+a.Color {
		s.authorsMu.Unlock()
		return
	}
	if len(s.authorsSeen) >= 10000 {
		clear(s.authorsSeen)
	}
	s.authorsSeen[key] = a.Name + "\x00" + a.Color
	s.authorsMu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.docs.SaveAuthor(ctx, doc, a); err != nil && !errors.Is(err, oplog.ErrNotFound) {
			s.log.Warn("save author", "doc", doc, "err", err)
		}
	}()
}
