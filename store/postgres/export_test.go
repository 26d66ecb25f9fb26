package postgres

import (
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandem-editor/tandem/store"
)

// SetClock replaces the store's clock (storetest.Clock).
func SetClock(db *DB, now func() time.Time) { db.now = now }

// Pool returns the store's pool, for tests that look at the tables.
func Pool(db *DB) *pgxpool.Pool { return db.pool }

// MigrationCount is how many migrations the package embeds.
func MigrationCount() (int, error) {
	ms, err := store.LoadMigrations(migrations)
	return len(ms), err
}
