package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestSession(t *testing.T) {
	tests := []struct {
		name    string
		header  string
		wantErr error
	}{
		{name: "ok", header: "user-17:a.b_c"},
		{name: "max length", header: strings.Repeat("s", 128)},
		{name: "missing", header: "", wantErr: ErrMissingSession},
		{name: "too long", header: strings.Repeat("s", 129), wantErr: ErrInvalidSession},
		{name: "space", header: "a b", wantErr: ErrInvalidSession},
		{name: "slash", header: "a/b", wantErr: ErrInvalidSession},
		{name: "unicode", header: "é", wantErr: ErrInvalidSession},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/x", nil)
			if tc.header != "" {
				r.Header.Set("X-Session-Id", tc.header)
			}
			got, err := Session(r)
			if !errors.Is(err, tc.wantErr) || (err == nil && got != tc.header) {
				t.Errorf("Session(%q) = %q, %v; want %q, %v", tc.header, got, err, tc.header, tc.wantErr)
			}
		})
	}
}

func TestEventID(t *testing.T) {
	tests := []struct {
		name string
		id   string
		ok   bool
	}{
		{name: "ok", id: "ev-1.a_B", ok: true},
		{name: "max length", id: strings.Repeat("e", 64), ok: true},
		{name: "too long", id: strings.Repeat("e", 65)},
		{name: "slash", id: "a:b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/events/x", nil)
			r.SetPathValue("event_id", tc.id)
			got, err := EventID(r)
			if tc.ok {
				if err != nil || got != tc.id {
					t.Fatalf("EventID(%q) = %q, %v; want it back", tc.id, got, err)
				}
				return
			}
			var ae *Error
			if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Field != "event_id" || !strings.Contains(ae.Message, "event_id") {
				t.Fatalf("EventID(%q) = %q, %v; want a 400 naming event_id", tc.id, got, err)
			}
		})
	}
}
