package server

import (
	"context"
	"errors"
	"time"

	"github.com/tandem-editor/tandem/metrics"
	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/session"
	"github.com/tandem-editor/tandem/store"
	"github.com/tandem-editor/tandem/wire"
)

// The server depends on these small interfaces, not on a concrete store or
// manager: main wires *store.DB and *session.Manager in, and a second store
// or a shared bus plugs in there without touching the HTTP edge.

// Docs is what the HTTP API reads and changes: document metadata, the text
// at a revision and the log in pages. *store.DB implements it. Errors wrap
// oplog.ErrNotFound for a missing document.
type Docs interface {
	CreateDoc(ctx context.Context, title string) (store.Doc, error)
	GetDoc(ctx context.Context, id string) (store.Doc, error)
	// DocByToken finds the document one of whose links ends in token.
	DocByToken(ctx context.Context, token string) (store.Doc, error)
	// ReissueLink gives the document a new edit or view token.
	ReissueLink(ctx context.Context, id string, which store.Link) (store.Doc, error)
	ListDocs(ctx context.Context) ([]store.Doc, error)
	RenameDoc(ctx context.Context, id, title string) (store.Doc, error)
	DeleteDoc(ctx context.Context, id string) error
	TextAt(ctx context.Context, id string, rev int) (string, error)
	// RawPage returns the log entries from from to to, stopping before
	// the ops pass maxBytes (but never empty when the range is not).
	RawPage(ctx context.Context, doc string, from, to, maxBytes int) ([]store.RawEntry, error)

	// History: authors, named versions, attribution, import.
	SaveAuthor(ctx context.Context, doc string, a store.Author) error
	Authors(ctx context.Context, doc string) ([]store.Author, error)
	Authorship(ctx context.Context, doc string, rev int) ([]oplog.Span, error)
	Versions(ctx context.Context, doc string) ([]store.Version, error)
	NameVersion(ctx context.Context, doc string, v store.Version) (store.Version, error)
	UnnameVersion(ctx context.Context, doc string, rev int) error
	ImportDoc(ctx context.Context, title string, entries []oplog.Entry, authors []store.Author, versions []store.Version) (store.Doc, error)

	// The trash.
	TrashDoc(ctx context.Context, id string, purge time.Time) (store.Doc, error)
	UndeleteDoc(ctx context.Context, id string) (store.Doc, error)
	Trash(ctx context.Context) ([]store.Doc, error)
}

// Health tells /healthz whether the store can commit; nil means it can.
// *store.DB implements it.
type Health interface {
	Health(ctx context.Context) error
}

// Sessions is the session manager, as the WebSocket adapter, the API and
// /metrics use it. *session.Manager implements it.
type Sessions interface {
	// Join registers p with the document's hub and hands it the join.
	Join(doc string, p session.Peer, msg *wire.Message, rights session.Rights) (*session.Conn, error)
	// Editors counts the peers connected to a document now.
	Editors(doc string) int
	// Generation changes whenever a document's people or revision may
	// have changed.
	Generation() uint64
	// Stats returns the counters for /metrics.
	Stats() (st session.Stats, openDocs, peers int)
	// Deleted tells the document's hub, if open, that it is gone.
	Deleted(doc string)
	// Edit makes a server edit, ordered like any op, and returns its
	// revision once persisted.
	Edit(ctx context.Context, doc string, e session.Edit) (int, error)
	// Shutdown makes every hub commit and close its peers with 1001, and
	// waits for them.
	Shutdown(ctx context.Context) error
}

// Announcer is implemented by Sessions that span several processes
// (cluster.Node): the server tells it of the changes to documents made
// through this process that the session manager does not see (renamed,
// moved to or out of the trash, a link reissued, with the token that no
// longer opens the document), so that the other processes' sockets and
// event streams learn of them (Server.Remote is their side).
type Announcer interface {
	Announce(doc, revokedToken string)
}

// Deps are a Server's collaborators. The caller owns them: it closes the
// store after Server.Close (which shuts Sessions down).
type Deps struct {
	Docs     Docs
	Health   Health
	Sessions Sessions
	// Metrics is where the server registers its metrics and what /metrics
	// serves; nil makes a registry of its own. The session manager's
	// Observer should be the same value, for its histograms to be served.
	Metrics *metrics.Metrics
}

func (d Deps) check() error {
	switch {
	case d.Docs == nil:
		return errors.New("server: no Docs")
	case d.Health == nil:
		return errors.New("server: no Health")
	case d.Sessions == nil:
		return errors.New("server: no Sessions")
	}
	return nil
}
