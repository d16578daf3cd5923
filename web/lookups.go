package web

import (
	"log/slog"
	"net/http"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/gateway"
)

// lookupResponse is what an agency sees of a lookup: never the record id,
// the subject it sent, or values it was not given.
type lookupResponse struct {
	ID       string                        `json:"id"`
	Outcome  custodian.Outcome             `json:"outcome"`
	Status   custodian.Status              `json:"status"`
	Fields   map[string]string             `json:"fields"`
	Pending  []string                      `json:"pending"`
	Withheld map[string]custodian.Withheld `json:"withheld"`
	Policy   string                        `json:"policy_version"`
	LogIndex uint64                        `json:"log_index"`
	Created  string                        `json:"created_at"`
}

func toResponse(l custodian.Lookup) lookupResponse {
	return lookupResponse{ID: l.ID, Outcome: l.Outcome, Status: l.Status, Fields: l.Released, Pending: l.Pending,
		Withheld: l.Withheld, Policy: l.PolicyVersion, LogIndex: l.LogIndex, Created: l.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z")}
}

func handleCreateLookup(svc *gateway.Service, log *slog.Logger, m *metrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[custodian.LookupRequest](w, r, MaxLookupBody)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		l, err := svc.Lookup(r.Context(), agencyOf(r), req)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		m.lookups.WithLabelValues(string(l.Outcome), string(l.Status)).Inc()
		w.Header().Set("Location", "/v1/lookups/"+l.ID)
		encode(w, http.StatusCreated, toResponse(l))
	})
}

func handleGetLookup(svc *gateway.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, err := svc.GetLookup(r.Context(), agencyOf(r), r.PathValue("id"))
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		encode(w, http.StatusOK, toResponse(l))
	})
}

func handlePurposes(svc *gateway.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encode(w, http.StatusOK, map[string]any{"purposes": svc.Purposes()})
	})
}

func handleHealth() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encode(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

func handleNotFound(log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, log, custodian.Errorf(custodian.ENotFound, "no such route"))
	})
}
