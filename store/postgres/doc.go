// Package postgres keeps Tandem's documents in PostgreSQL, through a pgx
// pool, with the contract of package store's SQLite database: the same
// methods, types, errors (wrapping oplog.ErrNotFound and oplog.ErrConflict)
// and ordering, checked by the same tests (store/storetest). It lets
// several server processes share one database.
//
// Schema changes are embedded numbered migrations (migrations/NNNN_*.sql),
// each applied once in its own transaction under an advisory lock, so that
// processes starting together migrate once.
//
// An Append is one transaction: it locks the document's row (SELECT … FOR
// UPDATE), so Appends to one document queue behind each other, in this
// process or another; the log's primary key (doc, rev) and unique (doc,
// client, seq) are the last word, and a violation is reported as
// oplog.ErrConflict. There is no group commit: the pool runs Appends of
// different documents side by side, and PostgreSQL's own commit grouping
// shares the WAL flushes.
//
// A *DB is safe for concurrent use. Reads that need one consistent view
// (Snapshot, TextAt) run in a read-only REPEATABLE READ transaction.
package postgres
