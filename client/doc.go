// Package client is a Go client for Tandem's WebSocket protocol, for bots,
// load generators and tests.
//
// It has two layers, as ot.js's client has. Machine is the protocol's
// client side as a plain value, with no I/O, goroutines or clock: the local
// text and revision, at most one op in flight, later local edits composed
// into a buffer (ot.js's Synchronized, AwaitingConfirm and
// AwaitingWithBuffer states), remote ops transformed past the pending ones,
// and the peers' presence mapped to the local text. Its caller decides when
// messages are delivered, which makes it testable with scripted delivery.
//
// Client drives a Machine over a real connection (gorilla/websocket): Dial
// joins a document and waits for the first joined message; Edit and Submit
// change the local text at once; the client reconnects by itself, asking
// for the ops it missed and resubmitting its unacknowledged op with the
// same (client, seq), which the server applies at most once. Close codes
// follow the protocol's table: reconnect (1001, 1011, 4001, 1008), resync
// or stop (4000, 1009, see Config.ResyncOnReject), stop (4003, 4004, 4009),
// with the reason available from Err.
//
// Lengths and positions count UTF-16 code units, as in package ot. Client
// methods are safe for concurrent use; a Machine is not.
package client
