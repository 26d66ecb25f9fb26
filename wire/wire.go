// Package wire defines the WebSocket messages of Tandem's protocol, their
// error codes and close codes, as documented in docs/protocol.md.
//
// It is shared by the server (package server), the Go client (package client)
// and tests. It holds data types only: no I/O, safe for concurrent use.
package wire

import (
	"encoding/json"

	"github.com/tandem-editor/tandem/ot"
)

// Message types, the "type" field of every message.
const (
	TypeJoin     = "join"
	TypeJoined   = "joined"
	TypeSnapshot = "snapshot"
	TypeOp       = "op"
	TypeAck      = "ack"
	TypePresence = "presence"
	TypeLeave    = "leave"
	TypeError    = "error"
	// An application-level heartbeat: a client may send ping at any time
	// and gets pong at once (browsers cannot see WebSocket pings).
	TypePing = "ping"
	TypePong = "pong"
)

// Range is one selection as [anchor, head] in UTF-16 code units.
type Range [2]int

// Message is the union of every message in either direction. Fields unused
// by a type are omitted when encoding. Pointer fields distinguish "absent"
// from zero where the protocol needs it (join's optional rev).
type Message struct {
	Type string `json:"type"`

	// join (secret, name, color), joined (client, secret, view), op and
	// presence (client; presence also name, color, view), leave (client).
	// client is a public id the server derives from the secret; only the
	// client that holds the secret can act as it.
	Client string `json:"client,omitempty"`
	Secret string `json:"secret,omitempty"`
	Name   string `json:"name,omitempty"`
	Color  string `json:"color,omitempty"`
	// View marks a connection that may read but not edit.
	View bool `json:"view,omitempty"`
	// join: the person's stable id across connections (optional), which
	// the server records with every op as its author.
	Author string `json:"author,omitempty"`

	// join (optional, hence a pointer), op, presence, joined, snapshot, ack
	Rev *int `json:"rev,omitempty"`

	// op, ack, joined, error
	Seq *int `json:"seq,omitempty"`

	// op
	Op ot.Op `json:"op,omitzero"`

	// presence; nil means absent, an empty non-nil slice means "no cursor".
	Sel []Range `json:"sel,omitzero"`

	// joined
	Peers []Peer `json:"peers,omitempty"`

	// snapshot
	Text *string `json:"text,omitempty"`

	// error
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// Peer describes another client in a joined message.
type Peer struct {
	Client string  `json:"client"`
	Name   string  `json:"name"`
	Color  string  `json:"color"`
	View   bool    `json:"view,omitempty"`
	Sel    []Range `json:"sel"`
}

// Error codes sent in error messages.
const (
	// Message refused; the socket stays open.
	CodeBadJSON       = "bad_json"
	CodeBadMessage    = "bad_message"
	CodeUnknownType   = "unknown_type"
	CodeNotJoined     = "not_joined"
	CodeAlreadyJoined = "already_joined"
	CodeBadClient     = "bad_client"
	CodeBadPresence   = "bad_presence"

	// Binary frame: close 1003.
	CodeBinaryFrame = "binary_frame"

	// Op refused: close 4000.
	CodeBadSeq         = "bad_seq"
	CodeBadRev         = "bad_rev"
	CodeBadOp          = "bad_op"
	CodeBaseLength     = "base_length"
	CodeSurrogateSplit = "surrogate_split"
	CodeInvalidUnicode = "invalid_unicode"
	CodeDocTooLarge    = "doc_too_large"

	// Op refused for now: close 4001. The op's base revision (or its seq's
	// revision) is older than the server keeps in memory, or the op is too
	// far behind to transform; the client rejoins with its revision,
	// catches up, and resends the op with the same seq.
	CodeStale = "stale"

	CodeRateLimited = "rate_limited" // close 1008
	// Too many sockets from one address, or no join in time: close 1008.
	CodeTooManyConnections = "too_many_connections"
	CodeJoinTimeout        = "join_timeout"
	// The link this socket joined through was reissued: close 4003.
	CodeLinkRevoked = "link_revoked"
	CodeTooLarge    = "too_large" // close 1009
	CodeNotFound    = "not_found" // close 4004
	CodeForbidden   = "forbidden" // close 4003
	CodeInternal    = "internal"  // close 1011: the server could not persist; reconnect later
)

// Close codes. What a client does after each is in wire/closecodes.json
// (CloseAction).
const (
	CloseNormal      = 1000
	CloseGoingAway   = 1001 // server shutting down: reconnect with backoff
	CloseUnsupported = 1003 // binary frame
	ClosePolicy      = 1008 // rate limited: reconnect after a delay
	CloseTooLarge    = 1009 // message too large: do not resend that op
	CloseInternal    = 1011 // server error: reconnect with backoff
	CloseResync      = 4000 // op refused or state invalid: reload without rev
	CloseTooSlow     = 4001 // queue overflowed or catch-up needed: reconnect at once with rev
	CloseForbidden   = 4003
	CloseNotFound    = 4004
	CloseReplaced    = 4009
)

// IntPtr returns a pointer to n, for the optional Rev and Seq fields.
func IntPtr(n int) *int { return &n }

// Encode marshals m. Messages built by this package's users always encode.
func Encode(m *Message) []byte {
	b, err := json.Marshal(m)
	if err != nil {
		panic("wire: encode: " + err.Error())
	}
	return b
}

// CloseFor returns the close code that follows an error with the given
// code, or 0 when the socket stays open. The table is the protocol's, in
// wire/closecodes.json; the server and the clients read it from there.
func CloseFor(code string) int {
	return errorCloses[code]
}
