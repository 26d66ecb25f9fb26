package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a Tandem database. It is safe for concurrent use; Close it when done.
//
// It holds two pools on the same file. Every write goes through writer,
// which has exactly one connection, so the process never has two write
// transactions competing for SQLite's single write lock (which would turn
// into busy waits and, for deferred transactions, SQLITE_BUSY errors that
// busy_timeout cannot fix). Its transactions start with BEGIN IMMEDIATE so
// that another process writing the same file is waited for at BEGIN, not
// discovered halfway. Reads go through reader, a pool of several
// connections: in WAL mode they run alongside the writer and each sees the
// last committed state.
type DB struct {
	writer *sql.DB
	reader *sql.DB
	// c queues Appends for the committer goroutine, which runs them in
	// shared transactions through writer (see commit.go).
	c *committer
	// health is how the committer's last batch ended (health.go).
	health commitHealth
	// now is the clock for created/updated times; tests replace it.
	now func() time.Time
	// app holds the committer's statements, prepared once on writer's
	// single connection and reused by every batch (preparing them per
	// transaction cost about a tenth of a busy server's CPU).
	app *appendStmts
}

// Durability is what an acknowledged write survives.
type Durability int

const (
	// Power (the default): every commit is fsynced (synchronous=FULL); a
	// write that returned survives kill -9 and a power cut.
	Power Durability = iota
	// Process: commits reach the operating system but are fsynced only at
	// checkpoints (synchronous=NORMAL in WAL mode); a write that returned
	// survives the process being killed, not the machine losing power or
	// crashing, which may take the last commits with it.
	Process
)

// ParseDurability reads "power" or "process".
func ParseDurability(s string) (Durability, error) {
	switch s {
	case "power":
		return Power, nil
	case "process":
		return Process, nil
	}
	return 0, fmt.Errorf("durability %q: want power or process", s)
}

func (d Durability) String() string {
	if d == Process {
		return "process"
	}
	return "power"
}

// Options configure Open; the zero value is the default.
type Options struct {
	Durability Durability
}

// Open opens the database at path, creating the file and its parent
// directory if missing, and applies any pending migrations.
func Open(ctx context.Context, path string) (*DB, error) {
	return OpenWith(ctx, path, Options{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, path string, o Options) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("store: open %s: %w", path, err)
		}
	}
	writer, err := sql.Open("sqlite", dsnWith(path, false, o.Durability))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	if err := migrate(ctx, writer); err != nil {
		writer.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	reader, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	reader.SetMaxOpenConns(n)
	reader.SetMaxIdleConns(n)
	db := &DB{writer: writer, reader: reader, c: newCommitter(), now: time.Now}
	if db.app, err = prepareAppend(ctx, writer); err != nil {
		writer.Close()
		reader.Close()
		return nil, fmt.Errorf("store: open %s: prepare: %w", path, err)
	}
	// The committer goroutine: it runs every Append and ends in Close.
	go db.commitLoop()
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return db, nil
}

// dsn builds the connection string. The pragmas are per connection, so they
// go here rather than through one Exec on the pool, which would configure
// only whichever connection ran it.
//
// synchronous=FULL (Power): an acknowledged edit must survive power loss.
// With WAL, NORMAL (Process) only syncs at checkpoints and can lose the last
// commits to a power cut, not to a killed process; FULL syncs the WAL on
// every commit.
func dsn(path string, readOnly bool) string { return dsnWith(path, readOnly, Power) }

func dsnWith(path string, readOnly bool, d Durability) string {
	sync := "FULL"
	if d == Process {
		sync = "NORMAL"
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+sync+")")
	q.Add("_pragma", "foreign_keys(1)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		// The committer's transactions touch a few pages of every busy
		// document; with SQLite's default 2 MiB page cache a transaction
		// for hundreds of documents spills pages to the log one system call
		// at a time before it commits. 64 MiB keeps them in memory until
		// the commit, and fewer, larger checkpoints copy each hot page once.
		q.Add("_pragma", "cache_size(-65536)")
		q.Add("_pragma", "wal_autocheckpoint(10000)")
		// Savepoints keep the pages they change in a sub-journal: in
		// memory, not a temporary file written a page at a time.
		q.Add("_pragma", "temp_store(MEMORY)")
		q.Set("_txlock", "immediate")
	}
	u := url.URL{Scheme: "file", Opaque: (&url.URL{Path: path}).EscapedPath(), RawQuery: q.Encode()}
	return u.String()
}

// Close stops the committer goroutine, once it has committed and answered
// the Appends already queued (later ones fail), then closes both pools.
// It may be called more than once.
func (db *DB) Close() error {
	db.c.stop()
	db.app.close()
	return errors.Join(db.reader.Close(), db.writer.Close())
}

// Ping checks that both pools can reach the database.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.writer.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping writer: %w", err)
	}
	if err := db.reader.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping reader: %w", err)
	}
	return nil
}

// Migration is one embedded schema change, NNNN_name.sql.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// LoadMigrations reads the files migrations/NNNN_name.sql of fsys, ordered
// by number; numbers must be positive and distinct. Both stores keep their
// migrations this way.
func LoadMigrations(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and '_'", base)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: base, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s share a version", ms[i-1].Name, ms[i].Name)
		}
	}
	return ms, nil
}

// schemaMigrations records which migrations a database has had.
const schemaMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version INTEGER PRIMARY KEY,
	applied INTEGER NOT NULL
)`

// migrate applies every migration newer than the recorded version, each in
// its own transaction together with the row that records it. The version is
// read inside the (immediate) transaction, so two processes opening a new
// file at once apply each migration once.
func migrate(ctx context.Context, db *sql.DB) error {
	ms, err := LoadMigrations(migrations)
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	if _, err := db.ExecContext(ctx, schemaMigrations); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range ms {
		if err := applyMigration(ctx, db, m); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return nil
}

func applyMigration(ctx context.Context, db *sql.DB, m Migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied) VALUES (?, ?)`,
		m.Version, time.Now().UnixNano()); err != nil {
		return err
	}
	return tx.Commit()
}

// isConstraint reports whether err is a primary-key or unique violation.
func isConstraint(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return true
	}
	return false
}

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }
