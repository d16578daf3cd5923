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
		if _, err := tx.Exec(`PRAGMA cache_size(` + importCache + `)`); err != nil {
			return err
		}
		// Back to the serving size whatever happens: the pages beyond it are freed.
		defer tx.Exec(`PRAGMA cache_size(` + writerCache + `)`)
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
		up, err := prepareUpdates(tx)
		if err != nil {
			return err
		}
		defer up.close()
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
				if ks, err = up.update(rec, keys, now); err != nil {
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
		if err := s.bump(tx, "generation"); err != nil { // the columns may have changed
			return err
		}
		if err := s.bump(tx, "registry_generation"); err != nil {
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

// updates holds the statements of the update path of an import.
type updates struct {
	get, set, delKey *sql.Stmt
}

func prepareUpdates(tx *sql.Tx) (*updates, error) {
	var u updates
	var err error
	if u.get, err = tx.Prepare(`SELECT data, keys FROM records WHERE record_id = ?`); err != nil {
		return nil, err
	}
	if u.set, err = tx.Prepare(`UPDATE records SET data = ?, keys = ?, updated_at = ? WHERE record_id = ?`); err != nil {
		u.close()
		return nil, err
	}
	if u.delKey, err = tx.Prepare(`DELETE FROM record_keys WHERE key = ? AND record_id = ?`); err != nil {
		u.close()
		return nil, err
	}
	return &u, nil
}

func (u *updates) close() {
	for _, st := range []*sql.Stmt{u.get, u.set, u.delKey} {
		if st != nil {
			st.Close()
		}
	}
}

// update merges rec's values into the stored record and replaces its
// blocking keys. It returns the keys the caller must add: none when they
// did not change (an identical re-import writes nothing at all).
func (u *updates) update(rec custodian.Record, keys func(custodian.Record) []string, now string) ([]string, error) {
	var data []byte
	var oldKeys string
	if err := u.get.QueryRow(rec.ID).Scan(&data, &oldKeys); err != nil {
		return nil, err
	}
	merged := map[string]string{}
	if err := json.Unmarshal(data, &merged); err != nil {
		return nil, err
	}
	changed := false
	for k, v := range rec.Values {
		if old, ok := merged[k]; !ok || old != v {
			merged[k], changed = v, true
		}
	}
	if !changed {
		return nil, nil
	}
	rec.Values = merged
	ks := keys(rec)
	joined := strings.Join(ks, " ")
	if data, err := json.Marshal(merged); err != nil {
		return nil, err
	} else if _, err := u.set.Exec(data, joined, now, rec.ID); err != nil {
		return nil, err
	}
	if joined == oldKeys {
		return nil, nil // same blocking keys: nothing to replace
	}
	for _, k := range strings.Fields(oldKeys) {
		if _, err := u.delKey.Exec(k, rec.ID); err != nil {
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

// Candidates returns the records stored under any of the blocking keys,
// each once.
func (s *Store) Candidates(ctx context.Context, keys []string) ([]custodian.Record, error) {
	var out []custodian.Record
	seen := map[string]bool{}
	for _, k := range keys {
		rows, err := s.rquery(ctx, `SELECT r.record_id, r.data FROM record_keys k JOIN records r ON r.record_id = k.record_id WHERE k.key = ?`, k)
		if err != nil {
			return nil, fmt.Errorf("candidates: %w", err)
		}
		for rows.Next() {
			rec, err := scanRecord(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("candidates: %w", err)
			}
			if !seen[rec.ID] {
				seen[rec.ID] = true
				out = append(out, rec)
			}
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("candidates: %w", err)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("candidates: %w", err)
		}
	}
	return out, nil
}

// ScanRecords calls fn with every record's id, stored JSON and blocking
// keys, all from one snapshot, and returns that snapshot's registry
// generation (see Generations).
func (s *Store) ScanRecords(ctx context.Context, fn func(id string, data []byte, keys []string) error) (int64, error) {
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, fmt.Errorf("scan records: %w", err)
	}
	defer tx.Rollback()
	var gen int64
	if err := tx.QueryRowContext(ctx, `SELECT `+qRegistryGenerationExpr).Scan(&gen); err != nil {
		return 0, fmt.Errorf("scan records: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT record_id, data, keys FROM records`)
	if err != nil {
		return 0, fmt.Errorf("scan records: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, keys string
		var data []byte
		if err := rows.Scan(&id, &data, &keys); err != nil {
			return 0, fmt.Errorf("scan records: %w", err)
		}
		if err := fn(id, data, strings.Fields(keys)); err != nil {
			return 0, err
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("scan records: %w", err)
	}
	return gen, nil
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
