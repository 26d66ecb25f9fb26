package session

import (
	"context"
	"errors"
	"fmt"
)

// Several server processes may share one store (PostgreSQL). Exactly one of
// them may run a document's hub at a time: the one holding the document's
// lease. Config.Leases, when set, makes every hub take the lease before it
// loads its document, hold it while it runs and release it when it stops;
// a hub whose lease is lost stops at once. Package cluster implements
// Leases; without it (one process, SQLite) every document is local.

// Leases hands out the leases of documents for this process.
type Leases interface {
	// Acquire takes the document's lease for this process, or fails with
	// a *NotOwnerError if another process holds it (or with another error
	// if the lease could not be asked for). Each successful Acquire is
	// matched by one Lease.Release.
	Acquire(ctx context.Context, doc string) (Lease, error)
}

// Lease is a document's lease as one hub holds it. Its methods are safe
// for concurrent use.
type Lease interface {
	// Held reports whether the lease is certainly still this process's:
	// not lost, and renewed recently enough that it cannot have expired.
	// The hub checks it before every Append.
	Held() bool
	// Lost is closed when the lease was lost (another process took it, or
	// it could not be renewed): the hub then stops.
	Lost() <-chan struct{}
	// Release gives the lease back (for the last holder in the process).
	// Later calls do nothing.
	Release()
}

// NotOwnerError: another process holds the document's lease. Manager.Join
// and Manager.Edit return it, having told the peer nothing, so that the
// caller can relay to Owner instead.
type NotOwnerError struct {
	Doc, Owner string
}

func (e *NotOwnerError) Error() string {
	return fmt.Sprintf("session: document %s is run by process %s", e.Doc, e.Owner)
}

// ErrLeaseLost: the hub's lease was lost or could not be renewed in time;
// it stops rather than write beside another owner.
var ErrLeaseLost = errors.New("session: the document's lease was lost")

// Forwarder carries the messages of a peer whose document runs in another
// process (package cluster's relay) to that process.
type Forwarder interface {
	Op(Submit)
	Presence(Cursor)
	// Leave is called once, when the peer disconnected.
	Leave()
}

// RelayConn returns a Conn that hands the peer's messages to f rather than
// to a hub of this process. j is the checked join (ParseJoin).
func RelayConn(j JoinRequest, f Forwarder) *Conn {
	return &Conn{fwd: f, client: j.Client, name: j.Name, color: j.Color}
}
