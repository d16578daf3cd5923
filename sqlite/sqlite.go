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
	"sync"
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
	rdb *sql.DB // readers (WAL allows many)
	wdb *sql.DB // the single writer connection
	// Prepared statements of the hot path, by query text: preparing costs
	// more than running these small queries.
	rstmts, wstmts sync.Map
	path           string // of the database file
	ops            chan op
	sync           *syncer
	// finishCheckpoint asks the writer to checkpoint what the background
	// checkpoint left (see checkpointer).
	finishCheckpoint chan struct{}
	finishFrames     int
	done             chan struct{}
	now              func() time.Time
	// gens are the generation counters as the open transaction sees them,
	// when gensKnown. Only the writer goroutine touches them.
	gens      [2]int64
	gensKnown bool
	// next is the log index the writer's open transaction appends next, or
	// -1 when it must be read (at the start of every transaction: another
	// process may have appended). Only the writer goroutine touches it.
	next int64
}

// The writer's page cache, in KiB as SQLite takes it (negative). Small while
// serving: lookups append to the ends of a few B-trees, and every page the
// cache holds is resident memory, which this kind of virtual machine makes
// expensive (fresh pages fault in through the hypervisor, and its memory
// monitor samples resident pages every 500 ms, stalling the process each
// time; see docs/BENCHMARKS.md). An import, which touches B-trees keyed by
// hashes all over, raises it for its own transaction (importCache).
const (
	writerCache = "-8192"   // 8 MiB
	importCache = "-262144" // 256 MiB
)

type op struct {
	fn    func(*sql.Tx) error
	errc  chan error
	alone bool
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
		q.Add("_pragma", "synchronous(FULL)") // the writer's is NORMAL: see durable.go
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "journal_size_limit(67108864)") // the WAL shrinks back to 64 MiB after a checkpoint
		return "file:" + path + "?" + q.Encode() + extra
	}
	// Checkpoints of the WAL into the database file run off the commit path
	// (see checkpointer), so a commit never waits for one, and neither does
	// it wait for the disk: the syncer makes commits durable (durable.go).
	wdb, err := sql.Open("sqlite", dsn("&_txlock=immediate&_pragma=cache_size("+writerCache+")&_pragma=wal_autocheckpoint(0)&_pragma=synchronous(NORMAL)"))
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
	s := &Store{rdb: rdb, wdb: wdb, path: path, ops: make(chan op, 1024), sync: newSyncer(path), finishCheckpoint: make(chan struct{}, 1), finishFrames: finishFrames, done: make(chan struct{}), now: now}
	if err := s.sync.syncWAL(); err != nil { // the migrations' commits
		rdb.Close()
		wdb.Close()
		return nil, fmt.Errorf("open sqlite: sync: %w", err)
	}
	for _, q := range writeStatements {
		if _, err := prepared(wdb, &s.wstmts, q); err != nil {
			rdb.Close()
			wdb.Close()
			return nil, fmt.Errorf("open sqlite: prepare: %w", err)
		}
	}
	go s.sync.run()
	go s.writer()
	go s.checkpointer()
	return s, nil
}

// checkpointInterval is how often the WAL is copied back into the database.
const checkpointInterval = time.Second

// finishFrames is the WAL length (in pages) from which a checkpoint that
// could not catch up with the writer is finished by the writer.
const finishFrames = 8192 // 32 MiB of 4 KiB pages

// checkpointer copies the WAL into the database file in the background
// (PASSIVE: it never blocks the writer or readers). SQLite starts the WAL
// again from its beginning only in a write transaction that begins with
// every frame copied, which under steady load never happens by itself: the
// WAL would grow for as long as the load lasts, and every sync of a growing
// file costs a journal commit. So once the WAL is long, the writer finishes
// the checkpoint between two transactions (a short pause: the background
// pass did most of the copying).
func (s *Store) checkpointer() {
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		s.checkpoint()
	}
}

func (s *Store) checkpoint() {
	var busy, frames, copied int
	if err := s.rdb.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied); err != nil {
		return
	}
	// Even a complete checkpoint restarts nothing while the writer keeps a
	// transaction open across it: the WAL starts again only for a
	// transaction that begins with every frame copied.
	if frames >= s.finishFrames {
		// The pages just copied are still only in the kernel's cache; the
		// writer's pass would wait for them (25-60 ms at 3,000 lookups/s)
		// when SQLite syncs the database file. Sync them here instead, so
		// the writer's pause is its own few pages (about 5 ms).
		if err := syncFile(s.path); err != nil {
			return // the next round tries again
		}
		select {
		case s.finishCheckpoint <- struct{}{}:
		default:
		}
	}
}

// Close stops the writer and closes the database.
func (s *Store) Close() error {
	close(s.ops)
	<-s.done
	for _, c := range []*sync.Map{&s.rstmts, &s.wstmts} {
		c.Range(func(_, st any) bool { st.(*sql.Stmt).Close(); return true })
	}
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

// write runs fn in a write transaction shared with other waiting writes
// (group commit), and returns once the batch is on disk (durable.go): fn's
// changes are durable when write returns nil. If any fn of a batch fails,
// the batch is rolled back and each fn is run again in a transaction of its
// own, so one failure never takes others with it; fn must therefore be safe
// to run twice.
func (s *Store) write(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.submit(ctx, op{fn: fn, errc: make(chan error, 1)})
}

// writeAlone runs fn in a transaction of its own, never batched or re-run
// (for an import, whose fn consumes a stream).
func (s *Store) writeAlone(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.submit(ctx, op{fn: fn, errc: make(chan error, 1), alone: true})
}

func (s *Store) submit(ctx context.Context, o op) error {
	select {
	case s.ops <- o:
	case <-ctx.Done():
		return ctx.Err()
	}
	// Wait for the outcome even if ctx ends: the caller must know whether it committed.
	return <-o.errc
}

// writer runs every write. It keeps one transaction open and adds waiting
// writes to it while the syncer makes the previous batch durable, and
// commits when the syncer is free (or the batch is full): each fdatasync
// then settles one large batch, and the writer never waits for the disk.
// If a write fails, its batch is rolled back and each of its writes run
// again alone, so that only the failing ones fail.
func (s *Store) writer() {
	defer func() {
		close(s.sync.stop)
		<-s.sync.stopped
		close(s.done)
	}()
	var (
		tx    *sql.Tx
		batch []op
		busy  bool // the syncer has a batch of ours
		ops   = s.ops
	)
	// settle answers ops that ran in one transaction: at once if it failed
	// (nothing of theirs committed), or through the syncer once it is on disk.
	settle := func(ops []op, err error) {
		if err != nil {
			for _, o := range ops {
				o.errc <- err
			}
			return
		}
		s.sync.acknowledge(ops)
		busy = true
	}
	commit := func() {
		err := tx.Commit()
		if err != nil {
			err = fmt.Errorf("commit: %w", err)
		}
		settle(batch, err)
		tx, batch = nil, nil
	}
	for ops != nil || tx != nil {
		if tx != nil && (!busy || len(batch) >= maxBatch || ops == nil) {
			commit()
			continue
		}
		select {
		case <-s.sync.ready:
			busy = false
		case <-s.finishCheckpoint:
			if tx != nil {
				commit()
			}
			s.wdb.Exec(`PRAGMA wal_checkpoint(PASSIVE)`) // best effort: the next one tries again
		case o, ok := <-ops:
			if !ok {
				ops = nil
				continue
			}
			if o.alone {
				if tx != nil {
					commit()
				}
				settle([]op{o}, s.runTx(o))
				continue
			}
			if tx == nil {
				var err error
				if tx, err = s.begin(); err != nil {
					o.errc <- err
					continue
				}
			}
			if err := o.fn(tx); err != nil {
				tx.Rollback()
				tx = nil
				for _, o := range append(batch, o) {
					settle([]op{o}, s.runTx(o))
				}
				batch = nil
				continue
			}
			batch = append(batch, o)
		}
	}
}

// begin starts the writer's transaction.
func (s *Store) begin() (*sql.Tx, error) {
	select {
	case <-s.sync.failed:
		return nil, s.sync.fail
	default:
	}
	s.next, s.gensKnown = -1, false
	tx, err := s.wdb.Begin()
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	return tx, nil
}

// runTx runs one op in a transaction of its own and commits it.
func (s *Store) runTx(o op) error {
	tx, err := s.begin()
	if err != nil {
		return err
	}
	if err := o.fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// prepared returns the statement for q on db, preparing it once.
func prepared(db *sql.DB, cache *sync.Map, q string) (*sql.Stmt, error) {
	if st, ok := cache.Load(q); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := db.Prepare(q)
	if err != nil {
		return nil, err
	}
	if prev, loaded := cache.LoadOrStore(q, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// rquery runs a prepared read query.
func (s *Store) rquery(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := prepared(s.rdb, &s.rstmts, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// rrow runs a prepared single-row read query.
func (s *Store) rrow(ctx context.Context, q string, args ...any) scanner {
	st, err := prepared(s.rdb, &s.rstmts, q)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

type errRow struct{ err error }

func (e errRow) Scan(...any) error { return e.err }

// Hot statements of the writer, prepared at Open: the single writer
// connection is busy inside a transaction, so they cannot be prepared later.
var writeStatements = []string{
	qNextIndex, qInsertEntry, qInsertLookup, qInsertReview, qGenerations,
}

// texec runs a statement inside the writer's transaction, prepared if it is
// one of writeStatements.
func (s *Store) texec(tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	if st, ok := s.wstmts.Load(q); ok {
		return tx.Stmt(st.(*sql.Stmt)).Exec(args...)
	}
	return tx.Exec(q, args...)
}

// trow runs a single-row query inside the writer's transaction.
func (s *Store) trow(tx *sql.Tx, q string, args ...any) scanner {
	if st, ok := s.wstmts.Load(q); ok {
		return tx.Stmt(st.(*sql.Stmt)).QueryRow(args...)
	}
	return tx.QueryRow(q, args...)
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

const (
	qNextIndex   = `SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries`
	qInsertEntry = `INSERT INTO log_entries(idx, body, leaf_hash) VALUES (?, ?, ?)`
)

// appendEntry appends one log entry inside tx, stamped with the store's
// clock, and returns its index.
func (s *Store) appendEntry(tx *sql.Tx, kind string, data any) (uint64, error) {
	raw, err := marshal(data)
	if err != nil {
		return 0, fmt.Errorf("append log entry: %w", err)
	}
	p, err := audit.Prepare(audit.Entry{Time: s.now(), Kind: kind, Data: raw})
	if err != nil {
		return 0, fmt.Errorf("append log entry: %w", err)
	}
	return s.appendPrepared(tx, p)
}

// appendPrepared appends an entry encoded outside the transaction: inside,
// only the index is assigned and the leaf hashed.
func (s *Store) appendPrepared(tx *sql.Tx, p audit.Prepared) (uint64, error) {
	if s.next < 0 {
		if err := s.trow(tx, qNextIndex).Scan(&s.next); err != nil {
			return 0, fmt.Errorf("append log entry: %w", err)
		}
	}
	next := uint64(s.next)
	body, err := p.Body(next)
	if err != nil {
		return 0, fmt.Errorf("append log entry: %w", err)
	}
	if _, err := s.texec(tx, qInsertEntry, next, body, audit.LeafHash(body)); err != nil {
		return 0, fmt.Errorf("append log entry: %w", err)
	}
	s.next++
	return next, nil
}
