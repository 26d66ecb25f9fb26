package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/store"
)

// role is what a request may do with a document, decided from the key in
// its URL (a link's token, or the id with the admin token).
type role int

const (
	roleView  role = iota + 1 // read, join, show a cursor
	roleEdit                  // also edit, rename, delete, reissue links
	roleAdmin                 // all of it, by id or token
)

func (r role) String() string {
	switch r {
	case roleView:
		return "view"
	case roleEdit:
		return "edit"
	case roleAdmin:
		return "admin"
	}
	return "none"
}

func (r role) canEdit() bool { return r >= roleEdit }

// access is a resolved {id} path segment.
type access struct {
	doc  store.Doc
	role role
	key  string // as given: the token (or id) the request came with
}

// resolve turns key into a document and a role. A link's token gives that
// link's right; the document's id gives everything, but only with the admin
// token (an id is not a secret: it appears in answers to viewers). Anything
// else is not found, so that a guess learns nothing, not even whether an id
// exists.
func (s *Server) resolve(ctx context.Context, r *http.Request, key string) (access, error) {
	if s.isAdmin(r) {
		d, err := s.docs.GetDoc(ctx, key)
		if errors.Is(err, oplog.ErrNotFound) {
			d, err = s.docs.DocByToken(ctx, key)
		}
		if err != nil {
			return access{}, err
		}
		return access{doc: d, role: roleAdmin, key: key}, nil
	}
	if s.cfg.Legacy {
		if d, err := s.docs.GetDoc(ctx, key); err == nil {
			return access{doc: d, role: roleEdit, key: key}, nil
		}
	}
	d, err := s.docs.DocByToken(ctx, key)
	if err != nil {
		return access{}, err
	}
	a := access{doc: d, role: roleView, key: key}
	if key == d.EditToken {
		a.role = roleEdit
	}
	return a, nil
}

// resolveParam resolves the request's {id}.
func (s *Server) resolveParam(c echo.Context) (access, error) {
	return s.resolve(c.Request().Context(), c.Request(), c.Param("id"))
}

// needEdit refuses a request whose role may not change the document.
func needEdit(a access) error {
	if !a.role.canEdit() {
		return apiErrorf(codeForbidden, "this link is view only")
	}
	return nil
}

// isAdmin reports whether the request carries the admin token as
// "Authorization: Bearer …". Without a configured token nobody is.
func (s *Server) isAdmin(r *http.Request) bool {
	if s.cfg.AdminToken == "" {
		return false
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.cfg.AdminToken)) == 1
}

// requireAdmin refuses a request without the admin token (401).
func (s *Server) requireAdmin(r *http.Request) error {
	if !s.isAdmin(r) {
		return apiErrorf(codeUnauthorized, "this needs the administrator's token (Authorization: Bearer …)")
	}
	return nil
}

// mayCreate decides whether the request may create a document: anyone in
// open mode; in closed mode the administrator, or a person named by the
// trusted proxy's identity header. It returns who, for the log.
func (s *Server) mayCreate(r *http.Request) (string, error) {
	if !s.cfg.CreateClosed {
		return "", nil
	}
	if s.isAdmin(r) {
		return "admin", nil
	}
	if s.cfg.UserHeader != "" && s.fromTrustedProxy(r) {
		if u := strings.TrimSpace(r.Header.Get(s.cfg.UserHeader)); u != "" {
			return u, nil
		}
	}
	return "", apiErrorf(codeUnauthorized, "creating documents needs the administrator's token or a signed-in user on this server")
}

// linksJSON are a document's links as paths of the editor page.
type linksJSON struct {
	Edit string `json:"edit,omitempty"`
	View string `json:"view"`
}

// linksFor returns the links a role may see: a viewer sees only the view
// link, so that nothing readable with it leads to the edit link.
func linksFor(a access) *linksJSON {
	l := &linksJSON{View: "/d/" + a.doc.ViewToken}
	if a.role.canEdit() {
		l.Edit = "/d/" + a.doc.EditToken
	}
	return l
}

// Client identities. A client's secret is issued by the server on its
// first join (or chosen by the client, 22 to 64 base64url characters);
// its public id, which everyone sees in ops and presence, is an HMAC of
// the secret under a key only the server knows. Knowing a public id thus
// gives no way to act as that client: joining as it needs the secret.

// newSecret returns a fresh client secret: 128 random bits, base64url.
func newSecret() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// publicID derives the public id of secret in document doc (a client's id
// differs between documents, so ids do not link a person's documents).
func publicID(key []byte, doc, secret string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(doc))
	m.Write([]byte{0})
	m.Write([]byte(secret))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:15]) // 20 characters
}
