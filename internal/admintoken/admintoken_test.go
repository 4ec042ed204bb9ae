package admintoken

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	const token = "0123456789abcdef0123"
	tests := []struct {
		name, header string
		token        string
		want         bool
	}{
		{"right token", "Bearer " + token, token, true},
		{"no header", "", token, false},
		{"wrong token", "Bearer 0123456789abcdef0124", token, false},
		{"prefix of the token", "Bearer " + token[:10], token, false},
		{"token and more", "Bearer " + token + "x", token, false},
		{"another scheme", "Basic " + token, token, false},
		{"bare token", token, token, false},
		{"no token configured", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/admin/ledger", nil)
			if tt.header != "" {
				r.Header.Set(Header, tt.header)
			}
			if got := Check(r, tt.token); got != tt.want {
				t.Errorf("Check(%q header, token set %v) = %v, want %v", tt.header, tt.token != "", got, tt.want)
			}
		})
	}
}

func TestRequireAndTransport(t *testing.T) {
	token, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(token); err != nil {
		t.Fatalf("Validate(New()) = %v", err)
	}
	h := Require(token, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }),
		func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusUnauthorized) })
	srv := httptest.NewServer(h)
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("GET without token = %d (WWW-Authenticate %q), want 401 with a Bearer challenge", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	c := &http.Client{Transport: &Transport{Token: token}}
	resp, err = c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("GET through Transport = %d, want 204", resp.StatusCode)
	}
}

func TestValidate(t *testing.T) {
	for _, bad := range []string{"short", strings.Repeat("a", 15), strings.Repeat("a", 20) + " b", strings.Repeat("é", 20)} {
		if err := Validate(bad); err == nil {
			t.Errorf("Validate(%q) = nil, want an error", bad)
		}
	}
	if err := Validate(""); err != nil {
		t.Errorf("Validate(\"\") = %v, want nil (no token)", err)
	}
}

func TestRequireForAddr(t *testing.T) {
	tests := []struct {
		addr, token string
		ok          bool
	}{
		{"127.0.0.1:8080", "", true},
		{"localhost:0", "", true},
		{"[::1]:8080", "", true},
		{"0.0.0.0:8080", "", false},
		{":8080", "", false},
		{"10.1.2.3:8080", "", false},
		{"example.com:80", "", false},
		{"0.0.0.0:8080", "0123456789abcdef", true},
	}
	for _, tt := range tests {
		err := RequireForAddr(tt.addr, tt.token)
		if (err == nil) != tt.ok {
			t.Errorf("RequireForAddr(%q, token set %v) = %v, want ok %v", tt.addr, tt.token != "", err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "--admin-token") {
			t.Errorf("RequireForAddr(%q) = %q, want it to name --admin-token", tt.addr, err)
		}
	}
}
