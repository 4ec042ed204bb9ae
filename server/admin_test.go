package server

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"stampede/internal/admintoken"
)

// TestAdminRoutesLocked: every /admin operation of api.yaml answers 401 unauthorized, in the
// contract's error shape and before its handler runs, to a request without the admin token or
// with a wrong one; the contract documents the bearer scheme on each of them; the buyers'
// routes do not ask for it.
func TestAdminRoutesLocked(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			Security  []map[string][]string `yaml:"security"`
			Responses map[string]any        `yaml:"responses"`
		} `yaml:"paths"`
		Components struct {
			SecuritySchemes map[string]struct {
				Type, Scheme string
			} `yaml:"securitySchemes"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(contract, &doc); err != nil {
		t.Fatalf("parse api.yaml: %v", err)
	}
	if s := doc.Components.SecuritySchemes["adminToken"]; s.Type != "http" || s.Scheme != "bearer" {
		t.Errorf("api.yaml components.securitySchemes.adminToken = %+v, want type http, scheme bearer", s)
	}
	const token = "0123456789abcdef0123456789abcdef"
	s := routesOnly(t, Config{AdminToken: token})
	param := regexp.MustCompile(`\{[a-z_]+\}`)
	var admin int
	for path, ops := range doc.Paths {
		for method, op := range ops {
			m := strings.ToUpper(method)
			if !slices.Contains([]string{"GET", "POST", "PUT", "DELETE", "PATCH"}, m) || !strings.HasPrefix(path, "/admin/") {
				continue
			}
			admin++
			if len(op.Security) != 1 || op.Security[0]["adminToken"] == nil {
				t.Errorf("api.yaml %s %s: security = %v, want [{adminToken: []}]", m, path, op.Security)
			}
			if op.Responses["401"] == nil {
				t.Errorf("api.yaml %s %s documents no 401 answer", m, path)
			}
			for _, header := range []string{"", "Bearer wrong-token-wrong-token", "Basic " + token, token} {
				r := httptest.NewRequest(m, param.ReplaceAllString(path, "x1"), strings.NewReader("{}"))
				if header != "" {
					r.Header.Set(admintoken.Header, header)
				}
				w := httptest.NewRecorder()
				s.mux.ServeHTTP(w, r) // a handler reached here would panic on the empty Server
				if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), `"code":"unauthorized"`) {
					t.Errorf("%s %s with Authorization %q = %d %s, want 401 unauthorized", m, path, header, w.Code, w.Body)
				}
			}
		}
	}
	if admin < 9 {
		t.Errorf("api.yaml has %d /admin operations, want every one (failpoints, pool hog, events, settle, ledger, waiting room)", admin)
	}
}

// TestAdminTokenAccepted: against a live server with a token, the admin endpoints work for a
// client that carries it (event creation, ledger, failpoints, settle) and refuse one that does
// not, while the buyers' endpoints need nothing.
func TestAdminTokenAccepted(t *testing.T) {
	const token = "test-admin-token-test-admin-token"
	e := newEnv(t, "status-expiry", newTestDB(t, "postgres"), withConfig(func(c *Config) { c.AdminToken = token }))
	auth := map[string]string{admintoken.Header: admintoken.Value(token)}
	id := "adm-" + randomID()
	e.wantError(http.StatusUnauthorized, "unauthorized", "", http.MethodPost, "/admin/events", "", testEventSpec(id))
	e.wantError(http.StatusNotFound, "event_not_found", "", http.MethodGet, "/events/"+id, "", nil) // nothing was created
	e.mustWith(http.StatusCreated, auth, http.MethodPost, "/admin/events", "", testEventSpec(id))
	e.must(http.StatusOK, http.MethodGet, "/events/"+id+"/seats", "", nil)
	e.holdSeats(id, "s1", "A-1-1")
	e.wantError(http.StatusUnauthorized, "unauthorized", "", http.MethodGet, "/admin/ledger?event="+id, "", nil)
	e.mustWith(http.StatusOK, auth, http.MethodGet, "/admin/ledger?event="+id, "", nil)
	e.mustWith(http.StatusOK, auth, http.MethodGet, "/admin/failpoints", "", nil)
	e.mustWith(http.StatusOK, auth, http.MethodPost, "/admin/checkout/settle", "", nil)
	e.must(http.StatusOK, http.MethodGet, "/healthz", "", nil)
}
