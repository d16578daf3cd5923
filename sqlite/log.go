package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/audit"
)

var _ audit.Store = (*Store)(nil)

func marshal(v any) (json.RawMessage, error) {
	if raw, ok := v.(json.RawMessage); ok {
		return raw, nil
	}
	return json.Marshal(v)
}

// SequencedSize returns the number of appended log entries.
func (s *Store) SequencedSize(ctx context.Context) (uint64, error) {
	var n uint64
	if err := s.rdb.QueryRowContext(ctx, `SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries`).Scan(&n); err != nil {
		return 0, fmt.Errorf("log size: %w", err)
	}
	return n, nil
}

// Entries returns up to n stored entries from the first index >= from.
func (s *Store) Entries(ctx context.Context, from uint64, n int) ([]audit.StoredEntry, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT idx, body, leaf_hash FROM log_entries WHERE idx >= ? ORDER BY idx LIMIT ?`, from, n)
	if err != nil {
		return nil, fmt.Errorf("read log entries: %w", err)
	}
	defer rows.Close()
	out := make([]audit.StoredEntry, 0, n)
	for rows.Next() {
		var e audit.StoredEntry
		if err := rows.Scan(&e.Index, &e.Body, &e.LeafHash); err != nil {
			return nil, fmt.Errorf("read log entries: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// IntegratedState returns the integrated tree size and its compact range.
func (s *Store) IntegratedState(ctx context.Context) (uint64, [][]byte, error) {
	var size uint64
	var rng []byte
	err := s.rdb.QueryRowContext(ctx, `SELECT size, rng FROM log_state WHERE id = 1`).Scan(&size, &rng)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("log state: %w", err)
	}
	return size, splitHashes(rng), nil
}

func splitHashes(b []byte) [][]byte {
	out := make([][]byte, 0, len(b)/32)
	for len(b) >= 32 {
		out = append(out, b[:32:32])
		b = b[32:]
	}
	return out
}

// Integrate records a newly integrated tree state, its tile-level nodes and
// its signed checkpoint, provided nobody integrated past oldSize meanwhile.
func (s *Store) Integrate(ctx context.Context, oldSize, newSize uint64, rng [][]byte, nodes []audit.Node, checkpoint []byte) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var cur uint64
		err := tx.QueryRow(`SELECT size FROM log_state WHERE id = 1`).Scan(&cur)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("integrate: %w", err)
		}
		if cur != oldSize {
			return custodian.Errorf(custodian.EConflict, "log integrated to %d meanwhile, not %d", cur, oldSize)
		}
		flat := []byte{} // an empty tree has an empty range, not NULL
		for _, h := range rng {
			flat = append(flat, h...)
		}
		if _, err := tx.Exec(`INSERT INTO log_state(id, size, rng) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET size = excluded.size, rng = excluded.rng`, newSize, flat); err != nil {
			return fmt.Errorf("integrate: %w", err)
		}
		stmt, err := tx.Prepare(`INSERT OR REPLACE INTO log_nodes(level, idx, hash) VALUES (?, ?, ?)`)
		if err != nil {
			return fmt.Errorf("integrate: %w", err)
		}
		defer stmt.Close()
		for _, n := range nodes {
			if _, err := stmt.Exec(n.Level, n.Index, n.Hash); err != nil {
				return fmt.Errorf("integrate: %w", err)
			}
		}
		if _, err := tx.Exec(`INSERT OR REPLACE INTO log_checkpoints(size, note, created_at) VALUES (?, ?, ?)`, newSize, checkpoint, ts(s.now())); err != nil {
			return fmt.Errorf("integrate: %w", err)
		}
		return nil
	})
}

// NodeHashes returns stored hashes at a tile level, indices [from, from+n).
func (s *Store) NodeHashes(ctx context.Context, level uint, from uint64, n int) ([][]byte, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT hash FROM log_nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx`, level, from, from+uint64(n))
	if err != nil {
		return nil, fmt.Errorf("read log nodes: %w", err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			return nil, fmt.Errorf("read log nodes: %w", err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// LatestCheckpoint returns the signed checkpoint of the largest integrated
// tree, once it is on disk: a published checkpoint must never be lost.
func (s *Store) LatestCheckpoint(ctx context.Context) ([]byte, error) {
	var note []byte
	err := s.rdb.QueryRowContext(ctx, `SELECT note FROM log_checkpoints ORDER BY size DESC LIMIT 1`).Scan(&note)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("checkpoint")
	}
	if err != nil {
		return nil, fmt.Errorf("latest checkpoint: %w", err)
	}
	if err := s.wait(ctx); err != nil {
		return nil, fmt.Errorf("latest checkpoint: %w", err)
	}
	return note, nil
}
