package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"slices"
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
		pairs := make([]keyPair, 0, keyBatch+64) // inserted in batches, in key order
		var ids []string
		inBatch := map[string]struct{}{} // ids whose keys are in pairs
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
			res, err := insert.Exec(rec.ID, data, "", now)
			if err != nil {
				return err
			}
			if added, _ := res.RowsAffected(); added == 0 {
				// Re-import of a known record: update it in place. If the
				// file named it earlier in this batch, its keys are still
				// waiting: insert them first, so the update replaces them.
				if _, ok := inBatch[rec.ID]; ok {
					if err := insertKeys(tx, pairs, ids); err != nil {
						return err
					}
					pairs, ids = pairs[:0], ids[:0]
					clear(inBatch)
				}
				if ks, err = up.update(rec, keys, now); err != nil {
					return err
				}
			}
			if len(ks) > 0 {
				ids = append(ids, rec.ID)
				inBatch[rec.ID] = struct{}{}
			}
			for _, k := range ks {
				pairs = append(pairs, keyPair{keyHash(k), uint32(len(ids) - 1)})
			}
			n++
			if len(pairs) >= keyBatch {
				// Each batch, sorted, sweeps the index once in order; the
				// buffers are reused, not grown again.
				if err := insertKeys(tx, pairs, ids); err != nil {
					return err
				}
				pairs, ids = pairs[:0], ids[:0]
				clear(inBatch)
			}
		}
		if err := insertKeys(tx, pairs, ids); err != nil {
			return err
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
	if u.get, err = tx.Prepare(`SELECT data FROM records WHERE record_id = ?`); err != nil {
		return nil, err
	}
	if u.set, err = tx.Prepare(`UPDATE records SET data = ?, updated_at = ? WHERE record_id = ?`); err != nil {
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
	if err := u.get.QueryRow(rec.ID).Scan(&data); err != nil {
		return nil, err
	}
	old, merged := map[string]string{}, map[string]string{}
	if err := json.Unmarshal(data, &old); err != nil {
		return nil, err
	}
	maps.Copy(merged, old)
	changed := false
	for k, v := range rec.Values {
		if was, ok := merged[k]; !ok || was != v {
			merged[k], changed = v, true
		}
	}
	if !changed {
		return nil, nil
	}
	if data, err := json.Marshal(merged); err != nil {
		return nil, err
	} else if _, err := u.set.Exec(data, now, rec.ID); err != nil {
		return nil, err
	}
	// The keys are not stored with the record: they follow from its values.
	oldKeys := keys(custodian.Record{ID: rec.ID, Values: old})
	ks := keys(custodian.Record{ID: rec.ID, Values: merged})
	if slices.Equal(ks, oldKeys) {
		return nil, nil // same blocking keys: nothing to replace
	}
	for _, k := range oldKeys {
		if _, err := u.delKey.Exec(keyHash(k), rec.ID); err != nil {
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
// each once. Keys shared by more than maxBlock records are left out unless
// the other keys find nobody (see match.Registry's candidates); 0 leaves
// none out.
func (s *Store) Candidates(ctx context.Context, keys []string, maxBlock int) ([]custodian.Record, error) {
	keys, err := s.narrowKeys(ctx, keys, maxBlock)
	if err != nil {
		return nil, fmt.Errorf("candidates: %w", err)
	}
	var out []custodian.Record
	seen := map[string]bool{}
	for _, k := range keys {
		rows, err := s.rquery(ctx, `SELECT r.record_id, r.data FROM record_keys k JOIN records r ON r.record_id = k.record_id WHERE k.key = ?`, keyHash(k))
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

// narrowKeys leaves out the keys shared by more than maxBlock records
// (0: none are left out), unless the other keys find nobody: then the
// narrowest of them is kept.
func (s *Store) narrowKeys(ctx context.Context, keys []string, maxBlock int) ([]string, error) {
	if maxBlock <= 0 {
		return keys, nil
	}
	var out []string
	narrowest, least, found := "", -1, 0
	for _, k := range keys {
		var n int
		if err := s.rrow(ctx, `SELECT count(*) FROM record_keys WHERE key = ?`, keyHash(k)).Scan(&n); err != nil {
			return nil, err
		}
		if n <= maxBlock {
			out = append(out, k)
			found += n
		} else if least < 0 || n < least {
			narrowest, least = k, n
		}
	}
	if found == 0 && least >= 0 {
		out = append(out, narrowest)
	}
	return out, nil
}

// RegistrySizeHint returns at least the number of records (the largest
// row id; updates keep theirs, so it overstates by the records ever
// deleted), without counting them: callers reserve memory with it.
func (s *Store) RegistrySizeHint(ctx context.Context) (int, error) {
	var n sql.NullInt64
	if err := s.rrow(ctx, `SELECT max(rowid) FROM records`).Scan(&n); err != nil {
		return 0, fmt.Errorf("registry size: %w", err)
	}
	return int(n.Int64), nil
}

// ScanRecords calls fn with every record's id and stored JSON, all from
// one snapshot, and returns that snapshot's registry generation (see
// Generations).
func (s *Store) ScanRecords(ctx context.Context, fn func(id string, data []byte) error) (int64, error) {
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, fmt.Errorf("scan records: %w", err)
	}
	defer tx.Rollback()
	var gen int64
	if err := tx.QueryRowContext(ctx, `SELECT `+qRegistryGenerationExpr).Scan(&gen); err != nil {
		return 0, fmt.Errorf("scan records: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT record_id, data FROM records`)
	if err != nil {
		return 0, fmt.Errorf("scan records: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var data []byte
		if err := rows.Scan(&id, &data); err != nil {
			return 0, fmt.Errorf("scan records: %w", err)
		}
		if err := fn(id, data); err != nil {
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

// keyPair is one row of record_keys.
type keyPair struct {
	key    int64  // keyHash of the blocking key
	record uint32 // index of the record's id in the ids insertKeys is given
}

// keyHash is how a blocking key is stored: FNV-1a, 64 bits.
func keyHash(k string) int64 {
	h := fnv.New64a()
	h.Write([]byte(k))
	return int64(h.Sum64())
}

// keyRows is how many rows one insert statement of insertKeys carries;
// keyBatch, how many keys an import sorts and inserts at a time.
const (
	keyRows  = 200
	keyBatch = 1 << 20
)

// insertKeys adds blocking keys in key order, many rows per statement: the
// index then grows at its right edge instead of at a random page for every
// key, which for the several keys of each of a million records is the
// difference between seconds and minutes.
//
// Pairs hold no pointers (a record is an index into ids), so that millions
// of them cost the garbage collector nothing.
func insertKeys(tx *sql.Tx, pairs []keyPair, ids []string) error {
	slices.SortFunc(pairs, func(a, b keyPair) int { return cmp.Compare(a.key, b.key) })
	many, err := tx.Prepare(`INSERT OR IGNORE INTO record_keys(key, record_id) VALUES ` + strings.Repeat("(?, ?), ", keyRows-1) + `(?, ?)`)
	if err != nil {
		return err
	}
	defer many.Close()
	args := make([]any, 0, 2*keyRows)
	for len(pairs) >= keyRows {
		args = args[:0]
		for _, p := range pairs[:keyRows] {
			args = append(args, p.key, ids[p.record])
		}
		if _, err := many.Exec(args...); err != nil {
			return err
		}
		pairs = pairs[keyRows:]
	}
	for _, p := range pairs {
		if _, err := tx.Exec(`INSERT OR IGNORE INTO record_keys(key, record_id) VALUES (?, ?)`, p.key, ids[p.record]); err != nil {
			return err
		}
	}
	return nil
}
