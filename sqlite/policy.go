package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/custodian-project/custodian"
)

// SavePolicy installs a policy version as current and logs it. Re-applying
// the current text is a no-op that returns the current version.
func (s *Store) SavePolicy(ctx context.Context, hash, text string, entry any) (custodian.PolicyVersion, error) {
	var pv custodian.PolicyVersion
	err := s.write(ctx, func(tx *sql.Tx) error {
		var cur string
		err := tx.QueryRow(`SELECT hash FROM policies ORDER BY seq DESC LIMIT 1`).Scan(&cur)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		now := s.now()
		idx, err := s.appendEntry(tx, "policy", entry)
		if err != nil {
			return err
		}
		// A version seen before becomes current again with a new install order.
		if _, err := tx.Exec(`INSERT INTO policies(hash, text, created_at, log_index, seq)
			VALUES (?, ?, ?, ?, (SELECT COALESCE(MAX(seq) + 1, 1) FROM policies))
			ON CONFLICT(hash) DO UPDATE SET seq = (SELECT MAX(seq) + 1 FROM policies), log_index = excluded.log_index`,
			hash, text, ts(now), idx); err != nil {
			return err
		}
		if err := s.bump(tx, "generation"); err != nil {
			return err
		}
		pv = custodian.PolicyVersion{Hash: hash, Text: text, CreatedAt: now, LogIndex: idx}
		return nil
	})
	if err != nil {
		return pv, fmt.Errorf("save policy: %w", err)
	}
	return pv, nil
}

// CurrentPolicy returns the installed policy version.
func (s *Store) CurrentPolicy(ctx context.Context) (custodian.PolicyVersion, error) {
	var pv custodian.PolicyVersion
	var created string
	err := s.rdb.QueryRowContext(ctx, `SELECT hash, text, created_at, log_index FROM policies ORDER BY seq DESC LIMIT 1`).
		Scan(&pv.Hash, &pv.Text, &created, &pv.LogIndex)
	if errors.Is(err, sql.ErrNoRows) {
		return pv, custodian.Errorf(custodian.ENotFound, "no policy installed")
	}
	if err != nil {
		return pv, fmt.Errorf("current policy: %w", err)
	}
	pv.CreatedAt = parseTS(created)
	return pv, nil
}

// PolicyHistory lists every installed version, newest first (without text).
func (s *Store) PolicyHistory(ctx context.Context) ([]custodian.PolicyVersion, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT hash, created_at, log_index FROM policies ORDER BY seq DESC`)
	if err != nil {
		return nil, fmt.Errorf("policy history: %w", err)
	}
	defer rows.Close()
	var out []custodian.PolicyVersion
	for rows.Next() {
		var pv custodian.PolicyVersion
		var created string
		if err := rows.Scan(&pv.Hash, &created, &pv.LogIndex); err != nil {
			return nil, err
		}
		pv.CreatedAt = parseTS(created)
		out = append(out, pv)
	}
	return out, rows.Err()
}

// Generations returns two numbers: rules changes whenever the policy, the
// blocks, the agencies or the registry's columns change; registry whenever
// the registry's records do. A server compares them on every request so that
// a change made by another process holds from the next request on.
func (s *Store) Generations(ctx context.Context) (rules, registry int64, err error) {
	err = s.rrow(ctx, qGenerations).Scan(&rules, &registry)
	if err != nil {
		return 0, 0, fmt.Errorf("generation: %w", err)
	}
	return rules, registry, nil
}

// StoreID returns the store's random identity, which lasts as long as the
// store does.
func (s *Store) StoreID(ctx context.Context) (string, error) {
	var id string
	if err := s.rrow(ctx, `SELECT value FROM meta WHERE key = 'store_id'`).Scan(&id); err != nil {
		return "", fmt.Errorf("store id: %w", err)
	}
	return id, nil
}

const qGenerations = `SELECT ` + qGenerationExpr + `, ` + qRegistryGenerationExpr

const (
	qGenerationExpr         = `COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'generation'), 0)`
	qRegistryGenerationExpr = `COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'registry_generation'), 0)`
)

// bump moves a generation inside the writer's transaction to a new random
// value. Generations are only ever compared for equality, and a counter
// would come back to a value it had: a store restored from a backup and
// changed once more would read as the generation a server's cached rules
// or a prepared registry were made at, though they hold what the backup
// lacks.
func (s *Store) bump(tx *sql.Tx, key string) error {
	s.gensKnown = false
	_, err := tx.Exec(`INSERT INTO meta(key, value) VALUES (?, CAST(random() & 9223372036854775807 AS TEXT))
		ON CONFLICT(key) DO UPDATE SET value = CAST(random() & 9223372036854775807 AS TEXT)`, key)
	return err
}

// checkGenerations fails with custodian.ErrStale unless the generations are
// still rules and registry (registry < 0: any) in the writer's transaction,
// where no other process can change them until it commits.
func (s *Store) checkGenerations(tx *sql.Tx, rules, registry int64) error {
	if !s.gensKnown {
		if err := s.trow(tx, qGenerations).Scan(&s.gens[0], &s.gens[1]); err != nil {
			return err
		}
		s.gensKnown = true
	}
	if s.gens[0] != rules || (registry >= 0 && s.gens[1] != registry) {
		return custodian.ErrStale
	}
	return nil
}
