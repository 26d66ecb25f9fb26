package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// nowMillis is the database's clock in milliseconds, the unit of
// leases.expires.
const nowMillis = `(extract(epoch from clock_timestamp()) * 1000)::bigint`

// TakeLease gives the document's lease to owner for ttl (by the database's
// clock) if no one holds it, it has expired, or owner holds it already
// (which renews it). It returns the holder afterwards: owner if it was
// taken, another process's id otherwise.
func (db *DB) TakeLease(ctx context.Context, doc, owner string, ttl time.Duration) (string, error) {
	var holder string
	err := db.pool.QueryRow(ctx, `
		INSERT INTO leases (doc, owner, expires) VALUES ($1, $2, `+nowMillis+` + $3)
		ON CONFLICT (doc) DO UPDATE SET owner = excluded.owner, expires = excluded.expires
		WHERE leases.expires < `+nowMillis+` OR leases.owner = excluded.owner
		RETURNING owner`, doc, owner, ttl.Milliseconds()).Scan(&holder)
	if errors.Is(err, pgx.ErrNoRows) {
		// Held by another process, unexpired: say whose. (Released in
		// between: report it free by trying again later.)
		err = db.pool.QueryRow(ctx, `SELECT owner FROM leases WHERE doc = $1`, doc).Scan(&holder)
		if errors.Is(err, pgx.ErrNoRows) {
			return "", fmt.Errorf("store: take lease %s: released meanwhile; try again", doc)
		}
	}
	if err != nil {
		return "", fmt.Errorf("store: take lease %s: %w", doc, err)
	}
	return holder, nil
}

// RenewLeases extends by ttl the leases of docs that owner holds and that
// have not expired, in one statement, and returns the documents renewed;
// the others were lost.
func (db *DB) RenewLeases(ctx context.Context, owner string, docs []string, ttl time.Duration) ([]string, error) {
	rows, err := db.pool.Query(ctx, `
		UPDATE leases SET expires = `+nowMillis+` + $3
		WHERE owner = $1 AND doc = ANY($2) AND expires >= `+nowMillis+`
		RETURNING doc`, owner, docs, ttl.Milliseconds())
	if err != nil {
		return nil, fmt.Errorf("store: renew leases: %w", err)
	}
	kept, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("store: renew leases: %w", err)
	}
	return kept, nil
}

// ReleaseLease gives up owner's lease of the document, if owner holds it.
func (db *DB) ReleaseLease(ctx context.Context, doc, owner string) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM leases WHERE doc = $1 AND owner = $2`, doc, owner); err != nil {
		return fmt.Errorf("store: release lease %s: %w", doc, err)
	}
	return nil
}
