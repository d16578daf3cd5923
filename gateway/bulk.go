package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/custodian-project/custodian"
)

// Bulk limits: the uploaded file, its rows, and the rows decided and
// recorded together (one transaction and one log entry each).
const (
	MaxBulkFile = 256 << 20
	MaxBulkRows = 2_000_000
	bulkChunk   = 500
)

// BulkStore is what bulk verification needs from storage.
type BulkStore interface {
	CreateBulkJob(ctx context.Context, j *custodian.BulkJob, input []byte, entry any) error
	BulkJob(ctx context.Context, id string) (custodian.BulkJob, error)
	BulkJobIDs(ctx context.Context, states ...custodian.BulkState) ([]string, error)
	BulkInput(ctx context.Context, id string) ([]byte, error)
	SaveBulkRows(ctx context.Context, id string, from int, rows []custodian.BulkRow, entry any, rulesGen, registryGen int64) error
	RestartBulkJob(ctx context.Context, id string, entry any) error
	FinishBulkJob(ctx context.Context, id string, state custodian.BulkState, summary *custodian.BulkSummary, errMsg string, entry any, rulesGen, registryGen int64, now time.Time) error
	BulkRows(ctx context.Context, id string, fn func(custodian.BulkRow) error) error
	DecideBulkJob(ctx context.Context, id, reviewer string, approve bool, reason string, rulesGen, registryGen int64,
		settle func([]custodian.BulkRow, []custodian.Record) error,
		summarize func(*custodian.BulkSummary, []custodian.BulkRow) *custodian.BulkSummary,
		entry func(settled bool, rows []custodian.BulkRow) any) (bool, error)
}

// SubmitBulk queues a bulk verification job: req names the purpose, legal
// basis and fields (its subject is empty); file is a CSV with a header row
// and one subject per row, in the registry's column names (row_id, when
// present, identifies a row in the result). The file is checked for its
// header and counted here; malformed rows are reported in the result,
// never stop the job.
func (s *Service) SubmitBulk(ctx context.Context, a custodian.Agency, req custodian.LookupRequest, file []byte) (custodian.BulkJob, error) {
	st, err := s.current(ctx)
	if err != nil {
		return custodian.BulkJob{}, fmt.Errorf("bulk: %w", err)
	}
	if a, err = activeAgency(st, a); err != nil {
		return custodian.BulkJob{}, err
	}
	if err := s.validateRequest(req, st.fields); err != nil {
		return custodian.BulkJob{}, err
	}
	if len(file) > MaxBulkFile {
		return custodian.BulkJob{}, custodian.Errorf(custodian.ETooLarge, "the file is over %d bytes", MaxBulkFile)
	}
	qr, err := NewQueryReader(bytes.NewReader(file), nil, "")
	if err != nil {
		return custodian.BulkJob{}, err
	}
	total := 0
	for {
		if _, err := qr.Next(); errors.Is(err, io.EOF) {
			break
		} else if err != nil && custodian.ErrorCode(err) != custodian.EInvalid {
			return custodian.BulkJob{}, err
		}
		if total++; total > MaxBulkRows {
			return custodian.BulkJob{}, custodian.Errorf(custodian.ETooLarge, "the file has more than %d rows", MaxBulkRows)
		}
	}
	if total == 0 {
		return custodian.BulkJob{}, custodian.FieldError("file", "the file has a header but no rows")
	}
	sum := sha256.Sum256(file)
	j := custodian.BulkJob{ID: s.newID("bk_"), AgencyID: a.ID, Purpose: req.Purpose, LegalBasis: req.LegalBasis,
		Fields: req.Fields, State: custodian.BulkQueued, Total: total, FileSHA256: hex.EncodeToString(sum[:]), CreatedAt: s.now()}
	entry := map[string]any{"action": "submit", "bulk_job": j.ID, "agency": a.ID, "purpose": j.Purpose, "legal_basis": j.LegalBasis,
		"fields": j.Fields, "rows": total, "file_sha256": j.FileSHA256}
	if err := s.store.CreateBulkJob(ctx, &j, file, entry); err != nil {
		return custodian.BulkJob{}, err
	}
	s.log.Info("bulk job submitted", "bulk_job", j.ID, "agency_id", a.ID, "purpose", j.Purpose, "rows", total, "log_index", j.LogIndex)
	select {
	case s.bulkWake <- struct{}{}:
	default:
	}
	return j, nil
}

func activeAgency(st *rules, a custodian.Agency) (custodian.Agency, error) {
	a, ok := st.active[a.ID]
	if !ok {
		return a, errBadKey
	}
	return a, nil
}

// BulkJob returns one of the agency's jobs (not found for anyone else's).
func (s *Service) BulkJob(ctx context.Context, a custodian.Agency, id string) (custodian.BulkJob, error) {
	j, err := s.store.BulkJob(ctx, id)
	if err != nil {
		return j, err
	}
	if j.AgencyID != a.ID {
		return custodian.BulkJob{}, custodian.Errorf(custodian.ENotFound, "no such bulk job")
	}
	return j, nil
}

// BulkResult calls fn with every row of one of the agency's finished jobs.
// Until the job is done nothing of it can be read (a conflict error). A
// result is often fetched long after it was decided: a block in force now
// withholds the fields it covers, whenever the job was decided.
func (s *Service) BulkResult(ctx context.Context, a custodian.Agency, id string, fn func(custodian.BulkRow) error) (custodian.BulkJob, error) {
	j, err := s.BulkJob(ctx, a, id)
	if err != nil {
		return j, err
	}
	if j.State != custodian.BulkDone {
		return j, custodian.Errorf(custodian.EConflict, "the job is %s: its result is not available", j.State)
	}
	st, err := s.current(ctx)
	if err != nil {
		return j, err
	}
	if a, err = activeAgency(st, a); err != nil {
		return j, err
	}
	blocked := map[string]custodian.Block{}
	for _, f := range j.Fields {
		if b, ok := blocking(st.blocks, a, j.Purpose, f); ok {
			blocked[f] = b
		}
	}
	return j, s.store.BulkRows(ctx, id, func(r custodian.BulkRow) error {
		for f, b := range blocked {
			if _, ok := r.Released[f]; ok {
				delete(r.Released, f)
				if r.Withheld == nil {
					r.Withheld = map[string]custodian.Withheld{}
				}
				r.Withheld[f] = custodian.Withheld{Reason: "blocked by order " + b.Order, Rules: []string{"block:" + b.ID}}
			}
		}
		return fn(r)
	})
}

// RunBulk works through queued and interrupted jobs until ctx ends: at
// start (a job a stopped server left running resumes from its last
// recorded row), when a job is submitted, and every few seconds.
func (s *Service) RunBulk(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		// Running first: a job a stopped server left half done resumes.
		ids, err := s.store.BulkJobIDs(ctx, custodian.BulkRunning, custodian.BulkQueued)
		if err != nil && ctx.Err() == nil {
			s.log.Error("bulk jobs", "err", err.Error())
		}
		for _, id := range ids {
			if err := s.processBulk(ctx, id); err != nil && ctx.Err() == nil {
				s.log.Error("bulk job", "bulk_job", id, "err", err.Error())
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-s.bulkWake:
		case <-t.C:
		}
	}
}

// processBulk decides a job's remaining rows, chunk by chunk, each chunk's
// decisions and log entry in one transaction, then finishes it. If the
// rules or registry change while it runs, the job starts again from its
// first row, so that everything it releases was decided under the rules in
// force when it finishes.
func (s *Service) processBulk(ctx context.Context, id string) error {
	j, err := s.store.BulkJob(ctx, id)
	if err != nil {
		return err
	}
	input, err := s.store.BulkInput(ctx, id)
	if err != nil {
		return err
	}
	qr, err := NewQueryReader(bytes.NewReader(input), nil, "")
	if err != nil {
		return s.failBulk(ctx, j, "the file no longer reads: "+err.Error())
	}
	for range j.Done { // rows decided before a restart
		if _, err := qr.Next(); errors.Is(err, io.EOF) {
			break
		}
	}
	// One state for the whole job: every row is decided under the rules and
	// registry it was started (or restarted) with, and the store refuses to
	// record a row or finish the job once they have changed.
	st, err := s.current(ctx)
	if err != nil {
		return err
	}
	a, ok := st.active[j.AgencyID]
	if !ok {
		return s.failBulk(ctx, j, "the agency's key was revoked")
	}
	req := custodian.LookupRequest{Purpose: j.Purpose, LegalBasis: j.LegalBasis, Fields: j.Fields}
	if err := s.validateRequest(req, st.fields); err != nil {
		return s.failBulk(ctx, j, "the request is no longer valid: "+rowError(err))
	}
	for done := j.Done; ; {
		if err := ctx.Err(); err != nil {
			return err
		}
		rows, eof, err := s.decideBulkRows(ctx, st, a, req, qr, done)
		if err != nil {
			return err // EUnavailable (no model yet) and store errors: try again later
		}
		if len(rows) > 0 {
			std, err := s.standard(st, req.Purpose)
			if err != nil {
				return err
			}
			entry := s.bulkRowsEntry(j.ID, done, rows, st, std.Version())
			err = s.store.SaveBulkRows(ctx, j.ID, done, rows, entry, st.gen, st.regGen)
			if errors.Is(err, custodian.ErrStale) {
				return s.restartBulk(ctx, j)
			}
			if err != nil {
				return err
			}
			done += len(rows)
		}
		if eof {
			return s.finishBulk(ctx, j, st)
		}
	}
}

// restartBulk starts a job again from its first row: the rules or the
// registry changed since its rows were decided. The worker takes it up at
// once.
func (s *Service) restartBulk(ctx context.Context, j custodian.BulkJob) error {
	err := s.store.RestartBulkJob(ctx, j.ID, map[string]any{"action": "restart", "bulk_job": j.ID, "reason": "the rules or the registry changed"})
	if err != nil {
		return err
	}
	s.log.Info("bulk job restarted", "bulk_job", j.ID, "reason", "rules or registry changed")
	select {
	case s.bulkWake <- struct{}{}:
	default:
	}
	return nil
}

// decideBulkRows decides up to bulkChunk rows from qr, numbering them from
// seq; eof says the file ended.
func (s *Service) decideBulkRows(ctx context.Context, st *rules, a custodian.Agency, req custodian.LookupRequest, qr *QueryReader, seq int) ([]custodian.BulkRow, bool, error) {
	var rows []custodian.BulkRow
	for len(rows) < bulkChunk {
		q, err := qr.Next()
		if errors.Is(err, io.EOF) {
			return rows, true, nil
		}
		row := custodian.BulkRow{Line: q.Line, RowID: q.ID}
		if err == nil {
			err = validateSubject(q.Subject, st.fields)
		}
		var d disclosure
		if err == nil {
			req.Subject = q.Subject
			d, err = s.disclose(ctx, st, a, req)
		}
		switch code := custodian.ErrorCode(err); {
		case err == nil:
			row.Outcome, row.RecordID = string(d.match.Outcome), d.match.RecordID
			row.Released, row.Pending, row.Withheld = d.released, d.pending, d.withheld
		case code == custodian.EInvalid:
			row.Outcome, row.Error = "malformed", rowError(err)
		default:
			return nil, false, err
		}
		rows = append(rows, row)
	}
	return rows, false, nil
}

// rowError is a malformed row's reason, as an agency may read it: the
// offending identifier and what is wrong, never the value.
func rowError(err error) string {
	var ce *custodian.Error
	if errors.As(err, &ce) && ce.Field != "" {
		return ce.Field + ": " + ce.Message
	}
	if errors.As(err, &ce) {
		return ce.Message
	}
	return "malformed row"
}

// bulkRowsEntry is what the log keeps of a chunk of rows: their outcomes,
// the policy and match standard, and for each verified row the record, the
// rule ids of each field's decision and a digest of every released value,
// as a lookup's entry keeps them.
func (s *Service) bulkRowsEntry(job string, from int, rows []custodian.BulkRow, st *rules, standard string) map[string]any {
	outcomes := map[string]int{}
	type field struct {
		Effect string   `json:"effect"`
		Rules  []string `json:"rules,omitempty"`
		Digest string   `json:"digest,omitempty"` // of the released value
	}
	type verified struct {
		Row    int              `json:"row"`
		Line   int              `json:"line"`
		Record string           `json:"record"`
		Fields map[string]field `json:"fields"`
	}
	var rowsOut []verified
	pending := 0
	for i, r := range rows {
		outcomes[r.Outcome]++
		if len(r.Pending) > 0 {
			pending++
		}
		if r.Outcome != string(custodian.Verified) {
			continue
		}
		v := verified{Row: from + i, Line: r.Line, Record: r.RecordID, Fields: map[string]field{}}
		for f, val := range r.Released {
			v.Fields[f] = field{Effect: string(custodian.Release), Digest: s.digest.Value(job+"/"+strconv.Itoa(from+i), f, val)}
		}
		for _, f := range r.Pending {
			v.Fields[f] = field{Effect: string(custodian.Review)}
		}
		for f, w := range r.Withheld {
			v.Fields[f] = field{Effect: string(custodian.Deny), Rules: w.Rules}
		}
		rowsOut = append(rowsOut, v)
	}
	return map[string]any{"action": "rows", "bulk_job": job, "from": from, "rows": len(rows), "outcomes": outcomes,
		"policy_version": st.version, "match_standard": standard, "verified": rowsOut, "held_for_review": pending}
}

// finishBulk summarises a job whose rows are all decided and makes it
// readable, or holds it for review when any field waits for a reviewer.
func (s *Service) finishBulk(ctx context.Context, j custodian.BulkJob, st *rules) error {
	sum := &custodian.BulkSummary{Released: map[string]int{}, Malformed: []int{}}
	err := s.store.BulkRows(ctx, j.ID, func(r custodian.BulkRow) error {
		sum.Submitted++
		switch r.Outcome {
		case string(custodian.Verified):
			sum.Verified++
		case string(custodian.Ambiguous):
			sum.Ambiguous++
		case string(custodian.NoMatch):
			sum.NoMatch++
		default:
			sum.Malformed = append(sum.Malformed, r.Line)
		}
		for f := range r.Released {
			sum.Released[f]++
		}
		if len(r.Pending) > 0 {
			sum.HeldForReview++
		}
		return nil
	})
	if err != nil {
		return err
	}
	state := custodian.BulkDone
	if sum.HeldForReview > 0 {
		state = custodian.BulkReview
	}
	entry := map[string]any{"action": "finish", "bulk_job": j.ID, "state": state, "summary": sum}
	err = s.store.FinishBulkJob(ctx, j.ID, state, sum, "", entry, st.gen, st.regGen, s.now())
	if errors.Is(err, custodian.ErrStale) {
		return s.restartBulk(ctx, j)
	}
	if err != nil {
		return err
	}
	s.log.Info("bulk job finished", "bulk_job", j.ID, "state", state, "rows", sum.Submitted, "verified", sum.Verified)
	return nil
}

// failBulk ends a job that cannot go on; its decided rows are dropped, so
// nothing of it is ever released.
func (s *Service) failBulk(ctx context.Context, j custodian.BulkJob, reason string) error {
	entry := map[string]any{"action": "fail", "bulk_job": j.ID, "reason": reason}
	if err := s.store.FinishBulkJob(ctx, j.ID, custodian.BulkFailed, nil, reason, entry, 0, 0, s.now()); err != nil {
		return err
	}
	s.log.Info("bulk job failed", "bulk_job", j.ID, "reason", reason)
	return nil
}

// StaffBulkJob returns any job, for the custodian's staff.
func (s *Service) StaffBulkJob(ctx context.Context, id string) (custodian.BulkJob, error) {
	return s.store.BulkJob(ctx, id)
}

// DecideBulk records a reviewer's approval or denial of a job awaiting
// review. Nothing is released until two different reviewers approve; then
// every held field is released as the policy decided it, unless a block
// now covers it. One denial withholds every held field. If the rules or
// the registry changed since the job was decided, its reviews are void and
// it is decided again (a conflict error says so).
func (s *Service) DecideBulk(ctx context.Context, who Staff, id string, approve bool, reason string) (custodian.BulkJob, error) {
	if strings.TrimSpace(reason) == "" || len(reason) > 1000 {
		return custodian.BulkJob{}, custodian.FieldError("reason", "a reason of 1 to 1000 characters is required")
	}
	// Two reviewers are two names, whatever their case or spacing.
	who.Name = strings.Join(strings.Fields(strings.ToLower(who.Name)), " ")
	if who.Name == "" {
		return custodian.BulkJob{}, custodian.FieldError("reviewer", "the reviewer must be named")
	}
	j, err := s.store.BulkJob(ctx, id)
	if err != nil {
		return j, err
	}
	st, err := s.current(ctx)
	if err != nil {
		return j, err
	}
	a, ok := st.active[j.AgencyID]
	if approve && !ok {
		return j, custodian.Errorf(custodian.EConflict, "the agency's key is revoked; nothing more is released to it")
	}
	type digest struct {
		Line   int    `json:"line"`
		Field  string `json:"field"`
		Digest string `json:"digest"`
	}
	newly := map[string]int{} // field → rows it is released in on settling
	var newValues []digest    // and a digest of each value
	settle := func(rows []custodian.BulkRow, recs []custodian.Record) error {
		clear(newly) // the store may run this more than once
		newValues = newValues[:0]
		for i := range rows {
			r, rec := &rows[i], recs[i]
			if r.Withheld == nil {
				r.Withheld = map[string]custodian.Withheld{}
			}
			for _, f := range r.Pending {
				v, has := rec.Values[f]
				b, blocked := blocking(st.blocks, a, j.Purpose, f)
				switch {
				case !approve:
					r.Withheld[f] = custodian.Withheld{Reason: "denied on review: " + reason}
				case blocked:
					r.Withheld[f] = custodian.Withheld{Reason: "blocked by order " + b.Order, Rules: []string{"block:" + b.ID}}
				case !has:
					r.Withheld[f] = custodian.Withheld{Reason: "the record no longer holds this field"}
				default:
					if r.Released == nil {
						r.Released = map[string]string{}
					}
					r.Released[f] = v
					newly[f]++
					newValues = append(newValues, digest{r.Line, f, s.digest.Value(j.ID+"/review/"+strconv.Itoa(r.Line), f, v)})
				}
			}
			r.Pending = nil
		}
		return nil
	}
	summarize := func(sum *custodian.BulkSummary, _ []custodian.BulkRow) *custodian.BulkSummary {
		if sum.Released == nil {
			sum.Released = map[string]int{}
		}
		for f, n := range newly {
			sum.Released[f] += n
		}
		return sum
	}
	entry := func(settled bool, rows []custodian.BulkRow) any {
		e := map[string]any{"action": "review", "bulk_job": j.ID, "agency": j.AgencyID, "reviewer": who.Name,
			"approve": approve, "reason": reason, "settled": settled}
		if settled && approve {
			e["released"] = newValues
		}
		return e
	}
	settled, err := s.store.DecideBulkJob(ctx, id, who.Name, approve, reason, st.gen, st.regGen, settle, summarize, entry)
	if errors.Is(err, custodian.ErrStale) {
		if rerr := s.restartBulk(ctx, j); rerr != nil {
			return j, rerr
		}
		return j, custodian.Errorf(custodian.EConflict, "the rules or the registry changed since the job was decided: its reviews are void and it is being decided again")
	}
	if err != nil {
		return j, err
	}
	s.log.Info("bulk job reviewed", "bulk_job", id, "reviewer", who.Name, "approve", approve, "settled", settled)
	return s.store.BulkJob(ctx, id)
}

// BulkJobsAwaitingReview lists the jobs that wait for reviewers.
func (s *Service) BulkJobsAwaitingReview(ctx context.Context) ([]custodian.BulkJob, error) {
	ids, err := s.store.BulkJobIDs(ctx, custodian.BulkReview)
	if err != nil {
		return nil, err
	}
	out := make([]custodian.BulkJob, 0, len(ids))
	for _, id := range ids {
		j, err := s.store.BulkJob(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, nil
}
