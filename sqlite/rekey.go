package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/custodian-project/custodian"
)

// KeyVersion returns the version of the blocking keys the registry's
// records are stored under ("" for a registry never keyed, or keyed before
// versions were recorded).
func (s *Store) KeyVersion(ctx context.Context) (string, error) {
	var v string
	err := s.rdb.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'key_version'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("key version: %w", err)
	}
	return v, nil
}

// RekeyRecords replaces every record's blocking keys with keys(record), in
// one transaction that also records version as the registry's key version
// and appends entry to the log (unless the registry is empty): a change of
// match standard re-indexes the whole registry or nothing.
func (s *Store) RekeyRecords(ctx context.Context, version string, keys func(custodian.Record) []string, entry func(n int) any) (int, uint64, error) {
	var n int
	var idx uint64
	err := s.writeAlone(ctx, func(tx *sql.Tx) error {
		n = 0
		if _, err := tx.Exec(`DELETE FROM record_keys`); err != nil {
			return err
		}
		rows, err := tx.Query(`SELECT record_id, data FROM records`)
		if err != nil {
			return err
		}
		type rekeyed struct {
			id   string
			keys []string
		}
		var all []rekeyed
		for rows.Next() {
			var rec custodian.Record
			var data []byte
			if err := rows.Scan(&rec.ID, &data); err != nil {
				rows.Close()
				return err
			}
			if err := json.Unmarshal(data, &rec.Values); err != nil {
				rows.Close()
				return fmt.Errorf("record %s: %w", rec.ID, err)
			}
			all = append(all, rekeyed{rec.ID, keys(rec)})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var pairs []keyPair
		ids := make([]string, len(all))
		for i, r := range all {
			ids[i] = r.id
			for _, k := range r.keys {
				pairs = append(pairs, keyPair{keyHash(k), uint32(i)})
			}
			n++
		}
		if err := insertKeys(tx, pairs, ids); err != nil {
			return err
		}
		if _, err := tx.Exec(`INSERT INTO meta(key, value) VALUES ('key_version', ?)
			ON CONFLICT(key) DO UPDATE SET value = excluded.value`, version); err != nil {
			return err
		}
		if err := s.bump(tx, "registry_generation"); err != nil {
			return err
		}
		if n == 0 {
			return nil // an empty registry: nothing was re-keyed, nothing to log
		}
		idx, err = s.appendEntry(tx, "rekey", entry(n))
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("rekey registry: %w", err)
	}
	return n, idx, nil
}
