package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type decodeTarget struct {
	Seats    []string `json:"seats"`
	Tier     string   `json:"tier"`
	Quantity int      `json:"quantity"`
	Nested   []struct {
		Rows int `json:"rows"`
	} `json:"sections"`
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantStatus int // 0: no error
		wantField  string
		wantMsg    string // substring of the message
	}{
		{name: "ok", body: `{"tier":"floor","quantity":2}`},
		{name: "unknown fields are accepted", body: `{"tier":"floor","quantity":2,"future":{"x":1}}`},
		{name: "trailing whitespace", body: "{\"quantity\":1}\n\t "},
		{name: "empty", body: ``, wantStatus: 400, wantMsg: "empty"},
		{name: "malformed", body: `{"quantity":1,}`, wantStatus: 400, wantMsg: "malformed JSON at byte"},
		{name: "truncated", body: `{"quantity":`, wantStatus: 400, wantMsg: "unexpected end"},
		{name: "string for integer", body: `{"quantity":"2"}`, wantStatus: 400, wantField: "quantity", wantMsg: `field "quantity": want integer, got string`},
		{name: "fraction for integer", body: `{"quantity":2.5}`, wantStatus: 400, wantField: "quantity", wantMsg: "want integer, got number 2.5"},
		{name: "string for array", body: `{"seats":"A-1-1"}`, wantStatus: 400, wantField: "seats", wantMsg: "want array, got string"},
		{name: "number in string array", body: `{"seats":[1]}`, wantStatus: 400, wantField: "seats", wantMsg: "want string, got number"},
		{name: "nested field", body: `{"sections":[{"rows":"x"}]}`, wantStatus: 400, wantField: "sections.rows", wantMsg: "want integer"},
		{name: "array at top", body: `[1,2]`, wantStatus: 400, wantMsg: "want a JSON object, got array"},
		{name: "two objects", body: `{"quantity":1}{"quantity":2}`, wantStatus: 400, wantMsg: "unexpected data after"},
		{name: "too large", body: `{"tier":"` + strings.Repeat("x", maxBodyBytes) + `"}`, wantStatus: 413, wantMsg: "larger than 1048576 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(tc.body))
			var v decodeTarget
			err := decodeJSON(r, &v)
			if tc.wantStatus == 0 {
				if err != nil {
					t.Fatalf("decodeJSON(%q) = %v, want nil", tc.body, err)
				}
				return
			}
			var ae *apiError
			if !errors.As(err, &ae) {
				t.Fatalf("decodeJSON(%q) = %v (%T), want *apiError", tc.body, err, err)
			}
			if ae.Status != tc.wantStatus || ae.Code != codeInvalidRequest || ae.Field != tc.wantField {
				t.Errorf("decodeJSON(%q) = status %d code %q field %q, want %d invalid_request %q", tc.body, ae.Status, ae.Code, ae.Field, tc.wantStatus, tc.wantField)
			}
			if !strings.Contains(ae.Message, tc.wantMsg) {
				t.Errorf("decodeJSON(%q) message %q, want it to contain %q", tc.body, ae.Message, tc.wantMsg)
			}
		})
	}
}

// FuzzDecodeJSON checks that no body makes decoding panic or produce an error that is not a
// client error.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"quantity":"2"}`, `{"seats":[1]}`, `[1]`, `{"quantity":1}{"a":2}`, `{"sections":[{"rows":"x"}]}`, `nul`, `"x"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(body))
		var v decodeTarget
		err := decodeJSON(r, &v)
		if err == nil {
			return
		}
		var ae *apiError
		if !errors.As(err, &ae) || ae.Status < 400 || ae.Status > 499 || ae.Code != codeInvalidRequest {
			t.Fatalf("decodeJSON(%q) = %#v, want a 4xx invalid_request", body, err)
		}
	})
}

func TestWriteJSON(t *testing.T) {
	w := httptest.NewRecorder()
	writeJSON(w, http.StatusCreated, map[string]int{"a": 1})
	if w.Code != http.StatusCreated || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("writeJSON: status %d content type %q, want 201 application/json", w.Code, w.Header().Get("Content-Type"))
	}
	var got map[string]int
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got["a"] != 1 {
		t.Fatalf("writeJSON body %q: %v", w.Body.String(), err)
	}
	if w.Header().Get("Content-Length") != "8" {
		t.Errorf("Content-Length = %q, want 8 for %q", w.Header().Get("Content-Length"), w.Body.String())
	}

	w = httptest.NewRecorder()
	writeJSON(w, http.StatusOK, map[string]any{"f": func() {}})
	if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), `"internal"`) {
		t.Errorf("writeJSON(unencodable) = %d %q, want 500 internal", w.Code, w.Body.String())
	}
}

// FuzzHoldRequest checks the hold request's decoding and validation together: no body panics,
// every refusal is a 4xx invalid_request, and every accepted request is exactly one of 1..10
// distinct non-empty seats or a tier with a quantity of 1..10.
func FuzzHoldRequest(f *testing.F) {
	for _, s := range []string{
		`{"seats":["A-1-1"]}`, `{"tier":"floor","quantity":2}`, `{"seats":["A-1-1"],"tier":"f","quantity":1}`,
		`{"seats":[]}`, `{"seats":["A","A"]}`, `{"quantity":"2","tier":"x"}`, `{"tier":"x","quantity":11}`, `{}`, `null`,
		`{"seats":null}`, `{"seats":[""]}`, `{"tier":"","quantity":1}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/events/e/holds", strings.NewReader(body))
		var hr holdRequest
		err := decodeJSON(r, &hr)
		if err == nil {
			err = hr.validate()
		}
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status < 400 || ae.Status > 499 || ae.Code != codeInvalidRequest || ae.Message == "" {
				t.Fatalf("hold request %q refused with %#v, want a 4xx invalid_request with a message", body, err)
			}
			return
		}
		switch {
		case hr.Seats != nil:
			seats := *hr.Seats
			if hr.Tier != nil || hr.Quantity != nil || len(seats) < 1 || len(seats) > maxSeatsPerHold {
				t.Fatalf("hold request %q accepted as %+v", body, hr)
			}
			seen := map[string]bool{}
			for _, s := range seats {
				if s == "" || len(s) > maxSeatIDLen || seen[s] {
					t.Fatalf("hold request %q accepted with seat %q", body, s)
				}
				seen[s] = true
			}
		case hr.Tier == nil || *hr.Tier == "" || hr.Quantity == nil || *hr.Quantity < 1 || *hr.Quantity > maxQuantityPerHold:
			t.Fatalf("hold request %q accepted as tier %v quantity %v", body, hr.Tier, hr.Quantity)
		}
	})
}
