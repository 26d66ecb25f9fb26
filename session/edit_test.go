package session

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/wire"
)

// A server edit on a document nobody has open opens its hub, is persisted
// as the server's op, answers its revision, and the hub then stops.
func TestEditOpensAndReleasesTheHub(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		rev, err := e.m.Edit(context.Background(), "d", Edit{Op: ot.Op{ot.Insert("hi")}, Rev: 0, Author: "ada"})
		if err != nil || rev != 1 {
			t.Fatalf("Edit: %d, %v", rev, err)
		}
		es := e.st.entries("d")
		if len(es) != 1 || es[0].Client != ServerClient || es[0].Seq != 1 || es[0].Author != "ada" {
			t.Fatalf("log %+v", es)
		}
		synctest.Wait()
		if _, open, _ := e.m.Stats(); open != 0 {
			t.Fatalf("%d hubs open after the edit", open)
		}
		// The reopened hub's window starts at revision 1: an edit made at
		// revision 0 is stale (the caller rebases it from the log), one at
		// 1 is the server's second op.
		var serr *Error
		if _, err = e.m.Edit(context.Background(), "d", Edit{Op: ot.Op{ot.Insert(">")}, Rev: 0}); !errors.As(err, &serr) || serr.Code != wire.CodeStale {
			t.Fatalf("an edit before the window: %v", err)
		}
		rev, err = e.m.Edit(context.Background(), "d", Edit{Op: ot.Op{ot.Insert(">"), ot.Retain(2)}, Rev: 1})
		if err != nil || rev != 2 || e.st.entries("d")[1].Seq != 2 {
			t.Fatalf("second Edit: %d, %v", rev, err)
		}
		if _, err := e.m.Edit(context.Background(), "missing", Edit{Op: ot.Op{ot.Insert("x")}}); err == nil {
			t.Fatal("an edit of a missing document succeeded")
		}
	})
}

// A connected peer sees a server edit as an op from the server, and its
// own pending op is transformed past it.
func TestEditReachesPeers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		p, _ := e.join("a", nil)
		p.take()
		done := make(chan struct{})
		go func() { // ends when the edit is answered
			defer close(done)
			if _, err := e.m.Edit(context.Background(), "d", Edit{Op: ot.Op{ot.Insert("x")}, Rev: 0}); err != nil {
				t.Error(err)
			}
		}()
		<-done
		synctest.Wait()
		got := p.take()
		if len(got) != 1 || got[0].Type != wire.TypeOp || got[0].Client != ServerClient {
			t.Fatalf("peer got %+v", got)
		}
		// Refusals are *Errors with the op's error code.
		_, err := e.m.Edit(context.Background(), "d", Edit{Op: ot.Op{ot.Retain(5)}, Rev: 1})
		var serr *Error
		if !errors.As(err, &serr) || serr.Code != wire.CodeBaseLength {
			t.Fatalf("an op that does not fit: %v", err)
		}
		if _, err := e.m.Edit(context.Background(), "d", Edit{Op: ot.Op{ot.Insert("x")}, Rev: 9}); !errors.As(err, &serr) || serr.Code != wire.CodeBadRev {
			t.Fatalf("a revision in the future: %v", err)
		}
	})
}

// A document deleted in the same batch as an op: the op's commit fails
// (the document is gone), and every peer is still told and closed, though
// the deletion had already let them go from the core.
func TestDeleteInTheBatchOfAFailedCommitClosesEveryone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		pa, ca := e.join("a", nil)
		pb, _ := e.join("b", nil)
		pa.take()
		pb.take()
		e.st.mu.Lock()
		e.st.failNext = oplog.ErrNotFound
		e.st.mu.Unlock()
		ca.Op(Submit{Seq: wire.IntPtr(1), Rev: wire.IntPtr(0), Op: ot.Op{ot.Insert("x")}})
		e.m.Deleted("d")
		synctest.Wait()
		for name, p := range map[string]*fakePeer{"a": pa, "b": pb} {
			if p.closeCode() != wire.CloseNotFound {
				t.Errorf("%s: close %d, want 4004", name, p.closeCode())
			}
			got := p.take()
			if len(got) == 0 || got[len(got)-1].Code != wire.CodeNotFound {
				t.Errorf("%s: got %+v, want not_found last", name, got)
			}
		}
	})
}
