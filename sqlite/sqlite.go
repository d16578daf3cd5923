// Package sqlite is custodian's embedded store: the registry, agencies,
// policy history, lookups, reviews, blocks and the Merkle log's entries, in
// one SQLite file (modernc.org/sqlite, no cgo). Every write goes through one
// writer goroutine that commits waiting writes together (group commit), so
// each log entry is durable in the same transaction as the state it records.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/audit"

	_ "modernc.org/sqlite"
)

//go:embed migrations/*.sql
var migrations embed.FS

// maxBatch bounds how many waiting writes share one transaction.
const maxBatch = 128

// Store is the SQLite store. It is safe for concurrent use.
type Store struct {
	rdb  *sql.DB // readers (WAL allows many)
	wdb  *sql.DB // the single writer connection
	ops  chan op
	done chan struct{}
	now  func() time.Time
}

type op struct {
	fn   func(*sql.Tx) error
	errc chan error
}

// Open opens (creating if needed) the database at path and applies pending
// migrations. now is the clock used for stored timestamps.
func Open(ctx context.Context, path string, now func() time.Time) (*Store, error) {
	if now == nil {
		now = time.Now
	}
	dsn := func(extra string) string {
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(FULL)")
		q.Add("_pragma", "foreign_keys(1)")
		return "file:" + path + "?" + q.Encode() + extra
	}
	// The writer gets a large page cache: imports touch B-trees keyed by hashes.
	wdb, err := sql.Open("sqlite", dsn("&_txlock=immediate&_pragma=cache_size(-262144)"))
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetConnMaxIdleTime(0)
	if err := migrate(ctx, wdb); err != nil {
		wdb.Close()
		return nil, err
	}
	rdb, err := sql.Open("sqlite", dsn(""))
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	rdb.SetMaxOpenConns(8)
	rdb.SetMaxIdleConns(8)
	s := &Store{rdb: rdb, wdb: wdb, ops: make(chan op, 1024), done: make(chan struct{}), now: now}
	go s.writer()
	return s, nil
}

// Close stops the writer and closes the database.
func (s *Store) Close() error {
	close(s.ops)
	<-s.done
	return errors.Join(s.rdb.Close(), s.wdb.Close())
}

func migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migrate: bad migration name %s", base)
		}
		if err := applyMigration(ctx, db, v, name); err != nil {
			return fmt.Errorf("migrate %s: %w", base, err)
		}
	}
	return nil
}

func applyMigration(ctx context.Context, db *sql.DB, version int, name string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	body, err := migrations.ReadFile(name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)`, version, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return err
	}
	return tx.Commit()
}

// write runs fn in a write transaction shared with other waiting writes. fn's
// changes are committed durably before write returns nil; if fn fails, its
// changes alone are rolled back; if the commit fails, every fn in the batch
// gets the error.
func (s *Store) write(ctx context.Context, fn func(*sql.Tx) error) error {
	o := op{fn: fn, errc: make(chan error, 1)}
	select {
	case s.ops <- o:
	case <-ctx.Done():
		return ctx.Err()
	}
	// Wait for the outcome even if ctx ends: the caller must know whether it committed.
	return <-o.errc
}

func (s *Store) writer() {
	defer close(s.done)
	for first := range s.ops {
		batch := []op{first}
	fill:
		for len(batch) < maxBatch {
			select {
			case o, ok := <-s.ops:
				if !ok {
					break fill
				}
				batch = append(batch, o)
			default:
				break fill
			}
		}
		s.commit(batch)
	}
}

func (s *Store) commit(batch []op) {
	errs := make([]error, len(batch))
	fail := func(err error) {
		for _, o := range batch {
			o.errc <- err
		}
	}
	tx, err := s.wdb.Begin()
	if err != nil {
		fail(fmt.Errorf("begin: %w", err))
		return
	}
	single := len(batch) == 1
	for i, o := range batch {
		if !single {
			if _, err := tx.Exec(`SAVEPOINT op`); err != nil {
				tx.Rollback()
				fail(fmt.Errorf("savepoint: %w", err))
				return
			}
		}
		errs[i] = o.fn(tx)
		if single {
			continue
		}
		if errs[i] != nil {
			if _, err := tx.Exec(`ROLLBACK TO op`); err != nil {
				tx.Rollback()
				fail(fmt.Errorf("rollback to savepoint: %w", err))
				return
			}
		}
		if _, err := tx.Exec(`RELEASE op`); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("release savepoint: %w", err))
			return
		}
	}
	if single && errs[0] != nil {
		tx.Rollback()
		batch[0].errc <- errs[0]
		return
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("commit: %w", err))
		return
	}
	for i, o := range batch {
		o.errc <- errs[i]
	}
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTS(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func parseNullTS(s sql.NullString) *time.Time {
	if !s.Valid {
		return nil
	}
	t := parseTS(s.String)
	return &t
}

func notFound(what string) error {
	return custodian.Errorf(custodian.ENotFound, "%s not found", what)
}

// appendEntry appends one log entry inside tx, filling in its index and
// time, and returns the index.
func (s *Store) appendEntry(tx *sql.Tx, kind string, data any) (uint64, error) {
	var next uint64
	if err := tx.QueryRow(`SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries`).Scan(&next); err != nil {
		return 0, fmt.Errorf("append log entry: %w", err)
	}
	raw, err := marshal(data)
	if err != nil {
		return 0, fmt.Errorf("append log entry: %w", err)
	}
	body, err := audit.Encode(audit.Entry{Index: next, Time: s.now(), Kind: kind, Data: raw})
	if err != nil {
		return 0, fmt.Errorf("append log entry: %w", err)
	}
	if _, err := tx.Exec(`INSERT INTO log_entries(idx, body, leaf_hash) VALUES (?, ?, ?)`, next, body, audit.LeafHash(body)); err != nil {
		return 0, fmt.Errorf("append log entry: %w", err)
	}
	return next, nil
}
