package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/custodian-project/custodian"
)

// bulkRequest is what a job's request column keeps.
type bulkRequest struct {
	Purpose    string                `json:"purpose"`
	LegalBasis *custodian.LegalBasis `json:"legal_basis,omitempty"`
	Fields     []string              `json:"fields"`
}

// bulkRow is a stored row: the row with the record it was verified to.
type bulkRow struct {
	custodian.BulkRow
	Record string `json:"record_id,omitempty"`
}

// CreateBulkJob stores a queued job with its uploaded file and logs its
// submission in the same transaction; it sets j.LogIndex.
func (s *Store) CreateBulkJob(ctx context.Context, j *custodian.BulkJob, input []byte, entry any) error {
	req, err := json.Marshal(bulkRequest{j.Purpose, j.LegalBasis, j.Fields})
	if err != nil {
		return fmt.Errorf("create bulk job: %w", err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		idx, err := s.appendEntry(tx, "bulk", entry)
		if err != nil {
			return err
		}
		j.LogIndex = idx
		_, err = tx.Exec(`INSERT INTO bulk_jobs(id, agency_id, request, state, total, done, file_sha256, input, created_at, log_index)
			VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?)`, j.ID, j.AgencyID, string(req), string(j.State), j.Total, j.FileSHA256, input, ts(j.CreatedAt), idx)
		return err
	})
	if err != nil {
		return fmt.Errorf("create bulk job: %w", err)
	}
	return nil
}

// BulkJob returns a job (custodian.ENotFound when there is none).
func (s *Store) BulkJob(ctx context.Context, id string) (custodian.BulkJob, error) {
	var j custodian.BulkJob
	var req, state, created string
	var summary, errMsg, finished sql.NullString
	err := s.rdb.QueryRowContext(ctx, `SELECT id, agency_id, request, state, total, done, file_sha256, summary, error, created_at, finished_at, log_index
		FROM bulk_jobs WHERE id = ?`, id).Scan(&j.ID, &j.AgencyID, &req, &state, &j.Total, &j.Done, &j.FileSHA256, &summary, &errMsg, &created, &finished, &j.LogIndex)
	if errors.Is(err, sql.ErrNoRows) {
		return j, custodian.Errorf(custodian.ENotFound, "no such bulk job")
	}
	if err != nil {
		return j, fmt.Errorf("bulk job: %w", err)
	}
	var r bulkRequest
	if err := json.Unmarshal([]byte(req), &r); err != nil {
		return j, fmt.Errorf("bulk job %s: %w", id, err)
	}
	j.Purpose, j.LegalBasis, j.Fields = r.Purpose, r.LegalBasis, r.Fields
	j.State, j.Error, j.CreatedAt = custodian.BulkState(state), errMsg.String, parseTS(created)
	if finished.Valid {
		t := parseTS(finished.String)
		j.FinishedAt = &t
	}
	if summary.Valid {
		j.Summary = &custodian.BulkSummary{}
		if err := json.Unmarshal([]byte(summary.String), j.Summary); err != nil {
			return j, fmt.Errorf("bulk job %s: %w", id, err)
		}
	}
	return j, nil
}

// UnfinishedBulkJobs lists the queued and running jobs, oldest first.
func (s *Store) UnfinishedBulkJobs(ctx context.Context) ([]string, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id FROM bulk_jobs WHERE state IN (?, ?) ORDER BY created_at, id`,
		string(custodian.BulkQueued), string(custodian.BulkRunning))
	if err != nil {
		return nil, fmt.Errorf("unfinished bulk jobs: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("unfinished bulk jobs: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// BulkInput returns a job's uploaded file.
func (s *Store) BulkInput(ctx context.Context, id string) ([]byte, error) {
	var b []byte
	if err := s.rdb.QueryRowContext(ctx, `SELECT input FROM bulk_jobs WHERE id = ?`, id).Scan(&b); err != nil {
		return nil, fmt.Errorf("bulk input: %w", err)
	}
	return b, nil
}

// SaveBulkRows stores the decisions of rows from, from+1, … of a running
// job, moves its progress, and logs entry, in one transaction checked
// against the generations the rows were decided with (custodian.ErrStale:
// nothing stored). from must be the job's progress.
func (s *Store) SaveBulkRows(ctx context.Context, id string, from int, rows []custodian.BulkRow, entry any, rulesGen, registryGen int64) error {
	enc := make([][]byte, len(rows))
	for i, r := range rows {
		b, err := json.Marshal(bulkRow{r, r.RecordID})
		if err != nil {
			return fmt.Errorf("save bulk rows: %w", err)
		}
		enc[i] = b
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := s.checkJobGenerations(tx, id, from, rulesGen, registryGen); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE bulk_jobs SET done = ?, state = ?, rules_gen = ?, registry_gen = ? WHERE id = ?`,
			from+len(rows), string(custodian.BulkRunning), rulesGen, registryGen, id); err != nil {
			return err
		}
		for i, b := range enc {
			if _, err := tx.Exec(`INSERT INTO bulk_rows(job_id, seq, row) VALUES (?, ?, ?)`, id, from+i, string(b)); err != nil {
				return err
			}
		}
		_, err := s.appendEntry(tx, "bulk", entry)
		return err
	})
	if err != nil {
		return fmt.Errorf("save bulk rows: %w", err)
	}
	return nil
}

// checkJobGenerations fails with custodian.ErrStale unless the rules and
// registry generations are still rulesGen and registryGen, and (past the
// first row) the job's earlier rows were decided under the same ones; with
// a conflict error unless the job is unfinished at row from.
func (s *Store) checkJobGenerations(tx *sql.Tx, id string, from int, rulesGen, registryGen int64) error {
	var done int
	var state string
	var rg, gg sql.NullInt64
	if err := tx.QueryRow(`SELECT done, state, rules_gen, registry_gen FROM bulk_jobs WHERE id = ?`, id).Scan(&done, &state, &rg, &gg); err != nil {
		return err
	}
	if done != from || (state != string(custodian.BulkQueued) && state != string(custodian.BulkRunning)) {
		return custodian.Errorf(custodian.EConflict, "bulk job %s is %s at row %d, not at row %d", id, state, done, from)
	}
	if from > 0 && (rg.Int64 != rulesGen || gg.Int64 != registryGen) {
		return custodian.ErrStale
	}
	return s.checkGenerations(tx, rulesGen, registryGen)
}

// RestartBulkJob drops a job's decided rows, so that it is decided again
// from its first row (the rules changed while it ran).
func (s *Store) RestartBulkJob(ctx context.Context, id string, entry any) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DELETE FROM bulk_rows WHERE job_id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE bulk_jobs SET done = 0, state = ?, rules_gen = NULL, registry_gen = NULL WHERE id = ?`, string(custodian.BulkQueued), id); err != nil {
			return err
		}
		_, err := s.appendEntry(tx, "bulk", entry)
		return err
	})
	if err != nil {
		return fmt.Errorf("restart bulk job: %w", err)
	}
	return nil
}

// FinishBulkJob ends a job in state (done, awaiting review or failed) with
// its summary, drops the uploaded file, and logs entry, in one transaction
// checked against the generations (custodian.ErrStale: nothing changed).
// A failed job's rows are deleted: nothing of it can ever be read.
func (s *Store) FinishBulkJob(ctx context.Context, id string, state custodian.BulkState, summary *custodian.BulkSummary, errMsg string, entry any, rulesGen, registryGen int64, now time.Time) error {
	var sum any
	if summary != nil {
		b, err := json.Marshal(summary)
		if err != nil {
			return fmt.Errorf("finish bulk job: %w", err)
		}
		sum = string(b)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		if state != custodian.BulkFailed {
			var total int
			if err := tx.QueryRow(`SELECT total FROM bulk_jobs WHERE id = ?`, id).Scan(&total); err != nil {
				return err
			}
			if err := s.checkJobGenerations(tx, id, total, rulesGen, registryGen); err != nil {
				return err
			}
		} else if _, err := tx.Exec(`DELETE FROM bulk_rows WHERE job_id = ?`, id); err != nil {
			return err
		}
		var msg any
		if errMsg != "" {
			msg = errMsg
		}
		if _, err := tx.Exec(`UPDATE bulk_jobs SET state = ?, summary = ?, error = ?, finished_at = ?, input = X'' WHERE id = ?`,
			string(state), sum, msg, ts(now), id); err != nil {
			return err
		}
		_, err := s.appendEntry(tx, "bulk", entry)
		return err
	})
	if err != nil {
		return fmt.Errorf("finish bulk job: %w", err)
	}
	return nil
}

// BulkRows calls fn with every decided row of a job, in file order.
func (s *Store) BulkRows(ctx context.Context, id string, fn func(custodian.BulkRow) error) error {
	rows, err := s.rdb.QueryContext(ctx, `SELECT row FROM bulk_rows WHERE job_id = ? ORDER BY seq`, id)
	if err != nil {
		return fmt.Errorf("bulk rows: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return fmt.Errorf("bulk rows: %w", err)
		}
		var r bulkRow
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			return fmt.Errorf("bulk rows: %w", err)
		}
		r.BulkRow.RecordID = r.Record
		if err := fn(r.BulkRow); err != nil {
			return err
		}
	}
	return rows.Err()
}
