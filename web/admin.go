package web

import (
	"log/slog"
	"net/http"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/gateway"
)

func handleListReviews(svc *gateway.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		state := custodian.ReviewState(r.URL.Query().Get("state"))
		switch state {
		case "":
			state = custodian.ReviewPending
		case "all":
			state = ""
		case custodian.ReviewPending, custodian.ReviewApproved, custodian.ReviewDenied:
		default:
			writeError(w, r, log, custodian.FieldError("state", "must be pending, approved, denied or all"))
			return
		}
		items, err := svc.Reviews(r.Context(), state)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		if items == nil {
			items = []custodian.ReviewItem{}
		}
		encode(w, http.StatusOK, map[string]any{"reviews": items})
	})
}

// adminLookup is what a reviewer sees: the request, the match outcome and
// the per-field decisions with their rules.
type adminLookup struct {
	lookupResponse
	AgencyID  string                    `json:"agency_id"`
	Request   custodian.LookupRequest   `json:"request"`
	RecordID  string                    `json:"record_id,omitempty"`
	Decisions []custodian.FieldDecision `json:"decisions"`
}

func handleAdminLookup(svc *gateway.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, err := svc.LookupForReview(r.Context(), r.PathValue("id"))
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		encode(w, http.StatusOK, adminLookup{toResponse(l), l.AgencyID, l.Request, l.RecordID, l.Decisions})
	})
}

type reviewDecision struct {
	Decision string `json:"decision"` // approve or deny
	Reason   string `json:"reason"`
}

// decodeDecision reads a reviewer's decision: approve or deny, and why.
func decodeDecision(w http.ResponseWriter, r *http.Request) (approve bool, reason string, err error) {
	d, err := decode[reviewDecision](w, r, 16<<10)
	if err != nil {
		return false, "", err
	}
	if d.Decision != "approve" && d.Decision != "deny" {
		return false, "", custodian.FieldError("decision", "must be approve or deny")
	}
	return d.Decision == "approve", d.Reason, nil
}

func handleDecideReview(svc *gateway.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		approve, reason, err := decodeDecision(w, r)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		l, err := svc.DecideReview(r.Context(), staffOf(r), r.PathValue("id"), r.PathValue("field"), approve, reason)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		encode(w, http.StatusOK, toResponse(l))
	})
}

func handleListBlocks(svc *gateway.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bs, err := svc.Blocks(r.Context(), r.URL.Query().Get("all") == "")
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		if bs == nil {
			bs = []custodian.Block{}
		}
		encode(w, http.StatusOK, map[string]any{"blocks": bs})
	})
}

type blockRequest struct {
	Kind   string `json:"kind"`
	Target string `json:"target"`
	Order  string `json:"order"`
}

func handleAddBlock(svc *gateway.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := decode[blockRequest](w, r, 16<<10)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		blk, err := svc.AddBlock(r.Context(), b.Kind, b.Target, b.Order)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		encode(w, http.StatusCreated, blk)
	})
}

type liftRequest struct {
	Order string `json:"order"`
}

func handleLiftBlock(svc *gateway.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := decode[liftRequest](w, r, 16<<10)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		if err := svc.LiftBlock(r.Context(), r.PathValue("id"), b.Order); err != nil {
			writeError(w, r, log, err)
			return
		}
		encode(w, http.StatusOK, map[string]string{"id": r.PathValue("id"), "status": "lifted"})
	})
}
