package wire

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The table in closecodes.json is the protocol's: these are its rows as
// docs/protocol.md describes them, so that an edit of the file shows here.
func TestCloseActionsAreTheProtocols(t *testing.T) {
	want := map[int]Action{
		CloseGoingAway:   ActionReconnect,
		CloseUnsupported: ActionStop,
		ClosePolicy:      ActionWait,
		CloseTooLarge:    ActionResync,
		CloseInternal:    ActionReconnect,
		CloseResync:      ActionResync,
		CloseTooSlow:     ActionReconnectNow,
		CloseForbidden:   ActionStop,
		CloseNotFound:    ActionStop,
		CloseReplaced:    ActionStop,
		// Not in the table: reconnect with backoff.
		0:           ActionReconnect,
		CloseNormal: ActionReconnect,
		1006:        ActionReconnect,
		4999:        ActionReconnect,
	}
	got := make(map[int]Action, len(want))
	for code := range want {
		got[code] = CloseAction(code)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("close actions (-want +got):\n%s", diff)
	}
	if got, want := len(CloseCodes()), 10; got != want {
		t.Fatalf("got %d rows in the table, want %d", got, want)
	}
}

func TestCloseForFollowsTheTable(t *testing.T) {
	want := map[string]int{
		CodeBadJSON: 0, CodeBadMessage: 0, CodeUnknownType: 0, CodeNotJoined: 0,
		CodeAlreadyJoined: 0, CodeBadClient: 0, CodeBadPresence: 0,
		CodeBinaryFrame: CloseUnsupported,
		CodeBadSeq:      CloseResync, CodeBadRev: CloseResync, CodeBadOp: CloseResync, CodeBaseLength: CloseResync,
		CodeSurrogateSplit: CloseResync, CodeInvalidUnicode: CloseResync, CodeDocTooLarge: CloseResync,
		CodeRateLimited: ClosePolicy,
		CodeTooLarge:    CloseTooLarge,
		CodeNotFound:    CloseNotFound,
		CodeForbidden:   CloseForbidden,
		CodeInternal:    CloseInternal,
	}
	got := make(map[string]int, len(want))
	for code := range want {
		got[code] = CloseFor(code)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("close code after each error (-want +got):\n%s", diff)
	}
}

func TestLoadCloseTableRefusesBadTables(t *testing.T) {
	actions := `"actions":{"reconnect":"x","reconnect-now":"x","wait":"x","resync":"x","stop":"x"}`
	for _, bad := range []string{
		`{"close":[]}`,
		`{` + actions + `,"close":[{"code":4000,"action":"reload"}]}`,
		`{` + actions + `,"close":[{"code":4000,"action":"stop"},{"code":4000,"action":"stop"}]}`,
		`{` + actions + `,"close":[],"errors":[{"error":"bad_op","close":4000}]}`,
	} {
		if _, _, _, err := loadCloseTable([]byte(bad)); err == nil {
			t.Errorf("loadCloseTable(%s): got no error, want one", bad)
		}
	}
}
