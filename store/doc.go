// Package store keeps Tandem's documents in one SQLite file, through
// modernc.org/sqlite (pure Go, no cgo). It is the only package that speaks
// SQL, and *DB implements session.Store.
//
// What is stored: each document's id, title, times, current revision and
// size (its length in UTF-16 code units); the log of applied operations, one
// row per revision, in the ot.js JSON form with the (client, seq) that sent
// it and the text length after it; and snapshots of the whole text at some
// revisions (an empty one at revision 0 for every document). The text at any
// revision is the nearest snapshot at or before it plus a replay of the log.
// Schema changes are embedded numbered migrations (migrations/NNNN_*.sql),
// each applied once, in a transaction.
//
// A *DB is safe for concurrent use. Writes go through a single connection,
// so they are serialised within the process; reads use a separate pool and,
// thanks to WAL, never wait for the writer. Open starts one goroutine, the
// committer, which runs every Append; Close ends it.
//
// Durability: every connection runs with journal_mode=WAL and
// synchronous=FULL, so a call that returned without error (for instance the
// Append the hub waits on before acknowledging an edit) has reached the disk
// and survives kill -9 and power loss. FULL costs one fsync per transaction,
// so it is shared: the hub groups a document's edits into one Append, and
// the committer groups the Appends of different documents that arrive
// together into one transaction, with a savepoint each so that one
// refused Append does not affect the others (commit.go).
//
// Around the database: LockDir holds a data folder for one process
// (lock.go); Health commits a probe and reports the committer's last
// failure (health.go); RawPage reads the log in pages bounded in bytes
// (page.go).
package store
