package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
)

// Secret returns the server secret called name, making it (size random
// bytes) on first use. It is kept in the database so that it outlives
// restarts and is shared by every process on the same database.
func (db *DB) Secret(ctx context.Context, name string, size int) ([]byte, error) {
	var v []byte
	err := db.reader.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: secret %s: %w", name, err)
	}
	// Two openers racing both insert; the first wins and both read it.
	if _, err := db.writer.ExecContext(ctx, `INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`,
		name, randomBytes(size)); err != nil {
		return nil, fmt.Errorf("store: secret %s: %w", name, err)
	}
	if err := db.writer.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v); err != nil {
		return nil, fmt.Errorf("store: secret %s: %w", name, err)
	}
	return v, nil
}

// Backup writes a consistent copy of the database at src to the new file
// dst with SQLite's VACUUM INTO. It reads one snapshot of the database, so
// it is safe while a server is writing to it (WAL mode); dst must not
// exist. The copy is a complete database: opened with Open, it holds the
// same documents, logs and snapshots.
func Backup(ctx context.Context, src, dst string) error {
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	// Not query_only: VACUUM INTO counts as a write to that pragma,
	// although it changes nothing in src.
	conn, err := sql.Open("sqlite", dsn(src, false))
	if err != nil {
		return fmt.Errorf("store: backup %s: %w", src, err)
	}
	defer conn.Close()
	var n int
	// A missing source would otherwise be created empty and backed up.
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		return fmt.Errorf("store: backup %s: not a Tandem database: %w", src, err)
	}
	if _, err := conn.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		return fmt.Errorf("store: backup %s into %s: %w", src, dst, err)
	}
	return nil
}
