package store

// WriterPragma runs "PRAGMA " + pragma on the writer pool's only connection
// and returns its integer answer. Tests outside the package use it to
// simulate a full disk with max_page_count, which is per connection.
func WriterPragma(db *DB, pragma string) (int64, error) {
	var n int64
	err := db.writer.QueryRow("PRAGMA " + pragma).Scan(&n)
	return n, err
}
