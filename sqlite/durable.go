package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Durability off the writer's path.
//
// The writer commits with synchronous=NORMAL: a commit writes its frames to
// the WAL file but does not wait for the disk. The syncer then makes the WAL
// durable with one fdatasync, and only then is a write's caller told that
// it committed. An fdatasync covers every frame written to the file before
// it began, whichever connection or process wrote it, so one call settles
// every batch committed meanwhile while the writer goes on with the next.
// Nothing is acknowledged, and so nothing released, before its batch and
// everything committed before it are on disk: the same promise as
// synchronous=FULL, without the fsync inside the write lock.
//
// If an fdatasync fails, the kernel may already have dropped the pages it
// could not write, so a retry proves nothing: the store stops accepting
// writes until it is reopened (SQLite then recovers from what the WAL holds).

// durable is one request to the syncer: acknowledge ops (or, with none,
// answer done) once everything committed before it was sent is on disk.
type durable struct {
	ops  []op
	done chan error
}

// syncer owns the WAL's file descriptor and the sticky failure.
type syncer struct {
	wal  string // path of the -wal file
	f    *os.File
	fi   os.FileInfo // f's, to notice a replaced WAL
	reqs chan durable
	// fail is set by the syncer goroutine, and failed closed after it, so
	// the writer can refuse batches once the disk has failed.
	fail   error
	failed chan struct{}
	// ready tells the writer the syncer has nothing left to do, so the
	// writer's open batch should be committed now.
	ready chan struct{}
	// stop asks run to settle what is queued and return; stopped says it has.
	stop, stopped chan struct{}
	// syncFn makes the WAL durable: syncWAL, or a test's stand-in.
	syncFn func() error
}

func newSyncer(dbPath string) *syncer {
	y := &syncer{
		wal:    dbPath + "-wal",
		reqs:   make(chan durable, 1024),
		failed: make(chan struct{}),
		ready:  make(chan struct{}, 1),
		stop:   make(chan struct{}), stopped: make(chan struct{}),
	}
	y.syncFn = y.syncWAL
	return y
}

// run serves requests until stop is closed. Requests that arrive while an
// fdatasync runs are settled together by the next one.
func (y *syncer) run() {
	defer close(y.stopped)
	defer func() {
		if y.f != nil {
			y.f.Close()
		}
	}()
	for {
		var batch []durable
		select {
		case r := <-y.reqs:
			batch = append(batch, r)
		case <-y.stop:
		}
	drain:
		for {
			select {
			case r := <-y.reqs:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		if len(batch) == 0 {
			return // stopped, and nothing left to settle
		}
		err := y.sync()
		for _, r := range batch {
			for _, o := range r.ops {
				o.errc <- err
			}
			if r.done != nil {
				r.done <- err
			}
		}
		if len(y.reqs) == 0 {
			select {
			case y.ready <- struct{}{}:
			default:
			}
		}
	}
}

// errNotDurable is what a caller sees when its commit could not be made
// durable. The write may be visible in the database until the process
// restarts, but nobody was told it happened, so nothing was released on it.
var errNotDurable = errors.New("store: the write-ahead log could not be synced to disk; the store refuses writes until it is reopened")

func (y *syncer) sync() error {
	if y.fail != nil {
		return y.fail
	}
	if err := y.syncFn(); err != nil {
		y.fail = fmt.Errorf("%w: %v", errNotDurable, err)
		close(y.failed)
		return y.fail
	}
	return nil
}

// syncWAL fdatasyncs the WAL file, first (re)opening it if it is not the
// file now at its path (SQLite deletes the WAL when its last connection to
// the database closes, possibly in another process, and creates a new one).
func (y *syncer) syncWAL() error {
	st, err := os.Stat(y.wal)
	if errors.Is(err, os.ErrNotExist) {
		// No WAL: every commit is in the database file, which SQLite
		// synced when it checkpointed and removed the WAL.
		return nil
	}
	if err != nil {
		return err
	}
	if y.f == nil || !os.SameFile(st, y.fi) {
		if y.f != nil {
			y.f.Close()
			y.f = nil
		}
		f, err := os.Open(y.wal)
		if err != nil {
			return err
		}
		// The WAL's directory entry must be durable too (SQLite syncs the
		// directory of a new WAL only in synchronous=FULL).
		if err := syncFile(filepath.Dir(y.wal)); err != nil {
			f.Close()
			return err
		}
		y.f, y.fi = f, st
	}
	return fdatasync(y.f)
}

// syncFile fsyncs the file or directory at path.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// acknowledge hands committed ops to the syncer, which answers them once
// their batch is on disk.
func (y *syncer) acknowledge(ops []op) {
	y.reqs <- durable{ops: ops}
}

// wait returns once everything committed before the call is on disk. A read
// whose result leaves the process (a released value, a published checkpoint)
// waits for it: the commit it read may be visible and not yet durable.
func (s *Store) wait(ctx context.Context) error {
	d := durable{done: make(chan error, 1)}
	select {
	case s.sync.reqs <- d:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return errors.New("store: closed")
	}
	select {
	case err := <-d.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return errors.New("store: closed")
	}
}
