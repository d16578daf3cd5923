package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/custodian-project/custodian"
)

// SaveMatchModel stores a trained match model as the current one and logs
// its hash in the same transaction. It returns the model's version (1, 2,
// …) and log index.
func (s *Store) SaveMatchModel(ctx context.Context, hash string, model []byte, entry func(version int64) any) (int64, uint64, error) {
	var seq int64
	var idx uint64
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRow(`SELECT COALESCE(MAX(seq), 0) + 1 FROM match_models`).Scan(&seq); err != nil {
			return err
		}
		var err error
		if idx, err = s.appendEntry(tx, "match_model", entry(seq)); err != nil {
			return err
		}
		if _, err := tx.Exec(`INSERT INTO match_models(seq, hash, model, created_at, log_index) VALUES (?, ?, ?, ?, ?)`,
			seq, hash, model, ts(s.now()), idx); err != nil {
			return err
		}
		return s.bump(tx, "generation")
	})
	if err != nil {
		return 0, 0, fmt.Errorf("save match model: %w", err)
	}
	return seq, idx, nil
}

// CurrentMatchModel returns the newest match model's version, hash and
// JSON, or a custodian.ENotFound error when none was trained.
func (s *Store) CurrentMatchModel(ctx context.Context) (int64, string, []byte, error) {
	var seq int64
	var hash string
	var model []byte
	err := s.rdb.QueryRowContext(ctx, `SELECT seq, hash, model FROM match_models ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash, &model)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil, custodian.Errorf(custodian.ENotFound, "no match model has been trained (run custodian match train)")
	}
	if err != nil {
		return 0, "", nil, fmt.Errorf("current match model: %w", err)
	}
	return seq, hash, model, nil
}

// MatchModelVersion returns the current match model's version, 0 before
// the first training.
func (s *Store) MatchModelVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM match_models`).Scan(&v); err != nil {
		return 0, fmt.Errorf("match model version: %w", err)
	}
	return v, nil
}
