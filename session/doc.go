// Package session runs one hub per open document. The hub is the single
// owner of the document's text, revision, presence and peers: one goroutine
// that receives joins, operations, presence and leaves through a bounded
// inbox and handles them one at a time. For each operation it checks
// de-duplication by (client, seq), transforms the operation against every
// operation the client had not seen, applies it, persists it through the
// Store, then acknowledges it to its author and broadcasts it to the others.
// Operations that arrive together are committed in one Store.Append (group
// commit).
//
// A Manager starts a hub on the first join of a document and stops it after
// the last peer leaves (the hub saves a snapshot first). Hubs of different
// documents run in parallel. The hub speaks to peers through the Peer
// interface and to disk through the Store interface; the WebSocket adapter
// (package server) and the SQLite store (package store) live at the edges.
//
// Manager and Conn methods are safe for concurrent use.
package session
