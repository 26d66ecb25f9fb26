// Package cluster lets several Tandem processes serve the same documents,
// over one PostgreSQL database and one NATS server, with the same hub code
// as a single process.
//
// One process at a time runs a document (its owner): the one holding the
// document's lease, a row in PostgreSQL renewed every third of the lease
// period. The owner runs the ordinary hub and Core; its own sockets are
// ordinary peers. A process with a socket for a document it does not own
// relays it: it forwards the client's join, ops, presence and leave to the
// owner on NATS (subject tandem.doc.<doc>.in), and the owner's hub sees
// that client as one more Peer (a remote peer) whose messages it publishes
// to the relay's subject for that connection (tandem.peer.<process>.<conn>),
// numbered. A gap in those numbers, or an owner silent for a lease period,
// closes the client's socket with 4001: the client reconnects at once,
// catches up from the store and resends its unacknowledged op with the same
// (client, seq), which the Core applies at most once. docs/scaling.md tells
// the whole design and its failure cases.
//
// A Node implements session.Leases (for the hubs) and the server's
// Sessions (for the WebSocket adapter and the API), around a
// session.Manager. It is safe for concurrent use. Its goroutines: one that
// renews the leases and sends heartbeats (ends with Close), and the NATS
// client's subscription goroutines (one per owned document, one for the
// relayed connections; they end when unsubscribed).
package cluster
