package web

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

type recorder struct{ patterns []string }

func (r *recorder) Handle(p string, _ http.Handler) { r.patterns = append(r.patterns, p) }

// Every /v1 route is in the OpenAPI document, and every documented
// operation is a route.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}
	rec := &recorder{}
	addRoutes(rec, Deps{}, newMetrics(prometheus.NewRegistry()))
	routes := map[string]bool{}
	for _, p := range rec.patterns {
		method, path, ok := strings.Cut(p, " ")
		if !ok || !strings.HasPrefix(path, "/v1/") {
			continue
		}
		key := strings.ToLower(method) + " " + path
		routes[key] = true
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("route %s is not in openapi.json", p)
		}
	}
	param := regexp.MustCompile(`\{[a-z_]+\}`)
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			if !routes[method+" "+path] {
				t.Errorf("openapi.json documents %s %s, which is not a route", method, path)
			}
			for _, p := range param.FindAllString(path, -1) {
				if !strings.Contains(string(ops[method]), `"name": "`+strings.Trim(p, "{}")+`"`) && !strings.Contains(string(ops[method]), `"name":"`+strings.Trim(p, "{}")+`"`) {
					t.Errorf("%s %s does not describe parameter %s", method, path, p)
				}
			}
		}
	}
	if len(routes) < 5 {
		t.Fatalf("found only %d routes", len(routes))
	}
}
