package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/custodian-project/custodian"
)

// CreateBlock puts a block in force and logs it.
func (s *Store) CreateBlock(ctx context.Context, b custodian.Block, entry any) (uint64, error) {
	var idx uint64
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT INTO blocks(id, kind, target, order_ref, created_at) VALUES (?, ?, ?, ?, ?)`,
			b.ID, b.Kind, b.Target, b.Order, ts(b.CreatedAt)); err != nil {
			return err
		}
		if err := s.bump(tx, "generation"); err != nil {
			return err
		}
		var err error
		idx, err = s.appendEntry(tx, "block", entry)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("create block: %w", err)
	}
	return idx, nil
}

// LiftBlock lifts a block in force, citing the lifting order, and logs it.
func (s *Store) LiftBlock(ctx context.Context, id, order string, entry any) (uint64, error) {
	var idx uint64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE blocks SET lifted_at = ?, lift_order = ? WHERE id = ? AND lifted_at IS NULL`, ts(s.now()), order, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("block in force")
		}
		if err := s.bump(tx, "generation"); err != nil {
			return err
		}
		idx, err = s.appendEntry(tx, "block", entry)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("lift block: %w", err)
	}
	return idx, nil
}

// Blocks lists blocks, only those in force when active is true.
func (s *Store) Blocks(ctx context.Context, active bool) ([]custodian.Block, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, kind, target, order_ref, created_at, lifted_at, lift_order FROM blocks
		WHERE (? = 0 OR lifted_at IS NULL) ORDER BY created_at, id`, active)
	if err != nil {
		return nil, fmt.Errorf("blocks: %w", err)
	}
	defer rows.Close()
	var out []custodian.Block
	for rows.Next() {
		var b custodian.Block
		var created string
		var lifted sql.NullString
		if err := rows.Scan(&b.ID, &b.Kind, &b.Target, &b.Order, &created, &lifted, &b.LiftOrder); err != nil {
			return nil, fmt.Errorf("blocks: %w", err)
		}
		b.CreatedAt = parseTS(created)
		b.LiftedAt = parseNullTS(lifted)
		out = append(out, b)
	}
	return out, rows.Err()
}
