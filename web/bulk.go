package web

import (
	"encoding/csv"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/gateway"
)

// bulkTransfer bounds the upload of a bulk file and the download of its result.
const bulkTransfer = 10 * time.Minute

// bulkResponse is what an agency sees of one of its bulk jobs, with its
// progress and an estimate of the time left.
type bulkResponse struct {
	custodian.BulkJob
	Progress    float64  `json:"progress"`              // rows done ÷ rows, 0..1
	ETASeconds  *float64 `json:"eta_seconds,omitempty"` // while it runs, when it can be estimated
	ResultURL   string   `json:"result_url,omitempty"`  // when done
	Description string   `json:"state_description"`
}

var bulkStateText = map[custodian.BulkState]string{
	custodian.BulkQueued:  "waiting for its turn",
	custodian.BulkRunning: "being decided row by row; nothing is released until it is done",
	custodian.BulkReview:  "decided; some fields need review by two reviewers before anything is released",
	custodian.BulkDone:    "done; the result can be read",
	custodian.BulkFailed:  "failed; nothing was released",
}

func toBulkResponse(j custodian.BulkJob, now time.Time) bulkResponse {
	r := bulkResponse{BulkJob: j, Description: bulkStateText[j.State]}
	if j.Total > 0 {
		r.Progress = float64(j.Done) / float64(j.Total)
	}
	if j.State == custodian.BulkRunning && j.Done > 0 {
		eta := now.Sub(j.CreatedAt).Seconds() * float64(j.Total-j.Done) / float64(j.Done)
		r.ETASeconds = &eta
	}
	if j.State == custodian.BulkDone {
		r.ResultURL = "/v1/bulk/" + j.ID + "/result"
	}
	return r
}

// handleSubmitBulk takes a CSV body; the purpose, fields and legal basis
// come as query parameters.
func handleSubmitBulk(svc *gateway.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "text/csv" {
			writeError(w, r, log, custodian.FieldError("Content-Type", "the body must be a CSV file (text/csv)"))
			return
		}
		q := r.URL.Query()
		req := custodian.LookupRequest{Purpose: q.Get("purpose")}
		for _, f := range q["fields"] {
			for _, name := range strings.Split(f, ",") {
				if name = strings.TrimSpace(name); name != "" {
					req.Fields = append(req.Fields, name)
				}
			}
		}
		if kind, ref := q.Get("legal_basis_kind"), q.Get("legal_basis_reference"); kind != "" || ref != "" {
			req.LegalBasis = &custodian.LegalBasis{Kind: kind, Reference: ref}
		}
		// A large file takes longer than a lookup's read deadline.
		http.NewResponseController(w).SetReadDeadline(time.Now().Add(bulkTransfer))
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, gateway.MaxBulkFile))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				err = custodian.Errorf(custodian.ETooLarge, "the file is larger than %d bytes", tooBig.Limit)
			} else {
				err = custodian.FieldError("file", "the upload could not be read")
			}
			writeError(w, r, log, err)
			return
		}
		j, err := svc.SubmitBulk(r.Context(), agencyOf(r), req, body)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		w.Header().Set("Location", "/v1/bulk/"+j.ID)
		encode(w, http.StatusAccepted, toBulkResponse(j, time.Now()))
	})
}

func handleGetBulk(svc *gateway.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j, err := svc.BulkJob(r.Context(), agencyOf(r), r.PathValue("id"))
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		encode(w, http.StatusOK, toBulkResponse(j, time.Now()))
	})
}

// handleBulkResult writes a finished job's rows as CSV (one per input row,
// in file order: outcome, each requested field's released value, fields
// held, and why each other field was withheld), or with Accept:
// application/json the job's summary.
func handleBulkResult(svc *gateway.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, id := agencyOf(r), r.PathValue("id")
		j, err := svc.BulkJob(r.Context(), a, id)
		if err == nil && j.State != custodian.BulkDone {
			err = custodian.Errorf(custodian.EConflict, "the job is %s: its result is not available", j.State)
		}
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		if strings.Contains(r.Header.Get("Accept"), "application/json") {
			encode(w, http.StatusOK, j.Summary)
			return
		}
		http.NewResponseController(w).SetWriteDeadline(time.Now().Add(bulkTransfer))
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+j.ID+`.csv"`)
		cw := csv.NewWriter(w)
		cw.Write(append(append([]string{"row_id", "line", "outcome"}, j.Fields...), "pending", "withheld", "error"))
		_, err = svc.BulkResult(r.Context(), a, id, func(row custodian.BulkRow) error {
			rec := []string{row.RowID, strconv.Itoa(row.Line), row.Outcome}
			for _, f := range j.Fields {
				rec = append(rec, row.Released[f])
			}
			var withheld []string
			for _, f := range j.Fields {
				if wh, ok := row.Withheld[f]; ok {
					reason := f + ": " + wh.Reason
					if len(wh.Rules) > 0 {
						reason += " [" + strings.Join(wh.Rules, ",") + "]"
					}
					withheld = append(withheld, reason)
				}
			}
			slices.Sort(row.Pending)
			rec = append(rec, strings.Join(row.Pending, " "), strings.Join(withheld, "; "), row.Error)
			return cw.Write(rec)
		})
		cw.Flush()
		if err == nil {
			err = cw.Error()
		}
		if err != nil {
			// The header is sent: the client sees a short file; the log says why.
			log.Error("bulk result", "bulk_job", id, "err", err.Error())
		}
	})
}

// handleListBulkReviews lists the bulk jobs awaiting review, for staff.
func handleListBulkReviews(svc *gateway.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		jobs, err := svc.BulkJobsAwaitingReview(r.Context())
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		out := make([]adminBulk, len(jobs))
		for i, j := range jobs {
			out[i] = adminBulk{BulkJob: j, Agency: j.AgencyID}
		}
		encode(w, http.StatusOK, map[string]any{"jobs": out})
	})
}

// adminBulk is a job as staff see it: with the agency that sent it.
type adminBulk struct {
	custodian.BulkJob
	Agency string `json:"agency_id"`
}

// handleDecideBulk records the authenticated reviewer's approval or denial
// of a whole job: two different reviewers must approve before its held
// fields are released; one denial withholds them.
func handleDecideBulk(svc *gateway.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		approve, reason, err := decodeDecision(w, r)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		j, err := svc.DecideBulk(r.Context(), staffOf(r), r.PathValue("id"), approve, reason)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		encode(w, http.StatusOK, adminBulk{BulkJob: j, Agency: j.AgencyID})
	})
}
