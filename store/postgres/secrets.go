package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Secret returns the server secret called name, making it (size random
// bytes) on first use. It is kept in the database, so every process on it
// shares it.
func (db *DB) Secret(ctx context.Context, name string, size int) ([]byte, error) {
	var v []byte
	err := db.pool.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("store: secret %s: %w", name, err)
	}
	fresh := make([]byte, size)
	rand.Read(fresh)
	// Two processes racing both insert; the first wins (the second's
	// insert waits for it to commit, then does nothing) and both read it.
	// Separate statements: under READ COMMITTED the SELECT's snapshot is
	// taken after the insert, so it sees the winner's row.
	if _, err := db.pool.Exec(ctx, `INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
		name, fresh); err != nil {
		return nil, fmt.Errorf("store: secret %s: %w", name, err)
	}
	if err := db.pool.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&v); err != nil {
		return nil, fmt.Errorf("store: secret %s: %w", name, err)
	}
	return v, nil
}
