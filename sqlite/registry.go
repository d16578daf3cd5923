package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/custodian-project/custodian"
)

// ImportRecords inserts or updates (by record id) every record next yields
// until io.EOF, with the blocking keys that keys gives, and appends the log
// entry entry describes — all in one transaction: an error from next, keys
// or the database leaves the registry as it was.
func (s *Store) ImportRecords(ctx context.Context, fields []string, next func() (custodian.Record, error), keys func(custodian.Record) []string, entry func(n int) any) (int, uint64, error) {
	var n int
	var idx uint64
	err := s.writeAlone(ctx, func(tx *sql.Tx) error {
		n = 0
		var pos int
		if err := tx.QueryRow(`SELECT COALESCE(MAX(position) + 1, 0) FROM registry_fields`).Scan(&pos); err != nil {
			return err
		}
		for _, f := range fields {
			res, err := tx.Exec(`INSERT INTO registry_fields(name, position) VALUES (?, ?) ON CONFLICT(name) DO NOTHING`, f, pos)
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k > 0 {
				pos++
			}
		}
		insert, err := tx.Prepare(`INSERT INTO records(record_id, data, keys, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(record_id) DO NOTHING`)
		if err != nil {
			return err
		}
		defer insert.Close()
		addKey, err := tx.Prepare(`INSERT OR IGNORE INTO record_keys(key, record_id) VALUES (?, ?)`)
		if err != nil {
			return err
		}
		defer addKey.Close()
		now := ts(s.now())
		for {
			rec, err := next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			data, err := json.Marshal(rec.Values)
			if err != nil {
				return err
			}
			ks := keys(rec)
			res, err := insert.Exec(rec.ID, data, strings.Join(ks, " "), now)
			if err != nil {
				return err
			}
			if added, _ := res.RowsAffected(); added == 0 {
				// Re-import of a known record: update it in place.
				if ks, err = updateRecord(tx, rec, keys, now); err != nil {
					return err
				}
			}
			for _, k := range ks {
				if _, err := addKey.Exec(k, rec.ID); err != nil {
					return err
				}
			}
			n++
		}
		if err := bumpGeneration(tx); err != nil {
			return err
		}
		idx, err = s.appendEntry(tx, "import", entry(n))
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("import registry: %w", err)
	}
	return n, idx, nil
}

// updateRecord merges rec's values into the stored record, drops its old
// blocking keys and returns the merged record's keys (for the caller to add).
func updateRecord(tx *sql.Tx, rec custodian.Record, keys func(custodian.Record) []string, now string) ([]string, error) {
	var data []byte
	var oldKeys string
	if err := tx.QueryRow(`SELECT data, keys FROM records WHERE record_id = ?`, rec.ID).Scan(&data, &oldKeys); err != nil {
		return nil, err
	}
	merged := map[string]string{}
	if err := json.Unmarshal(data, &merged); err != nil {
		return nil, err
	}
	for k, v := range rec.Values {
		merged[k] = v
	}
	rec.Values = merged
	ks := keys(rec)
	if data, err := json.Marshal(merged); err != nil {
		return nil, err
	} else if _, err := tx.Exec(`UPDATE records SET data = ?, keys = ?, updated_at = ? WHERE record_id = ?`, data, strings.Join(ks, " "), now, rec.ID); err != nil {
		return nil, err
	}
	for _, k := range strings.Fields(oldKeys) {
		if _, err := tx.Exec(`DELETE FROM record_keys WHERE key = ? AND record_id = ?`, k, rec.ID); err != nil {
			return nil, err
		}
	}
	return ks, nil
}

// RegistryFields returns the registry's columns in the order first imported.
func (s *Store) RegistryFields(ctx context.Context) ([]string, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT name FROM registry_fields ORDER BY position`)
	if err != nil {
		return nil, fmt.Errorf("registry fields: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			return nil, fmt.Errorf("registry fields: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// RecordCount returns how many records the registry holds.
func (s *Store) RecordCount(ctx context.Context) (int, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM records`).Scan(&n)
	return n, err
}

// Candidates returns the records stored under any of the blocking keys,
// each once, and the generation (see Generation) of the snapshot the first
// key was read in: one read serves both, on the hot path of every lookup.
func (s *Store) Candidates(ctx context.Context, keys []string) ([]custodian.Record, int64, error) {
	var out []custodian.Record
	gen := int64(-1)
	seen := map[string]bool{}
	for _, k := range keys {
		rows, err := s.rquery(ctx, qCandidates, k)
		if err != nil {
			return nil, 0, fmt.Errorf("candidates: %w", err)
		}
		for rows.Next() {
			var g int64
			var id sql.NullString
			var data []byte
			if err := rows.Scan(&g, &id, &data); err != nil {
				rows.Close()
				return nil, 0, fmt.Errorf("candidates: %w", err)
			}
			if gen < 0 {
				gen = g
			}
			if !id.Valid || seen[id.String] {
				continue
			}
			seen[id.String] = true
			rec := custodian.Record{ID: id.String, Values: map[string]string{}}
			if err := json.Unmarshal(data, &rec.Values); err != nil {
				rows.Close()
				return nil, 0, fmt.Errorf("candidates: %w", err)
			}
			out = append(out, rec)
		}
		if err := rows.Close(); err != nil {
			return nil, 0, fmt.Errorf("candidates: %w", err)
		}
		if err := rows.Err(); err != nil {
			return nil, 0, fmt.Errorf("candidates: %w", err)
		}
	}
	if gen < 0 {
		g, err := s.Generation(ctx)
		if err != nil {
			return nil, 0, err
		}
		gen = g
	}
	return out, gen, nil
}

// qCandidates always returns at least one row, carrying the generation;
// record columns are NULL when no record is stored under the key.
const qCandidates = `SELECT g.gen, r.record_id, r.data
	FROM (SELECT ` + qGenerationExpr + ` AS gen) g
	LEFT JOIN (record_keys k JOIN records r ON r.record_id = k.record_id) ON k.key = ?`

// Record returns one registry record.
func (s *Store) Record(ctx context.Context, id string) (custodian.Record, error) {
	rec, err := scanRecord(s.rdb.QueryRowContext(ctx, `SELECT record_id, data FROM records WHERE record_id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return rec, notFound("record")
	}
	return rec, err
}

type scanner interface{ Scan(...any) error }

func scanRecord(sc scanner) (custodian.Record, error) {
	var rec custodian.Record
	var data []byte
	if err := sc.Scan(&rec.ID, &data); err != nil {
		return rec, err
	}
	rec.Values = map[string]string{}
	return rec, json.Unmarshal(data, &rec.Values)
}
