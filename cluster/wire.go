package cluster

import (
	"encoding/hex"
	"encoding/json"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/wire"
)

// Subjects.
func docSubject(doc string) string    { return "tandem.doc." + token(doc) + ".in" }
func peerSubject(conn string) string  { return "tandem.peer." + conn }
func peerWildcard(node string) string { return "tandem.peer." + node + ".*" }

// Kinds of envelope.
const (
	// relay → owner, on the document's subject
	kJoin     = "join"     // a request: the owner answers with a reply
	kOp       = "op"       //
	kPresence = "presence" //
	kLeave    = "leave"    //
	kBeat     = "beat"     // both ways: I (to the owner) or N (to a relay) is the last number sent
	kEdit     = "edit"     // a request: a server edit made on a relay
	kDeleted  = "deleted"  // the document was deleted through a relay
	// owner → relay, on the connection's subject
	kMsg   = "msg"
	kClose = "close"
	// either way: a part of an envelope too large for one NATS message
	// (NATS refuses payloads over its max_payload, 1 MiB by default; a
	// snapshot or an op may be larger). Each part takes a number; the
	// envelope rebuilt from the last is handled as if it came whole.
	kPart = "part"
)

// editPrefix starts the Conn of a server edit's parts (an id of its own,
// never a relayed connection's).
const editPrefix = "edit."

// maxEditParts bounds the bytes of server edits an owner holds in parts
// for one document (a relay that died mid-edit leaves its parts behind).
const maxEditParts = 64 << 20

// envelope is every message between processes, as JSON. A connection's
// messages are numbered in each direction: I from the relay, N from the
// owner, each from 1 without gaps.
type envelope struct {
	K    string `json:"k"`
	Conn string `json:"conn,omitempty"` // the relayed connection: <process>.<n>
	I    uint64 `json:"i,omitempty"`
	N    uint64 `json:"n,omitempty"`

	// join
	Join *wire.Message `json:"join,omitempty"`
	Edit bool          `json:"edit,omitempty"` // the join's rights
	// op, presence
	Seq *int            `json:"seq,omitempty"`
	Rev *int            `json:"rev,omitempty"`
	Op  json.RawMessage `json:"op,omitempty"`
	Sel *[]wire.Range   `json:"sel,omitempty"` // nil: absent; empty: no cursor
	// msg: one encoded server message
	D json.RawMessage `json:"d,omitempty"`
	// close
	Code   int    `json:"code,omitempty"`
	Reason string `json:"reason,omitempty"`
	// part: bytes of the encoded envelope; More: further parts follow
	P    []byte `json:"p,omitempty"`
	More bool   `json:"more,omitempty"`
	// edit
	Author  string       `json:"author,omitempty"`
	Inserts []oplog.Span `json:"inserts,omitempty"`
}

// answer is the owner's reply to a join or an edit.
type answer struct {
	OK bool `json:"ok"`
	// NotOwner: the process asked does not run the document (any more).
	NotOwner bool `json:"not_owner,omitempty"`
	// Code and Message: a refusal (session.Error) or an internal failure.
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	Rev     int    `json:"rev,omitempty"` // edit
}

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("cluster: encode: " + err.Error()) // only our own types
	}
	return b
}

// token is s as one subject token: as is when it holds only letters,
// digits, '-' and '_' (document ids are UUIDs), else "~" and its hex.
func token(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return "~" + hex.EncodeToString([]byte(s))
		}
	}
	if s == "" {
		return "~"
	}
	return s
}
