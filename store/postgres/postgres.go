package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tandem-editor/tandem/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a Tandem database on PostgreSQL. It is safe for concurrent use;
// Close it when done.
type DB struct {
	pool *pgxpool.Pool
	// health is the last Append that failed for a reason of the database's
	// (health.go).
	health appendHealth
	// now is the clock for created/updated times; tests replace it.
	now func() time.Time
}

// Open connects to the database at url (postgres://…, or any connection
// string pgx accepts), applies any pending migrations and checks that it
// answers.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The URL may hold a password: pgx's error does not repeat it.
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	where := cfg.ConnConfig.Host + "/" + cfg.ConnConfig.Database
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres %s: %w", where, err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: open postgres %s: %w", where, err)
	}
	return &DB{pool: pool, now: time.Now}, nil
}

// Close closes the pool, waiting for the connections in use to be
// returned. It may be called more than once.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// migrateLock is the key of the advisory lock taken by every migration
// transaction (an arbitrary number: "tandem" in ASCII).
const migrateLock = 0x74616e64656d

// migrate applies every migration not yet recorded in schema_migrations,
// each in its own transaction with the row that records it. Each
// transaction first takes an advisory lock, held until it ends, so that two
// processes opening a new database at once apply each migration once (and
// do not race to create schema_migrations itself).
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	ms, err := store.LoadMigrations(migrations)
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	for _, m := range ms {
		if err := applyMigration(ctx, pool, m); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return nil
}

func applyMigration(ctx context.Context, pool *pgxpool.Pool, m store.Migration) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrateLock)); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version integer PRIMARY KEY,
			applied bigint NOT NULL
		)`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var done bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, m.Version).Scan(&done); err != nil {
			return err
		}
		if done {
			return nil
		}
		// No arguments: pgx sends it as a simple query, which may hold
		// several statements.
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied) VALUES ($1, $2)`, m.Version, time.Now().UnixNano())
		return err
	})
}

// SQLSTATEs the store tells apart.
const (
	uniqueViolation = "23505"
)

// isConstraint reports whether err is a primary-key or unique violation.
func isConstraint(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == uniqueViolation
}

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }
