package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/prometheus/client_golang/prometheus"

	"stampede/server/api"
	"stampede/server/overload"
)

// TestContractRouted checks that every operation of api.yaml has a route, and that no route
// exists that the contract does not document.
func TestContractRouted(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(contract, &doc); err != nil {
		t.Fatalf("parse api.yaml: %v", err)
	}
	if len(doc.Paths) < 15 {
		t.Fatalf("api.yaml has %d paths, want the whole contract", len(doc.Paths))
	}
	// A Server is only needed for its mux here; its handlers are not called.
	s := routesOnly(t, Config{})
	param := regexp.MustCompile(`\{[a-z_]+\}`)
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			m := strings.ToUpper(method)
			if !slices.Contains([]string{"GET", "POST", "PUT", "DELETE", "PATCH"}, m) {
				continue
			}
			documented[m+" "+path] = true
			concrete := param.ReplaceAllString(path, "x1")
			r := httptest.NewRequest(m, concrete, nil)
			_, pattern := s.mux.Handler(r)
			if pattern != m+" "+path {
				t.Errorf("%s %s (api.yaml) is routed to %q, want the pattern %q", m, path, pattern, m+" "+path)
			}
		}
	}
	for _, pattern := range routePatterns(t) {
		if !documented[pattern] {
			t.Errorf("route %q is not documented in api.yaml", pattern)
		}
	}
}

// routePatterns lists the patterns routes registers, read from server.go's source: the mux
// keeps no list of them.
// routesOnly is a Server of cfg with nothing but its routes (and the overload budget they
// need): its handlers must not be called, only the mux and the middleware before them.
func routesOnly(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	cfg.Registry = prometheus.NewRegistry()
	s := &Server{mux: http.NewServeMux(), cfg: cfg}
	budget, err := overload.New(overload.Config{Deps: api.Deps{
		Table: errorTable, Registry: cfg.Registry, Logger: slog.New(slog.DiscardHandler), Now: time.Now,
	}})
	if err != nil {
		tb.Fatal(err)
	}
	s.budget = budget
	s.routes()
	return s
}

func routePatterns(t *testing.T) []string {
	t.Helper()
	var out []string
	re := regexp.MustCompile(`s\.mux\.Handle(?:Func)?\("([A-Z]+ [^"]+)"`)
	src, err := os.ReadFile("server.go")
	if err != nil {
		t.Fatalf("read server.go: %v", err)
	}
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		out = append(out, m[1])
	}
	if len(out) < 15 {
		t.Fatalf("found %d routes in server.go, want them all", len(out))
	}
	return out
}

func TestContractServed(t *testing.T) {
	s := &Server{}
	w := httptest.NewRecorder()
	s.handleContract(w, httptest.NewRequest(http.MethodGet, "/api.yaml", nil))
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/yaml" || w.Body.String() != string(contract) {
		t.Errorf("GET /api.yaml = %d %q (%d bytes), want 200 application/yaml with the contract", w.Code, w.Header().Get("Content-Type"), w.Body.Len())
	}
	if !strings.HasPrefix(w.Body.String(), "openapi: 3") {
		t.Errorf("GET /api.yaml starts %q, want an OpenAPI 3 document", api.Truncate(w.Body.String(), 20))
	}
}

// TestContractOverload keeps the overload budget and api.yaml in step: the operations the
// contract says may be refused for load (a 503 that is, or mentions, overloaded) are exactly
// the routes server.go puts under the budget, and with the budget full each of them is refused
// 503 overloaded with Retry-After, without its handler running.
func TestContractOverload(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]struct {
				Ref         string `yaml:"$ref"`
				Description string `yaml:"description"`
			} `yaml:"responses"`
		} `yaml:"paths"`
	}
	if err := yaml.Unmarshal(contract, &doc); err != nil {
		t.Fatalf("parse api.yaml: %v", err)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			r := op.Responses["503"]
			if r.Ref == "#/components/responses/Overloaded" || strings.Contains(r.Description, "overloaded") {
				documented[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	src, err := os.ReadFile("server.go")
	if err != nil {
		t.Fatalf("read server.go: %v", err)
	}
	budgeted := map[string]bool{}
	re := regexp.MustCompile(`s\.mux\.Handle\("([A-Z]+ [^"]+)", s\.(?:under|budget\.Gate)\(`)
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		budgeted[m[1]] = true
	}
	// A scan takes the budget only once its ticket's signature held (forgeries are refused
	// before it): TestGateScanBudget checks that route; a hold only once its admission token
	// held: TestHoldAdmissionBeforeBudget.
	verifiedFirst := map[string]bool{"POST /gates/{gate}/scan": true, "POST /events/{event_id}/holds": true}
	for p := range verifiedFirst {
		budgeted[p] = true
	}
	if len(budgeted) < 10 {
		t.Fatalf("found %d routes under the budget in server.go, want the buyers' routes", len(budgeted))
	}
	for p := range documented {
		if !budgeted[p] {
			t.Errorf("%s: api.yaml documents 503 overloaded, but server.go does not put it under the budget", p)
		}
	}
	for p := range budgeted {
		if !documented[p] {
			t.Errorf("%s: under the budget in server.go, but api.yaml does not document 503 overloaded", p)
		}
	}

	// The budget full: one checkout in flight out of 1. Handlers are not reached (the Server
	// has no state for them).
	s := &Server{mux: http.NewServeMux(), cfg: Config{Registry: prometheus.NewRegistry()}}
	budget, err := overload.New(overload.Config{
		Deps:        api.Deps{Table: errorTable, Registry: s.cfg.Registry, Logger: slog.New(slog.DiscardHandler), Now: time.Now},
		MaxInFlight: 1, QueueWait: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	release, err := budget.Acquire(context.Background(), overload.Checkout)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	s.budget = budget
	s.routes()
	param := regexp.MustCompile(`\{[a-z_]+\}`)
	for p := range documented {
		if verifiedFirst[p] {
			continue
		}
		method, path, _ := strings.Cut(p, " ")
		w := httptest.NewRecorder()
		s.mux.ServeHTTP(w, httptest.NewRequest(method, param.ReplaceAllString(path, "x1"), nil))
		if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), `"overloaded"`) || w.Header().Get("Retry-After") == "" {
			t.Errorf("%s on a full budget = %d %s (Retry-After %q), want 503 overloaded with Retry-After", p, w.Code, w.Body.String(), w.Header().Get("Retry-After"))
		}
	}
}

// TestContractErrorCodes checks that every error code of server/api (its Code* constants) is
// in api.yaml's enum of Error.code, and that the enum names no code the server lacks.
func TestContractErrorCodes(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas struct {
				Error struct {
					Properties struct {
						Error struct {
							Properties struct {
								Code struct {
									Enum []string `yaml:"enum"`
								} `yaml:"code"`
							} `yaml:"properties"`
						} `yaml:"error"`
					} `yaml:"properties"`
				} `yaml:"Error"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(contract, &doc); err != nil {
		t.Fatalf("parse api.yaml: %v", err)
	}
	enum := doc.Components.Schemas.Error.Properties.Error.Properties.Code.Enum
	src, err := os.ReadFile("api/error.go")
	if err != nil {
		t.Fatalf("read api/error.go: %v", err)
	}
	codes := map[string]bool{api.CodeUnauthorized: true} // the one spelled in another package
	for _, m := range regexp.MustCompile(`(?m)^\s*Code[A-Za-z]+\s*=\s*"([a-z_]+)"`).FindAllStringSubmatch(string(src), -1) {
		codes[m[1]] = true
	}
	if len(codes) < 20 || len(enum) < 20 {
		t.Fatalf("found %d codes in api/error.go and %d in api.yaml, want them all", len(codes), len(enum))
	}
	for c := range codes {
		if !slices.Contains(enum, c) {
			t.Errorf("error code %q (server/api) is not in api.yaml's Error.code enum", c)
		}
	}
	for _, c := range enum {
		if !codes[c] {
			t.Errorf("api.yaml's Error.code enum names %q, which server/api does not define", c)
		}
	}
}
