// Package session orders the edits of every open document.
//
// Core is the ordering logic of one document as a plain value: it takes
// typed requests (Join with the Rights the server decided, Submit, Cursor,
// Leave, Fetched, Tick) and returns a Ready that says what to persist, what
// to send to which peers, whom to close, what log pages to read and what
// snapshot to save. It does no I/O, starts no goroutine and reads no clock.
// For each op it checks de-duplication by (client, seq) and the peer's
// rights, transforms the op against every op the client had not seen (all
// in an in-memory window bounded in count and bytes), applies it, and
// queues the entry, the acknowledgement and the broadcast.
//
// A hub is the goroutine that owns one open document's Core: it receives
// joins, operations, presence and leaves through a bounded inbox, feeds
// them to the Core in batches, persists each Ready's entries through the
// Store in one Append (group commit), and only then sends the Ready's
// messages through the Peers. Log pages for catch-ups and snapshot saves
// run on goroutines of their own, so nothing a client sends makes the hub
// wait for the store.
//
// A Manager starts a hub on the first join of a document and stops it
// after the last peer leaves. Hubs of different documents run in
// parallel. The hub speaks to peers through the Peer interface and to disk
// through the Store interface; the WebSocket adapter (package server) and
// the SQLite store (package store) live at the edges.
//
// Manager and Conn methods are safe for concurrent use; a Core is not.
package session
