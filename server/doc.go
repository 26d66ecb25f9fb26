// Package server is Tandem's HTTP front: the JSON API over the documents in
// the store, the WebSocket endpoint that connects browsers and bots to the
// session hubs, /healthz, /metrics, and the browser app.
//
// The WebSocket adapter turns each melody session into a session.Peer. It
// decodes client messages (refusing malformed ones with the protocol's
// error codes and close codes from package wire), rate-limits each socket,
// and writes server messages through a per-socket queue bounded in bytes:
// a message is never dropped; a socket whose queue overflows is closed with
// 4001 and catches up on reconnect. docs/protocol.md describes the
// protocol.
//
// A Server depends on three small interfaces it defines (Docs, Health,
// Sessions), which main fills with the store and the session manager; it
// does not open or close the store. Close shuts the sessions down and
// waits for the sockets. Every HTTP request but a WebSocket's has a read
// and a write deadline. Its methods are safe for concurrent use.
package server
