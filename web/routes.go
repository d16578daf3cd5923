package web

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// router is what addRoutes registers on: an *http.ServeMux, or a test's recorder.
type router interface {
	Handle(pattern string, h http.Handler)
}

// addRoutes is the whole surface of the server, in one list. The OpenAPI
// document (openapi.json) describes every /v1 route here; a test checks it.
func addRoutes(mux router, d Deps, m *metrics) {
	svc, log := d.Service, d.Logger
	agency := func(h http.Handler) http.Handler { return requireAgency(svc, log, h) }
	staff := func(role string, h http.Handler) http.Handler { return requireStaff(svc, log, role, h) }

	mux.Handle("POST /v1/lookups", agency(handleCreateLookup(svc, log, m)))
	mux.Handle("GET /v1/lookups/{id}", agency(handleGetLookup(svc, log)))
	mux.Handle("POST /v1/bulk", agency(handleSubmitBulk(svc, log)))
	mux.Handle("GET /v1/bulk/{id}", agency(handleGetBulk(svc, log)))
	mux.Handle("GET /v1/bulk/{id}/result", agency(handleBulkResult(svc, log)))
	mux.Handle("GET /v1/purposes", handlePurposes(svc))
	mux.Handle("GET /v1/openapi.json", handleOpenAPI())

	mux.Handle("GET /v1/admin/reviews", staff("", handleListReviews(svc, log)))
	mux.Handle("GET /v1/admin/lookups/{id}", staff("", handleAdminLookup(svc, log)))
	mux.Handle("POST /v1/admin/reviews/{id}/{field}", staff("", handleDecideReview(svc, log)))
	mux.Handle("GET /v1/admin/bulk", staff("", handleListBulkReviews(svc, log)))
	mux.Handle("POST /v1/admin/bulk/{id}/decision", staff("", handleDecideBulk(svc, log)))
	mux.Handle("GET /v1/admin/blocks", staff("", handleListBlocks(svc, log)))
	mux.Handle("POST /v1/admin/blocks", staff("admin", handleAddBlock(svc, log)))
	mux.Handle("POST /v1/admin/blocks/{id}/lift", staff("admin", handleLiftBlock(svc, log)))

	mux.Handle("GET /log/", http.StripPrefix("/log/", d.Tiles))
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.Metrics, promhttp.HandlerOpts{}))
	mux.Handle("GET /healthz", handleHealth())
	mux.Handle("/", handleNotFound(log))
}
