package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/custodian-project/custodian"
)

// CreateAgency adds an agency with its hashed key and logs it.
func (s *Store) CreateAgency(ctx context.Context, a custodian.Agency, keyID string, keyHash []byte, entry any) (uint64, error) {
	groups, err := json.Marshal(a.Groups)
	if err != nil {
		return 0, err
	}
	var idx uint64
	err = s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO agencies(id, name, jurisdiction, groups, key_id, key_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.Name, a.Jurisdiction, string(groups), keyID, keyHash, ts(a.CreatedAt))
		if err != nil {
			if isUnique(err) {
				return custodian.FieldError("id", "an agency with this id already exists")
			}
			return err
		}
		if err := s.bump(tx, "generation"); err != nil {
			return err
		}
		idx, err = s.appendEntry(tx, "agency", entry)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("create agency: %w", err)
	}
	return idx, nil
}

// RevokeAgency revokes an agency's key and logs it.
func (s *Store) RevokeAgency(ctx context.Context, id string, entry any) (uint64, error) {
	var idx uint64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE agencies SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, ts(s.now()), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("active agency")
		}
		if err := s.bump(tx, "generation"); err != nil {
			return err
		}
		idx, err = s.appendEntry(tx, "agency", entry)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("revoke agency: %w", err)
	}
	return idx, nil
}

const agencyCols = `id, name, jurisdiction, groups, created_at, revoked_at`

func scanAgency(sc scanner, extra ...any) (custodian.Agency, error) {
	var a custodian.Agency
	var groups, created string
	var revoked sql.NullString
	if err := sc.Scan(append([]any{&a.ID, &a.Name, &a.Jurisdiction, &groups, &created, &revoked}, extra...)...); err != nil {
		return a, err
	}
	a.CreatedAt = parseTS(created)
	a.Revoked = revoked.Valid
	return a, json.Unmarshal([]byte(groups), &a.Groups)
}

// AgencyKeys returns every active agency with its key id and key hash.
func (s *Store) AgencyKeys(ctx context.Context) ([]custodian.AgencyKey, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+agencyCols+`, key_id, key_hash FROM agencies WHERE revoked_at IS NULL`)
	if err != nil {
		return nil, fmt.Errorf("agency keys: %w", err)
	}
	defer rows.Close()
	var out []custodian.AgencyKey
	for rows.Next() {
		var k custodian.AgencyKey
		if k.Agency, err = scanAgency(rows, &k.KeyID, &k.Hash); err != nil {
			return nil, fmt.Errorf("agency keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// Agency returns one agency.
func (s *Store) Agency(ctx context.Context, id string) (custodian.Agency, error) {
	a, err := scanAgency(s.rdb.QueryRowContext(ctx, `SELECT `+agencyCols+` FROM agencies WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, notFound("agency")
	}
	return a, err
}

// Agencies lists every agency by id.
func (s *Store) Agencies(ctx context.Context) ([]custodian.Agency, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+agencyCols+` FROM agencies ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("agencies: %w", err)
	}
	defer rows.Close()
	var out []custodian.Agency
	for rows.Next() {
		a, err := scanAgency(rows)
		if err != nil {
			return nil, fmt.Errorf("agencies: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// CreateStaff adds a staff member (reviewer, administrator) with a hashed key.
func (s *Store) CreateStaff(ctx context.Context, name, role, keyID string, keyHash []byte, entry any) (uint64, error) {
	var idx uint64
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO staff(name, role, key_id, key_hash, created_at) VALUES (?, ?, ?, ?, ?)`, name, role, keyID, keyHash, ts(s.now()))
		if err != nil {
			if isUnique(err) {
				return custodian.FieldError("name", "a staff member with this name already exists")
			}
			return err
		}
		idx, err = s.appendEntry(tx, "staff", entry)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("create staff: %w", err)
	}
	return idx, nil
}

// StaffByKeyID returns the name, role and key hash of an active staff key.
func (s *Store) StaffByKeyID(ctx context.Context, keyID string) (name, role string, hash []byte, err error) {
	err = s.rdb.QueryRowContext(ctx, `SELECT name, role, key_hash FROM staff WHERE key_id = ? AND revoked_at IS NULL`, keyID).Scan(&name, &role, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil, notFound("staff")
	}
	return name, role, hash, err
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}
