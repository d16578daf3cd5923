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

// BulkJobIDs lists the jobs in any of the states, oldest first.
func (s *Store) BulkJobIDs(ctx context.Context, states ...custodian.BulkState) ([]string, error) {
	var ids []string
	for _, st := range states {
		rows, err := s.rdb.QueryContext(ctx, `SELECT id FROM bulk_jobs WHERE state = ? ORDER BY created_at, id`, string(st))
		if err != nil {
			return nil, fmt.Errorf("bulk jobs: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("bulk jobs: %w", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("bulk jobs: %w", err)
		}
	}
	return ids, nil
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

// RestartBulkJob drops a job's decided rows and its reviews, so that it is
// decided again from its first row (the rules changed while it ran, or
// before its review was settled).
func (s *Store) RestartBulkJob(ctx context.Context, id string, entry any) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		// Only a job that nothing has been read of: a finished or failed
		// job stays as it is (another process may have restarted and
		// finished it meanwhile).
		var state string
		if err := tx.QueryRow(`SELECT state FROM bulk_jobs WHERE id = ?`, id).Scan(&state); err != nil {
			return err
		}
		if state == string(custodian.BulkDone) || state == string(custodian.BulkFailed) {
			return custodian.Errorf(custodian.EConflict, "bulk job %s is %s", id, state)
		}
		if _, err := tx.Exec(`DELETE FROM bulk_rows WHERE job_id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(`DELETE FROM bulk_reviews WHERE job_id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE bulk_jobs SET done = 0, state = ?, rules_gen = NULL, registry_gen = NULL, summary = NULL WHERE id = ?`, string(custodian.BulkQueued), id); err != nil {
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
// its summary, drops the uploaded file (unless the job awaits review), and
// logs entry, in one transaction
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
		} else {
			var cur string
			if err := tx.QueryRow(`SELECT state FROM bulk_jobs WHERE id = ?`, id).Scan(&cur); err != nil {
				return err
			}
			if cur == string(custodian.BulkDone) || cur == string(custodian.BulkFailed) {
				return custodian.Errorf(custodian.EConflict, "bulk job %s is already %s", id, cur)
			}
			if _, err := tx.Exec(`DELETE FROM bulk_rows WHERE job_id = ?`, id); err != nil {
				return err
			}
		}
		var msg any
		if errMsg != "" {
			msg = errMsg
		}
		// The file goes once nothing can need it again: a job awaiting
		// review is decided again from it if the rules change first.
		if _, err := tx.Exec(`UPDATE bulk_jobs SET state = ?, summary = ?, error = ?, finished_at = ?,
			input = CASE WHEN ? THEN input ELSE X'' END WHERE id = ?`,
			string(state), sum, msg, ts(now), state == custodian.BulkReview, id); err != nil {
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

// BulkRows calls fn with every decided row of a job, in file order. It
// first waits until everything committed is on disk (the rows are about to
// leave the process), and reads a page of rows at a time, holding no
// connection while fn runs (fn may be writing to a slow client).
func (s *Store) BulkRows(ctx context.Context, id string, fn func(custodian.BulkRow) error) error {
	if err := s.wait(ctx); err != nil {
		return fmt.Errorf("bulk rows: %w", err)
	}
	for next := 0; ; {
		page, err := s.bulkRowsPage(ctx, id, next)
		if err != nil {
			return fmt.Errorf("bulk rows: %w", err)
		}
		if len(page) == 0 {
			return nil
		}
		for _, r := range page {
			if err := fn(r); err != nil {
				return err
			}
		}
		next += len(page)
	}
}

// bulkRowsPage is the job's rows from seq from on, at most bulkPage.
func (s *Store) bulkRowsPage(ctx context.Context, id string, from int) ([]custodian.BulkRow, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT row FROM bulk_rows WHERE job_id = ? AND seq >= ? ORDER BY seq LIMIT ?`, id, from, bulkPage)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []custodian.BulkRow
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, err
		}
		var r bulkRow
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			return nil, err
		}
		r.BulkRow.RecordID = r.Record
		out = append(out, r.BulkRow)
	}
	return out, rows.Err()
}

// bulkPage is how many rows BulkRows reads at a time.
const bulkPage = 1000

// DecideBulkJob records a reviewer's decision on a job awaiting review,
// with its log entry, in one transaction checked against the generations
// the job was decided under (custodian.ErrStale: nothing recorded). A
// reviewer decides a job once. A denial, or an approval by a second
// reviewer after another's, settles the job: settle is called with the
// rows that hold fields and their records, may change the rows, and the job
// is done with the summary summarize gives. entry builds the log entry
// from whether the job was settled and the settled rows.
func (s *Store) DecideBulkJob(ctx context.Context, id, reviewer string, approve bool, reason string, rulesGen, registryGen int64,
	settle func([]custodian.BulkRow, []custodian.Record) error,
	summarize func(*custodian.BulkSummary, []custodian.BulkRow) *custodian.BulkSummary,
	entry func(settled bool, rows []custodian.BulkRow) any) (bool, error) {
	var settled bool
	err := s.write(ctx, func(tx *sql.Tx) error {
		settled = false
		var state string
		var rg, gg sql.NullInt64
		var summary sql.NullString
		if err := tx.QueryRow(`SELECT state, rules_gen, registry_gen, summary FROM bulk_jobs WHERE id = ?`, id).Scan(&state, &rg, &gg, &summary); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return custodian.Errorf(custodian.ENotFound, "no such bulk job")
			}
			return err
		}
		if state != string(custodian.BulkReview) {
			return custodian.Errorf(custodian.EConflict, "the job is %s, not awaiting review", state)
		}
		if rg.Int64 != rulesGen || gg.Int64 != registryGen {
			return custodian.ErrStale
		}
		if err := s.checkGenerations(tx, rulesGen, registryGen); err != nil {
			return err
		}
		var approvals, mine int
		if err := tx.QueryRow(`SELECT COALESCE(SUM(approve), 0), COALESCE(SUM(reviewer = ?), 0) FROM bulk_reviews WHERE job_id = ?`, reviewer, id).Scan(&approvals, &mine); err != nil {
			return err
		}
		if mine > 0 {
			return custodian.Errorf(custodian.EConflict, "%s has already decided this job; a different reviewer must", custodian.EchoName(reviewer))
		}
		if _, err := tx.Exec(`INSERT INTO bulk_reviews(job_id, reviewer, approve, reason, decided_at) VALUES (?, ?, ?, ?, ?)`,
			id, reviewer, approve, reason, ts(s.now())); err != nil {
			return err
		}
		var rows []custodian.BulkRow
		if settled = !approve || approvals >= 1; settled {
			var err error
			if rows, err = s.settleBulkRows(tx, id, settle); err != nil {
				return err
			}
			sum := &custodian.BulkSummary{}
			if summary.Valid {
				if err := json.Unmarshal([]byte(summary.String), sum); err != nil {
					return err
				}
			}
			b, err := json.Marshal(summarize(sum, rows))
			if err != nil {
				return err
			}
			if _, err := tx.Exec(`UPDATE bulk_jobs SET state = ?, summary = ?, finished_at = ?, input = X'' WHERE id = ?`,
				string(custodian.BulkDone), string(b), ts(s.now()), id); err != nil {
				return err
			}
		}
		_, err := s.appendEntry(tx, "bulk", entry(settled, rows))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("decide bulk job: %w", err)
	}
	return settled, nil
}

// settleBulkRows calls settle with every row of a job that holds fields,
// and their records, and stores the rows as settle leaves them.
func (s *Store) settleBulkRows(tx *sql.Tx, id string, settle func([]custodian.BulkRow, []custodian.Record) error) ([]custodian.BulkRow, error) {
	q, err := tx.Query(`SELECT seq, row FROM bulk_rows WHERE job_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, err
	}
	type held struct {
		seq int
		row bulkRow
	}
	var all []held
	for q.Next() {
		var h held
		var raw string
		if err := q.Scan(&h.seq, &raw); err != nil {
			q.Close()
			return nil, err
		}
		if err := json.Unmarshal([]byte(raw), &h.row); err != nil {
			q.Close()
			return nil, err
		}
		if len(h.row.Pending) > 0 {
			all = append(all, h)
		}
	}
	q.Close()
	if err := q.Err(); err != nil {
		return nil, err
	}
	rows := make([]custodian.BulkRow, len(all))
	recs := make([]custodian.Record, len(all))
	for i, h := range all {
		rows[i] = h.row.BulkRow
		rows[i].RecordID = h.row.Record
		if h.row.Record == "" {
			continue
		}
		var data []byte
		err := tx.QueryRow(`SELECT data FROM records WHERE record_id = ?`, h.row.Record).Scan(&data)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		recs[i].ID = h.row.Record
		if len(data) > 0 {
			if err := json.Unmarshal(data, &recs[i].Values); err != nil {
				return nil, err
			}
		}
	}
	if err := settle(rows, recs); err != nil {
		return nil, err
	}
	for i, r := range rows {
		b, err := json.Marshal(bulkRow{r, r.RecordID})
		if err != nil {
			return nil, err
		}
		if _, err := tx.Exec(`UPDATE bulk_rows SET row = ? WHERE job_id = ? AND seq = ?`, string(b), id, all[i].seq); err != nil {
			return nil, err
		}
	}
	out := rows
	return out, nil
}
