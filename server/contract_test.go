package server

import (
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/prometheus/client_golang/prometheus"

	"stampede/server/api"
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
	s := &Server{mux: http.NewServeMux(), cfg: Config{Registry: prometheus.NewRegistry()}}
	s.routes()
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
