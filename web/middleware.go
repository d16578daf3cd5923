package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/gateway"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyAgency
	keyStaff
)

func reqID(r *http.Request) string {
	id, _ := r.Context().Value(keyRequestID).(string)
	return id
}

// requestID gives every request an id, echoed in X-Request-Id and in
// problem details, so an agency's report can be matched to our logs.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [8]byte
		rand.Read(b[:])
		id := "req_" + hex.EncodeToString(b[:])
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyRequestID, id)))
	})
}

func recoverer(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("panic", "request_id", reqID(r), "route", r.Pattern)
				writeError(w, r, log, custodian.Errorf(custodian.EInternal, "panic"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// logRequests logs one line per request: route pattern, status, duration
// and ids — never bodies, query strings or headers, which may carry
// personal data or keys.
func logRequests(log *slog.Logger, m *metrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" || route == "/" {
			route = "unmatched"
		}
		d := time.Since(start)
		m.requests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
		m.duration.WithLabelValues(route).Observe(d.Seconds())
		log.Info("http", "request_id", reqID(r), "method", r.Method, "route", route, "status", sw.status, "ms", float64(d.Microseconds())/1000)
	})
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
		return strings.TrimSpace(tok)
	}
	return ""
}

// requireAgency authenticates the requesting agency by its API key.
func requireAgency(svc *gateway.Service, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := svc.Authenticate(r.Context(), bearer(r))
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyAgency, a)))
	})
}

func agencyOf(r *http.Request) custodian.Agency {
	a, _ := r.Context().Value(keyAgency).(custodian.Agency)
	return a
}

// requireStaff authenticates a staff member; role "" admits reviewers and
// admins, "admin" only admins.
func requireStaff(svc *gateway.Service, log *slog.Logger, role string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := svc.AuthenticateStaff(r.Context(), bearer(r))
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		if role != "" && s.Role != role {
			writeError(w, r, log, custodian.Errorf(custodian.EForbidden, "this action needs the %s role", role))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyStaff, s)))
	})
}

func staffOf(r *http.Request) gateway.Staff {
	s, _ := r.Context().Value(keyStaff).(gateway.Staff)
	return s
}

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	lookups  *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "custodian_http_requests_total", Help: "HTTP requests by route and status."}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "custodian_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"route"}),
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "custodian_lookups_total", Help: "Lookups by match outcome and status."}, []string{"outcome", "status"}),
	}
	reg.MustRegister(m.requests, m.duration, m.lookups)
	return m
}
