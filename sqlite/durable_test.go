package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/custodian-project/custodian"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "c.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func block(id string) custodian.Block {
	return custodian.Block{ID: id, Kind: custodian.BlockField, Target: "street", Order: "O-1", CreatedAt: time.Now()}
}

// A write is acknowledged only after the WAL holding it has been synced.
func TestWriteWaitsForSync(t *testing.T) {
	s := openTest(t)
	gate := make(chan struct{})
	synced := make(chan struct{}, 16)
	s.sync.syncFn = func() error { // set before any write: the syncer reads it after one
		<-gate
		err := s.sync.syncWAL()
		synced <- struct{}{}
		return err
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.CreateBlock(context.Background(), block("blk_1"), map[string]string{"k": "v"})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the write returned (err %v) before its sync ran", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	select {
	case <-synced:
	default:
		t.Fatal("the write returned without a sync having finished")
	}
}

// A failed sync fails the writes it covered, and every write after it,
// until the store is reopened; reads that release data fail too.
func TestSyncFailureIsSticky(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.db")
	s, err := Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.CreateBlock(ctx, block("blk_ok"), map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	fail := true
	s.sync.syncFn = func() error {
		if fail {
			return errors.New("input/output error")
		}
		return nil
	}
	if _, err := s.CreateBlock(ctx, block("blk_1"), map[string]string{"k": "v"}); !errors.Is(err, errNotDurable) {
		t.Fatalf("write over a failed sync: got %v, want errNotDurable", err)
	}
	fail = false // the disk "recovers": the store must still refuse
	if _, err := s.CreateBlock(ctx, block("blk_2"), map[string]string{"k": "v"}); !errors.Is(err, errNotDurable) {
		t.Fatalf("write after a failed sync: got %v, want errNotDurable", err)
	}
	if err := s.wait(ctx); !errors.Is(err, errNotDurable) {
		t.Fatalf("a read waiting for durability: got %v, want errNotDurable", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopened, the store accepts writes again.
	s, err = Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.CreateBlock(ctx, block("blk_3"), map[string]string{"k": "v"}); err != nil {
		t.Fatalf("write after reopening: %v", err)
	}
}

// The syncer follows the WAL when SQLite replaces it, and a missing WAL
// (everything checkpointed) is nothing to sync.
func TestSyncFollowsWAL(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if _, err := s.CreateBlock(ctx, block("blk_1"), map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	first := s.sync.fi
	if first == nil {
		t.Fatal("the syncer has not opened the WAL")
	}
	// Simulate SQLite removing the WAL and creating a new one.
	if err := os.Rename(s.sync.wal, s.sync.wal+".old"); err != nil {
		t.Fatal(err)
	}
	if err := s.sync.syncWAL(); err != nil {
		t.Fatalf("sync with no WAL: %v", err)
	}
	if err := os.WriteFile(s.sync.wal+".new", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(s.sync.wal+".new", s.sync.wal); err != nil {
		t.Fatal(err)
	}
	if err := s.sync.syncWAL(); err != nil {
		t.Fatal(err)
	}
	if os.SameFile(s.sync.fi, first) {
		t.Fatal("the syncer still holds the replaced WAL")
	}
	// Put the real WAL back before the store is closed.
	if err := os.Rename(s.sync.wal+".old", s.sync.wal); err != nil {
		t.Fatal(err)
	}
}

// Under a steady stream of writes the WAL still starts again from its
// beginning after a checkpoint (the writer finishes what the background
// pass could not), so it does not grow for as long as the load lasts.
func TestWALRestartsUnderLoad(t *testing.T) {
	s := openTest(t)
	s.finishFrames = 1 // finish at any length, not only at 32 MiB
	ctx := context.Background()
	seq := func() uint32 { // the WAL header's checkpoint sequence number
		b, err := os.ReadFile(s.sync.wal)
		if err != nil || len(b) < 16 {
			t.Fatalf("read WAL header: %v", err)
		}
		return binary.BigEndian.Uint32(b[12:16])
	}
	stop := make(chan struct{})
	errc := make(chan error, 4)
	for w := 0; w < 4; w++ {
		go func(w int) {
			for i := 0; ; i++ {
				select {
				case <-stop:
					errc <- nil
					return
				default:
				}
				if _, err := s.CreateBlock(ctx, block(fmt.Sprintf("blk_%d_%d", w, i)), map[string]string{"k": "v"}); err != nil {
					errc <- err
					return
				}
			}
		}(w)
	}
	time.Sleep(100 * time.Millisecond)
	before := seq()
	for i := 0; i < 3; i++ {
		s.checkpoint()
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	for w := 0; w < 4; w++ {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	if after := seq(); after == before {
		t.Fatalf("the WAL never restarted under load (checkpoint sequence stays %d)", before)
	}
}

// The writer leaves syncing to the syncer; readers keep SQLite's default.
func TestSynchronousModes(t *testing.T) {
	s := openTest(t)
	for name, db := range map[string]interface {
		QueryRow(string, ...any) *sql.Row
	}{"writer": s.wdb, "reader": s.rdb} {
		var mode int
		if err := db.QueryRow(`PRAGMA synchronous`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if want := map[string]int{"writer": 1, "reader": 2}[name]; mode != want {
			t.Errorf("%s: synchronous = %d, want %d", name, mode, want)
		}
	}
}

// An import runs with the large page cache and leaves the writer with the
// small serving one, whether it succeeds or fails.
func TestImportCacheIsTemporary(t *testing.T) {
	s := openTest(t)
	cache := func() string {
		var kib string
		if err := s.wdb.QueryRow(`PRAGMA cache_size`).Scan(&kib); err != nil {
			t.Fatal(err)
		}
		return kib
	}
	if got := cache(); got != writerCache {
		t.Fatalf("serving cache_size = %s, want %s", got, writerCache)
	}
	rows := []custodian.Record{{ID: "R1", Values: map[string]string{"record_id": "R1", "last_name": "Lee"}}}
	next := func(fail bool) func() (custodian.Record, error) {
		return func() (custodian.Record, error) {
			if len(rows) == 0 {
				if fail {
					return custodian.Record{}, errors.New("malformed row")
				}
				return custodian.Record{}, io.EOF
			}
			r := rows[0]
			rows = rows[1:]
			return r, nil
		}
	}
	keys := func(custodian.Record) []string { return []string{"k"} }
	entry := func(n int) any { return map[string]int{"rows": n} }
	if _, _, err := s.ImportRecords(context.Background(), []string{"record_id", "last_name"}, next(false), keys, entry); err != nil {
		t.Fatal(err)
	}
	if got := cache(); got != writerCache {
		t.Errorf("after an import: cache_size = %s, want %s", got, writerCache)
	}
	if _, _, err := s.ImportRecords(context.Background(), []string{"record_id"}, next(true), keys, entry); err == nil {
		t.Fatal("a failing import succeeded")
	}
	if got := cache(); got != writerCache {
		t.Errorf("after a failed import: cache_size = %s, want %s", got, writerCache)
	}
}
