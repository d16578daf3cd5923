// Package web is custodian's HTTP surface: the /v1 JSON API for agencies
// and staff, the read-only tlog-tiles view of the audit log, metrics and the
// OpenAPI document. routes.go lists every route; handlers are made by one
// function each; decode and encode are the only JSON paths.
package web

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/custodian-project/custodian/gateway"
)

// Server timeouts, set on every http.Server custodian runs.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = 60 * time.Second
	IdleTimeout       = 120 * time.Second
)

// MaxLookupBody bounds a lookup request body.
const MaxLookupBody = 64 << 10

// Deps are what the server needs.
type Deps struct {
	Service *gateway.Service
	Tiles   http.Handler // the audit log's read-only tlog-tiles view
	Logger  *slog.Logger
	Metrics *prometheus.Registry
}

// NewServer returns the whole HTTP surface as one handler.
func NewServer(d Deps) http.Handler {
	mux := http.NewServeMux()
	m := newMetrics(d.Metrics)
	addRoutes(mux, d, m)
	return requestID(recoverer(d.Logger, logRequests(d.Logger, m, mux)))
}

// HTTPServer wraps h in an http.Server with custodian's timeouts.
func HTTPServer(addr string, h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Addr: addr, Handler: h,
		ReadHeaderTimeout: ReadHeaderTimeout, ReadTimeout: ReadTimeout,
		WriteTimeout: WriteTimeout, IdleTimeout: IdleTimeout,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}
