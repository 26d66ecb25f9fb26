package store

import (
	"database/sql"
	"time"
)

// WriterPragma runs "PRAGMA " + pragma on the writer pool's only connection
// and returns its integer answer. Tests outside the package use it to
// simulate a full disk with max_page_count, which is per connection.
func WriterPragma(db *DB, pragma string) (int64, error) {
	var n int64
	err := db.writer.QueryRow("PRAGMA " + pragma).Scan(&n)
	return n, err
}

// SetClock replaces the store's clock (storetest.Clock).
func SetClock(db *DB, now func() time.Time) { db.now = now }

// WriterExec runs a statement through the writer, as another process
// writing the same file would.
func WriterExec(db *DB, query string, args ...any) error {
	_, err := db.writer.Exec(query, args...)
	return err
}

// ReaderQuery runs a query through the read pool.
func ReaderQuery(db *DB, query string, args ...any) (*sql.Rows, error) {
	return db.reader.Query(query, args...)
}
